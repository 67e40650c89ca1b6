"""Webhook intake (docs/reference.md#webhooks) through the Flask test client, against the real Redis and rq queue."""

from __future__ import annotations

import io
import json
import logging
from http import HTTPStatus

import pytest

from app import create_app
from syncapi import db, logs, services
from syncapi.webhooks.events import KNOWN_EVENTS
from syncapi.webhooks.signature import sign
from syncapi.webhooks.views import WEBHOOK_MAX_BODY_BYTES
from tests.conftest import TEST_WEBHOOK_SECRET, base_settings
from tests.fixtures_webhooks import (
    WEBHOOK_URL,
    adobe_event,
    assert_error,
    cloud_event,
    encode,
    inbound_jobs,
    post_signed,
)

# The contract's table, written out again here so that a wrong entry in the service's own table fails a test:
# (event, job function, job id prefix, key of the entity id).
EXPECTED_ROUTES = [
    ("sales.order.created", "jobs.inbound.import_order", "order", "entity_id"),
    ("sales.order.updated", "jobs.inbound.import_order", "order", "entity_id"),
    ("sales.order.paid", "jobs.inbound.import_order", "order", "entity_id"),
    ("sales.order.cancelled", "jobs.inbound.import_order", "order", "entity_id"),
    ("observer.sales_order_save_after", "jobs.inbound.import_order", "order", "entity_id"),
    ("sales.invoice.created", "jobs.inbound.import_invoice", "invoice", "entity_id"),
    ("sales.invoice.paid", "jobs.inbound.import_invoice", "invoice", "entity_id"),
    ("observer.sales_order_invoice_save_after", "jobs.inbound.import_invoice", "invoice", "entity_id"),
    ("sales.creditmemo.created", "jobs.inbound.import_creditmemo", "creditmemo", "entity_id"),
    ("observer.sales_order_creditmemo_save_after", "jobs.inbound.import_creditmemo", "creditmemo", "entity_id"),
    ("customer.created", "jobs.inbound.import_customer", "customer", "id"),
    ("customer.updated", "jobs.inbound.import_customer", "customer", "id"),
    ("observer.customer_save_after_data_object", "jobs.inbound.import_customer", "customer", "id"),
    # An address announces its customer: Mage-OS's AddressInterface names it customer_id.
    ("customer.address.created", "jobs.inbound.import_customer", "customer", "customer_id"),
    ("customer.address.updated", "jobs.inbound.import_customer", "customer", "customer_id"),
    ("catalog.category.created", "jobs.inbound.import_category", "category", "id"),
    ("observer.catalog_category_save_after", "jobs.inbound.import_category", "category", "id"),
]

ORDER_EVENT = cloud_event(
    "sales.order.created", {"entity_id": 1001, "increment_id": "000000101", "state": "new", "grand_total": 59.9}
)


def entity_for(key: str, entity_id, **more) -> dict:
    return {key: entity_id, "created_at": "2026-11-22 10:00:00", **more}


def assert_single_job(redis, func: str, args: list, job_id: str) -> None:
    jobs = inbound_jobs(redis)
    assert [job.id for job in jobs] == [job_id]
    assert jobs[0].func_name == func
    assert list(jobs[0].args) == args
    assert jobs[0].kwargs == {}
    assert jobs[0].origin == "inbound"


# --- the event table and the three body styles -----------------------------------------------------------------


def test_the_service_knows_exactly_the_contract_events():
    assert sorted(KNOWN_EVENTS) == sorted(event for event, *_ in EXPECTED_ROUTES)


@pytest.mark.parametrize(("event", "func", "prefix", "key"), EXPECTED_ROUTES)
def test_each_event_queues_its_import_job(client, redis, event, func, prefix, key):
    if event.startswith("observer."):
        # Adobe's observer payloads carry model data: ids arrive as strings of digits.
        body = adobe_event(event.removeprefix("observer."), entity_for(key, "321"))
    else:
        body = cloud_event(event, entity_for(key, 321))
    response = post_signed(client, body)
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"status": "queued", "job_id": f"{prefix}-321"}
    assert_single_job(redis, func, [321], f"{prefix}-321")


