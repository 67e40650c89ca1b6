"""Hostile JSON bodies (nested 10,000 deep, 5,000-digit numbers, huge exponents, NaN) are a 400 that names the
limit on every operator API endpoint and on the webhook, never a 500: in-process and over real HTTP against
gunicorn."""

from __future__ import annotations

import json

import pytest
import requests

from syncapi import jsonlimits
from syncapi.webhooks.signature import sign
from tests.conftest import TEST_API_TOKEN, TEST_WEBHOOK_SECRET

BEARER = {"Authorization": f"Bearer {TEST_API_TOKEN}", "Content-Type": "application/json"}
DEEP = jsonlimits.MAX_DEPTH
#: (id, body, what the refusal says).
HOSTILE = [
    ("arrays-10000-deep", b"[" * 10_000 + b"]" * 10_000, "nests deeper"),
    ("objects-10000-deep", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "nests deeper"),
    ("just-over-the-depth", b'{"keys":' + b"[" * DEEP + b"]" * DEEP + b"}", "nests deeper"),
    ("integer-5000-digits", b'{"keys": [' + b"7" * 5_000 + b"]}", "longer than"),
    ("fraction-5000-digits", b'{"keys": [0.' + b"3" * 5_000 + b"]}", "longer than"),
    ("huge-exponent", b'{"keys": [1e999999999]}', "out of range"),
    ("huge-negative-exponent", b'{"keys": [-1E400]}', "out of range"),
    ("nan", b'{"keys": [NaN]}', "NaN"),
    ("infinity", b'{"keys": [-Infinity]}', "Infinity"),
]
#: Every operator API operation that takes a body, and those that take none (a body sent anyway is ignored).
JSON_OPERATIONS = ["/api/v1/sync/products", "/api/v1/sync/sales", "/api/v1/pos/changes"]
BODYLESS_OPERATIONS = ["/api/v1/jobs/failed/retry", "/api/v1/jobs/failed/some-job/retry"]


# --- the limits -------------------------------------------------------------------------------------------


def test_documents_within_the_limits_read_as_before():
    nested = "[" * DEEP + "]" * DEEP
    assert jsonlimits.loads(nested) == json.loads(nested)
    number = "-1234567890123456789.1234567890123456e-5"
    assert len(number) == jsonlimits.MAX_NUMBER_CHARS
    assert jsonlimits.loads(f"[{number}, 9223372036854775807, 1.5e308, 0.1]") == [
        float(number),
        9223372036854775807,
        1.5e308,
        0.1,
    ]
    assert jsonlimits.loads(b'{"a": {"b": [1, "x", null, true]}}') == {"a": {"b": [1, "x", None, True]}}


@pytest.mark.parametrize("body,fragment", [pytest.param(b, f, id=i) for i, b, f in HOSTILE])
def test_hostile_documents_are_refused_by_name(body, fragment):
    with pytest.raises(jsonlimits.JSONLimitError, match=fragment):
        jsonlimits.loads(body)


def test_what_is_not_json_stays_a_decode_error():
    with pytest.raises(json.JSONDecodeError):
        jsonlimits.loads(b'{"keys": [1,]}')


# --- in-process -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", JSON_OPERATIONS)
@pytest.mark.parametrize("body,fragment", [pytest.param(b, f, id=i) for i, b, f in HOSTILE])
def test_api_refuses_hostile_bodies_with_a_400(client, redis, path, body, fragment):
    response = client.post(path, data=body, headers=BEARER)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    answer = response.get_json()
    assert answer["error"] == "Bad Request" and fragment in answer["message"], answer
    assert redis.dbsize() == 0  # nothing queued, nothing recorded


@pytest.mark.parametrize("path", BODYLESS_OPERATIONS)
@pytest.mark.parametrize("body", [b for _, b, _ in HOSTILE[:2]] + [HOSTILE[3][1]], ids=["arrays", "objects", "digits"])
def test_api_operations_without_a_body_ignore_hostile_ones(app_with_state, redis, path, body):
    response = app_with_state.test_client().post(path, data=body, headers=BEARER)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("body,fragment", [pytest.param(b, f, id=i) for i, b, f in HOSTILE])
def test_webhook_refuses_hostile_signed_bodies_with_a_400(client, redis, body, fragment):
    headers = {"X-Magento-Signature": sign(body, TEST_WEBHOOK_SECRET)}
    response = client.post("/webhooks/magento/sales.order.created", data=body, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert fragment in response.get_json()["message"]


# --- over HTTP --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body,fragment", [pytest.param(b, f, id=i) for i, b, f in HOSTILE])
def test_hostile_bodies_over_http_are_400s(webhook_server, redis, body, fragment):
    for path in JSON_OPERATIONS:
        response = requests.post(f"{webhook_server}{path}", data=body, headers=BEARER, timeout=30)
        assert response.status_code == 400, (path, response.text[:300])
        assert fragment in response.json()["message"], response.text
    headers = {"Content-Type": "application/json", "X-Magento-Signature": sign(body, TEST_WEBHOOK_SECRET)}
    response = requests.post(f"{webhook_server}/webhooks/magento", data=body, headers=headers, timeout=30)
    assert response.status_code == 400, response.text[:300]
    assert fragment in response.json()["message"]
