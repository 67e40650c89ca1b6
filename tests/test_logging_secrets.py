"""No secret reaches the logs: a realistic run of the web app, a worker and the Magento client at DEBUG level,
logged through the service's own JSON handler (`syncapi.logs.configure`), must never print a secret setting,
a signature header or an Authorization header."""

from __future__ import annotations

import base64
import io
import json
import secrets

import pytest
from rq import SimpleWorker

from app import create_app
from syncapi import db, logs, services
from syncapi.magento.client import client_for
from syncapi.queues import QUEUE_DEFAULT
from syncapi.state import upgrade
from syncapi.webhooks.signature import sign
from tests.conftest import base_settings
from tests.fixtures_webhooks import cloud_event


def _magento_like_token() -> str:
    """32 lowercase letters and digits, the shape of Magento's integration tokens and secrets."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(32))


@pytest.fixture
def secret_settings(tmp_path, magento) -> dict:
    """Settings whose every secret is fresh and unique; the sandbox is told the same Magento credentials."""
    values = base_settings(
        tmp_path,
        LOG_LEVEL="debug",
        WEBHOOK_SECRET="whsec-" + secrets.token_urlsafe(24),
        API_TOKEN="api-" + secrets.token_urlsafe(24),
        DASHBOARD_USER="operator",
        # Quotes, a backslash and non-ASCII: JSON escapes them, so a masker working on the JSON text would miss it.
        DASHBOARD_PASSWORD='pä"ss\\wörd-' + secrets.token_hex(8),
        MAGENTO_BASE_URL=magento.base_url,
        MAGENTO_AUTH="oauth1",
        MAGENTO_CONSUMER_KEY=_magento_like_token(),
        MAGENTO_CONSUMER_SECRET=_magento_like_token(),
        MAGENTO_ACCESS_TOKEN=_magento_like_token(),
        MAGENTO_ACCESS_TOKEN_SECRET=_magento_like_token(),
        MAGENTO_MAX_RETRIES=0,
    )
    magento.configure(
        consumer_key=values["MAGENTO_CONSUMER_KEY"],
        consumer_secret=values["MAGENTO_CONSUMER_SECRET"],
        access_token=values["MAGENTO_ACCESS_TOKEN"],
        access_token_secret=values["MAGENTO_ACCESS_TOKEN_SECRET"],
    )
    return values


@pytest.fixture
def logged_app(redis, secret_settings):
    """The app with its state tables, logging at DEBUG through the real JSON handler into a buffer."""
    application = create_app(secret_settings)
    application.config["TESTING"] = True
    upgrade(application.extensions["services"].state_engine)
    buffer = io.StringIO()
    logs.configure(application.extensions["services"].settings, stream=buffer)
    yield application, buffer
    logs.configure(application.extensions["services"].settings)
    db.dispose_all()
    services._current = None


def read_order_with_a_leaky_error(order_id: int) -> None:
    """A job that reads from Magento through the real client, then fails with the access token in its message,
    as a library that echoes request headers into its errors would."""
    svc = services.current()
    client = client_for(svc.settings)
    try:
        client.get("/V1/categories")
    finally:
        client.close()
    token = svc.settings.magento_access_token
    raise RuntimeError(f"order {order_id}: Magento refused the request (Authorization: Bearer {token})")


def _forms(value: str) -> set[str]:
    """`value` as it could show up in a log line: raw, JSON-escaped, or in a Python repr."""
    return {value, json.dumps(value)[1:-1], repr(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}


def test_a_realistic_run_logs_no_secret(logged_app, secret_settings, redis, magento):
    app, buffer = logged_app
    client = app.test_client()
    webhook_secret = secret_settings["WEBHOOK_SECRET"]
    api_token = secret_settings["API_TOKEN"]
    password = secret_settings["DASHBOARD_PASSWORD"]

    # Webhooks: one accepted, one with a wrong signature, one signed with another secret.
    body = json.dumps(cloud_event("sales.order.created", {"entity_id": 1001})).encode()
    good_signature = sign(body, webhook_secret)
    accepted = client.post(
        "/webhooks/magento",
        data=body,
        content_type="application/json",
        headers={"X-Magento-Signature": good_signature},
    )
    assert accepted.status_code == 202, accepted.get_json()
    other_signature = sign(body, "not-" + webhook_secret)
    refused = client.post(
        "/webhooks/magento",
        data=body,
        content_type="application/json",
        headers={"X-Magento-Signature": other_signature},
    )
    assert refused.status_code == 401

    # The operator API, with the token and with a wrong one.
    assert client.get("/api/v1/runs", headers={"Authorization": f"Bearer {api_token}"}).status_code == 200
    wrong_token = api_token[:-1] + ("x" if api_token[-1] != "x" else "y")
    assert client.get("/api/v1/runs", headers={"Authorization": f"Bearer {wrong_token}"}).status_code == 401

    # The dashboard: a login and a wrong password.
    basic = base64.b64encode(f"operator:{password}".encode()).decode()
    assert client.get("/rq/", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    wrong_basic = base64.b64encode(f"operator:{password}x".encode()).decode()
    assert client.get("/rq/", headers={"Authorization": f"Basic {wrong_basic}"}).status_code == 401

    # A job that talks to Magento (OAuth-signed, DEBUG logs of requests and oauthlib on) and then fails with
    # the access token in its exception message; RQ logs the traceback.
    svc = app.extensions["services"]
    svc.queues.enqueue(QUEUE_DEFAULT, read_order_with_a_leaky_error, 1001, job_id="leaky-order-1001")
    SimpleWorker([QUEUE_DEFAULT], connection=svc.redis).work(burst=True, logging_level="DEBUG")
    assert any(r["path"].endswith("/V1/categories") and r["status"] == 200 for r in magento.requests()), (
        "Magento was not called"
    )

    output = buffer.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    # The run did log what it did, so finding no secret means something.
    messages = " ".join(line["message"] for line in lines)
    assert any(line.get("status") == "queued" and line.get("http_status") == 202 for line in lines)
    assert any(line.get("http_status") == 401 for line in lines)
    assert "leaky-order-1001" in output and "Authorization: Bearer ***" in output, messages
    assert any(line["level"] == "debug" for line in lines)

    leaks = {
        "WEBHOOK_SECRET": webhook_secret,
        "API_TOKEN": api_token,
        "wrong API token": wrong_token,
        "DASHBOARD_PASSWORD": password,
        "basic credentials": basic,
        "wrong basic credentials": wrong_basic,
        "X-Magento-Signature (good)": good_signature,
        "X-Magento-Signature (wrong)": other_signature,
        "MAGENTO_CONSUMER_SECRET": secret_settings["MAGENTO_CONSUMER_SECRET"],
        "MAGENTO_ACCESS_TOKEN": secret_settings["MAGENTO_ACCESS_TOKEN"],
        "MAGENTO_ACCESS_TOKEN_SECRET": secret_settings["MAGENTO_ACCESS_TOKEN_SECRET"],
    }
    found = {name for name, value in leaks.items() if any(form in output for form in _forms(value))}
    assert not found, f"secrets in the logs: {sorted(found)}"