@pytest.mark.parametrize(("event", "func", "prefix", "key"), EXPECTED_ROUTES)
def test_plain_body_takes_the_event_from_the_path(client, redis, event, func, prefix, key):
    response = post_signed(client, {"data": entity_for(key, 77)}, path=f"{WEBHOOK_URL}/{event}")
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"status": "queued", "job_id": f"{prefix}-77"}
    assert_single_job(redis, func, [77], f"{prefix}-77")


def test_cloud_event_as_mage_os_sends_it(client, redis):
    response = post_signed(client, ORDER_EVENT, content_type="application/cloudevents+json")
    assert response.status_code == 202
    assert response.get_json() == {"status": "queued", "job_id": "order-1001"}
    assert_single_job(redis, "jobs.inbound.import_order", [1001], "order-1001")


def test_adobe_category_payload_without_id_uses_entity_id(client, redis):
    body = adobe_event("catalog_category_save_after", {"entity_id": "12", "name": "Shoes", "parent_id": "2"})
    response = post_signed(client, body)
    assert response.get_json() == {"status": "queued", "job_id": "category-12"}
    assert_single_job(redis, "jobs.inbound.import_category", [12], "category-12")


def test_path_and_body_naming_the_same_event_is_fine(client, redis):
    response = post_signed(client, ORDER_EVENT, path=f"{WEBHOOK_URL}/sales.order.created")
    assert response.status_code == 202
    adobe = adobe_event("sales_order_save_after", {"entity_id": "5"})
    for path in ("observer.sales_order_save_after", "com.adobe.commerce.observer.sales_order_save_after"):
        response = post_signed(client, adobe, path=f"{WEBHOOK_URL}/{path}")
        assert response.status_code == 202, response.get_json()
    assert sorted(job.id for job in inbound_jobs(redis)) == ["order-1001", "order-5"]


def test_path_and_body_naming_different_events_is_refused(client, redis):
    response = post_signed(client, ORDER_EVENT, path=f"{WEBHOOK_URL}/customer.created")
    assert_error(response, 422, "Unprocessable Entity", "customer.created", "sales.order.created")
    assert inbound_jobs(redis) == []


def test_a_second_delivery_of_a_waiting_record_is_a_duplicate(client, redis):
    first = post_signed(client, ORDER_EVENT)
    again = post_signed(client, cloud_event("sales.order.updated", {"entity_id": 1001}, delivery_id="other"))
    assert first.get_json() == {"status": "queued", "job_id": "order-1001"}
    assert again.status_code == 202
    assert again.get_json() == {"status": "duplicate", "job_id": "order-1001"}
    assert len(inbound_jobs(redis)) == 1


def test_numbers_in_strings_are_ids_too(client, redis):
    response = post_signed(client, cloud_event("customer.updated", {"id": "0042"}))
    assert response.get_json() == {"status": "queued", "job_id": "customer-42"}
    assert_single_job(redis, "jobs.inbound.import_customer", [42], "customer-42")


# --- signature ---------------------------------------------------------------------------------------------------


def test_missing_signature_is_401(client, redis):
    response = client.post(WEBHOOK_URL, data=encode(ORDER_EVENT), content_type="application/json")
    assert_error(response, 401, "Unauthorized", "X-Magento-Signature")
    assert inbound_jobs(redis) == []


@pytest.mark.parametrize(
    "signature",
    [
        "0" * 64,
        sign(encode(ORDER_EVENT), "another-secret"),
        sign(encode(ORDER_EVENT) + b" ", TEST_WEBHOOK_SECRET),
        sign(encode(ORDER_EVENT), TEST_WEBHOOK_SECRET)[:-1],
        "sha1=" + sign(encode(ORDER_EVENT), TEST_WEBHOOK_SECRET),
        "not hex at all ünïcode",
        " ",
    ],
    ids=["zeros", "other-secret", "other-body", "truncated", "other-prefix", "garbage", "blank"],
)
def test_wrong_signature_is_401(client, redis, signature):
    response = client.post(
        WEBHOOK_URL,
        data=encode(ORDER_EVENT),
        content_type="application/json",
        headers={"X-Magento-Signature": signature},
    )
    assert_error(response, 401, "Unauthorized", "X-Magento-Signature")
    assert inbound_jobs(redis) == []


def test_signed_with_another_secret_is_401(client, redis):
    response = post_signed(client, ORDER_EVENT, secret="someone-elses-secret")
    assert_error(response, 401, "Unauthorized")
    assert inbound_jobs(redis) == []


