"""Answers the outside contract (docs/reference.md) and docs/configuration.md's promises, checked through the
app: every error anywhere is `{"error": "<HTTP phrase>", "message": ...}`, an operator API body that is not JSON
is told apart from one not sent as JSON, and `SYNCAPI_DOTENV` names the settings file read."""

from __future__ import annotations

import hashlib
import hmac
import json
from http import HTTPStatus

import pytest

from syncapi.config import Settings
from syncapi.state import upgrade
from tests.conftest import TEST_API_TOKEN, TEST_WEBHOOK_SECRET

AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}


def signed(body: bytes, content_type: str | None = "application/json") -> dict:
    headers = {"X-Magento-Signature": hmac.new(TEST_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers


@pytest.fixture
def client(app):
    """The test client of an app whose own tables exist, so the API answers its real errors."""
    upgrade(app.extensions["services"].state_engine)
    return app.test_client()


def assert_error(answer, status: int) -> None:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/json"
    body = answer.get_json()
    assert set(body) == {"error", "message"} and body["error"] == HTTPStatus(status).phrase
    assert isinstance(body["message"], str) and body["message"]


def test_every_error_answer_is_json_with_the_http_phrase(client):
    order = json.dumps({"data": {"entity_id": 1}}).encode()
    cases = [
        (client.get("/no/such/path"), 404),
        (client.delete("/webhooks/magento"), 405),
        (client.get("/webhooks/magento"), 400),  # a GET is Adobe's challenge: without ?challenge= it is refused
        (client.post("/healthz"), 405),
        (client.put("/metrics"), 405),
        (client.get("/api/v1/sync/products", headers=AUTH), 405),
        (client.get("/api/v1/runs"), 401),
        (client.get("/api/v1/runs/987654", headers=AUTH), 404),
        (client.get("/api/v1/links/nothing/1", headers=AUTH), 404),
        (client.post("/api/v1/sync/nothing", headers=AUTH), 404),
        (client.get("/rq/"), 401),
        (client.post("/webhooks/magento/sales.order.created", data=order, headers=signed(order, "text/plain")), 415),
        (
            client.post(
                "/webhooks/magento/sales.order.created", data=order, headers={"Content-Type": "application/json"}
            ),
            401,
        ),
        (client.post("/webhooks/magento", data=order, headers=signed(order)), 422),
        (client.post("/webhooks/magento", data=b"{", headers=signed(b"{")), 400),
    ]
    for answer, status in cases:
        assert_error(answer, status)


def test_a_webhook_without_content_type_is_read_as_json(client, redis):
    body = json.dumps({"data": {"entity_id": 77}}).encode()
    answer = client.post("/webhooks/magento/sales.order.created", data=body, headers=signed(body, None))
    assert answer.status_code == 202 and answer.get_json() == {"status": "queued", "job_id": "order-77"}


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [("text/plain", b'{"full": true}', 415), ("application/json", b"{not json", 400)],
)
def test_the_sync_api_tells_a_body_not_sent_as_json_from_broken_json(client, content_type, body, status):
    answer = client.post("/api/v1/sync/stock", headers={**AUTH, "Content-Type": content_type}, data=body)
    assert_error(answer, status)
    assert client.get("/api/v1/runs", headers=AUTH).get_json() == [], "nothing was started"


def test_syncapi_dotenv_names_the_settings_file(tmp_path, monkeypatch):
    env_file = tmp_path / "service.env"
    env_file.write_text("MAGENTO_BASE_URL=https://shop.example.com\nWEBHOOK_SECRET=webhook-secret-0123456789\nAPI_TOKEN=api-token-0123456789\n"
                        "MAGENTO_AUTH=bearer\nMAGENTO_ACCESS_TOKEN=t\nPOS_LOCATION_CODE=SHOP9\n")  # fmt: skip
    for name in ("MAGENTO_BASE_URL", "WEBHOOK_SECRET", "API_TOKEN", "MAGENTO_AUTH", "MAGENTO_ACCESS_TOKEN",
                 "POS_LOCATION_CODE", "SYNCAPI_ENV"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SYNCAPI_DOTENV", str(env_file))
    settings = Settings.from_env()
    assert (settings.pos_location_code, settings.magento_base_url) == ("SHOP9", "https://shop.example.com")