@pytest.mark.parametrize("form", ["lower", "upper", "prefixed", "prefixed-upper", "padded"])
def test_signature_forms_accepted(client, redis, form):
    raw = encode(ORDER_EVENT)
    digest = sign(raw, TEST_WEBHOOK_SECRET)
    header = {
        "lower": digest,
        "upper": digest.upper(),
        "prefixed": f"sha256={digest}",
        "prefixed-upper": f"SHA256={digest.upper()}",
        "padded": f"  {digest} ",
    }[form]
    response = client.post(
        WEBHOOK_URL, data=raw, content_type="application/json", headers={"X-Magento-Signature": header}
    )
    assert response.status_code == 202, response.get_json()
    assert [job.id for job in inbound_jobs(redis)] == ["order-1001"]


def test_signature_is_checked_before_the_body_is_read_as_json(client, redis):
    # Not JSON and unsigned: the answer is about the signature, so nothing about the body leaks to strangers.
    response = client.post(WEBHOOK_URL, data=b"{not json", content_type="application/json")
    assert_error(response, 401, "Unauthorized")


# --- bad bodies ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"order 12", b"\xff\xfe\x00garbage", b'{"data": {"entity_id": 1}', b"[" * 100_000],
    ids=["empty", "truncated", "text", "not-utf8", "unclosed", "deeply-nested"],
)
def test_body_that_is_not_json_is_400(client, redis, raw):
    response = post_signed(client, raw, path=f"{WEBHOOK_URL}/sales.order.created")
    assert_error(response, 400, "Bad Request", "JSON")
    assert inbound_jobs(redis) == []


@pytest.mark.parametrize(
    ("body", "kind"),
    [([ORDER_EVENT], "an array"), ("sales.order.created", "a string"), (12, "a number"), (None, "null")],
)
def test_json_that_is_not_an_object_is_400(client, redis, body, kind):
    response = post_signed(client, body, path=f"{WEBHOOK_URL}/sales.order.created")
    assert_error(response, 400, "Bad Request", f"must be a JSON object, got {kind}")
    assert inbound_jobs(redis) == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (cloud_event("sales.order.created", {"increment_id": "000000101"}), "data.entity_id"),
        (cloud_event("customer.created", {"email": "a@example.com"}), "data.id"),
        (cloud_event("customer.created", {"id": None}), "data.id"),
        (adobe_event("sales_order_save_after", {"increment_id": "1"}), "data.value.entity_id"),
        ({"data": {}}, "data.entity_id"),
    ],
    ids=["order", "customer", "null-id", "adobe", "plain"],
)
def test_missing_entity_id_is_400(client, redis, body, fragment):
    path = WEBHOOK_URL if "type" in body else f"{WEBHOOK_URL}/sales.order.created"
    assert_error(post_signed(client, body, path=path), 400, "Bad Request", fragment)
    assert inbound_jobs(redis) == []


@pytest.mark.parametrize(
    "bad_id", [0, -3, "0", "12a", "", " 12", 1.5, 12.0, True, [12], {"id": 12}, 2**63, "99999999999999999999"]
)
def test_entity_id_that_is_not_a_positive_whole_number_is_400(client, redis, bad_id):
    response = post_signed(client, cloud_event("sales.invoice.created", {"entity_id": bad_id}))
    assert_error(response, 400, "Bad Request", "data.entity_id must be")
    assert inbound_jobs(redis) == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({**ORDER_EVENT, "specversion": "0.3"}, "specversion"),
        ({key: value for key, value in ORDER_EVENT.items() if key != "specversion"}, "specversion"),
        ({**ORDER_EVENT, "type": 12}, "type"),
        ({**ORDER_EVENT, "type": ""}, "type"),
        ({**ORDER_EVENT, "data": [1001]}, "data"),
        ({**ORDER_EVENT, "data": None}, "data"),
        ({**ORDER_EVENT, "id": 5}, "id"),
        ({key: value for key, value in ORDER_EVENT.items() if key != "data"}, "data"),
        ({**adobe_event("sales_order_save_after", {}), "data": {"entity_id": "5"}}, "data.value"),
        ({"data": "1001"}, "data"),
    ],
    ids=[
        "old-spec",
        "no-spec",
        "type-number",
        "type-empty",
        "data-array",
        "data-null",
        "id-number",
        "no-data",
        "adobe-no-value",
        "plain-data-string",
    ],
)
def test_malformed_envelope_is_400_naming_the_field(client, redis, body, fragment):
    path = WEBHOOK_URL if ("type" in body or "specversion" in body) else f"{WEBHOOK_URL}/sales.order.created"
    message = assert_error(post_signed(client, body, path=path), 400, "Bad Request")
    assert f"{fragment}:" in message, message
    assert inbound_jobs(redis) == []


# --- unknown events ------------------------------------------------------------------------------------------------


UNHANDLED = [
    (cloud_event("sales.shipment.created", {"entity_id": 3}), WEBHOOK_URL),
    (adobe_event("catalog_product_save_after", {"entity_id": "3"}), WEBHOOK_URL),
    ({"data": {"entity_id": 3}}, f"{WEBHOOK_URL}/sales.order.deleted"),
]


def test_a_signed_event_not_handled_here_is_200_ignored(client, redis):
    # Was 422: every sender retries or drops a 4xx, and Mage-OS 2.x/3.x dead-letter it, for events a store merely
    # subscribed to; a signed event the service does not handle is now acknowledged and ignored.
    for body, path in UNHANDLED:
        response = post_signed(client, body, path=path)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == "ignored"
    assert inbound_jobs(redis) == []
    counted = {key.decode(): int(value) for key, value in redis.hgetall("syncapi:metrics:syncapi_webhooks").items()}
    assert counted == {'["other","ignored"]': len(UNHANDLED)}


def test_an_address_event_imports_its_customer_from_parent_id_or_customer_id(client, redis):
    with_parent = cloud_event("customer.address.updated", {"id": 9, "parent_id": "44", "customer_id": 45})
    assert post_signed(client, with_parent).get_json() == {"status": "queued", "job_id": "customer-44"}
    plain = {"data": {"id": 10, "customer_id": 46, "city": "Z\u00fcrich"}}
    response = post_signed(client, plain, path=f"{WEBHOOK_URL}/customer.address.created")
    assert response.get_json() == {"status": "queued", "job_id": "customer-46"}
    no_customer = cloud_event("customer.address.created", {"id": 11})
    assert_error(post_signed(client, no_customer), 400, "Bad Request", "data.parent_id or data.customer_id")


def test_plain_body_without_an_event_in_the_path_is_422_naming_the_per_event_url(client, redis):
    message = assert_error(post_signed(client, {"data": {"entity_id": 3}}), 422, "Unprocessable Entity", "no event")
    assert "/webhooks/magento/<event name>" in message
    assert "/webhooks/magento/sales.order.created" in message
    assert inbound_jobs(redis) == []


# --- content type and size -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data"]
)
def test_other_content_types_are_415(client, redis, content_type):
    response = post_signed(client, ORDER_EVENT, content_type=content_type)
    assert_error(response, 415, "Unsupported Media Type", "application/json")
    assert inbound_jobs(redis) == []


def test_charset_other_than_utf8_is_415(client, redis):
    response = post_signed(client, ORDER_EVENT, content_type="application/json; charset=iso-8859-1")
    assert_error(response, 415, "Unsupported Media Type", "UTF-8")
    assert inbound_jobs(redis) == []


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON; Charset=UTF-8", None],
    ids=["json", "json-utf8", "json-mixed-case", "none-as-mage-os-4-sends"],
)
def test_json_content_types_are_accepted(client, redis, content_type):
    response = post_signed(client, ORDER_EVENT, content_type=content_type)
    assert response.status_code == 202, response.get_json()
    assert [job.id for job in inbound_jobs(redis)] == ["order-1001"]


def padded_event(total_bytes: int) -> bytes:
    """A valid signed-able order event whose JSON encoding is exactly `total_bytes` long."""
    body = cloud_event("sales.order.created", {"entity_id": 2002, "comment": ""})
    padding = total_bytes - len(encode(body))
    body["data"]["comment"] = "x" * padding
    raw = encode(body)
    assert len(raw) == total_bytes
    return raw


# The webhook limit was the operator API's 1 MiB; it is 4 MiB now, as an Adobe I/O Events batch may be 2 MB.
def test_body_of_exactly_four_mib_is_accepted(client, redis):
    assert WEBHOOK_MAX_BODY_BYTES == 4 * 1024 * 1024
    response = post_signed(client, padded_event(WEBHOOK_MAX_BODY_BYTES))
    assert response.status_code == 202, response.get_json()
    assert [job.id for job in inbound_jobs(redis)] == ["order-2002"]


def test_body_over_four_mib_is_413(client, redis):
    response = post_signed(client, padded_event(WEBHOOK_MAX_BODY_BYTES + 1))
    assert_error(response, 413, HTTPStatus(413).phrase, "4 MiB")
    assert inbound_jobs(redis) == []


def test_other_methods_are_405_json(client):
    assert_error(client.delete(WEBHOOK_URL), 405, "Method Not Allowed")
    assert_error(client.put(f"{WEBHOOK_URL}/sales.order.created"), 405, "Method Not Allowed")


# --- the queue cannot be reached -----------------------------------------------------------------------------------


@pytest.fixture
def client_without_redis(redis, tmp_path):
    """A client of an app whose Redis is a closed port."""
    application = create_app(base_settings(tmp_path, REDIS_URL="redis://127.0.0.1:1/0"))
    yield application.test_client()
    db.dispose_all()
    services._current = None


def test_unreachable_redis_is_503_with_retry_after(client_without_redis, redis):
    response = post_signed(client_without_redis, ORDER_EVENT)
    message = assert_error(response, 503, "Service Unavailable", "queue cannot be reached", "again")
    assert "127.0.0.1:1" not in message  # where Redis lives is for the logs, not for the sender
    # A few seconds: Mage-OS 3.3+ and 4.x wait exactly this long before their next retry.
    assert response.headers["Retry-After"] == "5"
    assert inbound_jobs(redis) == []


def test_unreachable_redis_still_refuses_bad_deliveries_first(client_without_redis):
    assert_error(post_signed(client_without_redis, ORDER_EVENT, secret="wrong"), 401, "Unauthorized")
    assert_error(post_signed(client_without_redis, b"[]"), 400, "Bad Request")


# --- logs ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def log_lines():
    """Everything logged during the test, formatted as the service's JSON lines, without the secret mask."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def test_one_log_line_per_webhook_without_secret_or_signatures(client, redis, log_lines):
    raw = encode(ORDER_EVENT)
    good = sign(raw, TEST_WEBHOOK_SECRET)
    wrong = sign(raw, "another-secret")
    sent = [
        client.post(WEBHOOK_URL, data=raw, content_type="application/json", headers={"X-Magento-Signature": good}),
        client.post(
            WEBHOOK_URL, data=raw, content_type="application/json", headers={"X-Magento-Signature": good.upper()}
        ),
        client.post(WEBHOOK_URL, data=raw, content_type="application/json", headers={"X-Magento-Signature": wrong}),
        client.post(
            WEBHOOK_URL,
            data=raw,
            content_type="application/json",
            headers={"X-Magento-Signature": TEST_WEBHOOK_SECRET},  # a sender mistaking the secret for a signature
        ),
        post_signed(client, b"[]"),
    ]
    assert [response.status_code for response in sent] == [202, 202, 401, 401, 400]

    lines = log_lines()
    webhook_lines = [line for line in lines if line["logger"] == "syncapi.webhooks.views"]
    assert len(webhook_lines) == len(sent)
    queued, duplicate, wrong_line, secret_line, not_json = webhook_lines
    assert queued["event"] == "sales.order.created"
    assert queued["delivery_id"] == ORDER_EVENT["id"]
    assert (queued["job_id"], queued["status"], queued["http_status"]) == ("order-1001", "queued", 202)
    assert (duplicate["job_id"], duplicate["status"]) == ("order-1001", "duplicate")
    assert (wrong_line["status"], wrong_line["http_status"], wrong_line["job_id"]) == ("rejected", 401, None)
    assert (not_json["status"], not_json["http_status"]) == ("rejected", 400)
    assert secret_line["http_status"] == 401

    everything = "\n".join(json.dumps(line) for line in lines)
    for secret in (TEST_WEBHOOK_SECRET, good, good.upper(), wrong):
        assert secret not in everything
