"""Webhook intake through a real gunicorn: concurrent duplicate deliveries, chunked bodies, lying lengths."""

from __future__ import annotations

import json
import threading
from http import HTTPStatus

import requests

from syncapi.webhooks.signature import sign
from syncapi.webhooks.views import WEBHOOK_MAX_BODY_BYTES
from tests.conftest import TEST_WEBHOOK_SECRET
from tests.fixtures_webhooks import WEBHOOK_URL, cloud_event, encode, inbound_jobs, raw_http

#: Concurrent deliveries of one order in the burst test.
BURST = 20


def signed_headers(raw: bytes) -> dict:
    return {"Content-Type": "application/json", "X-Magento-Signature": sign(raw, TEST_WEBHOOK_SECRET)}


def sized_order(total_bytes: int, entity_id: int = 3003) -> bytes:
    body = cloud_event("sales.order.created", {"entity_id": entity_id, "comment": ""})
    body["data"]["comment"] = "x" * (total_bytes - len(encode(body)))
    raw = encode(body)
    assert len(raw) == total_bytes
    return raw


def chunked(raw: bytes, size: int = 100_000) -> list[bytes]:
    parts = [f"{len(raw[i : i + size]):x}\r\n".encode() + raw[i : i + size] + b"\r\n" for i in range(0, len(raw), size)]
    return [*parts, b"0\r\n\r\n"]


def head(lines: list[str]) -> bytes:
    return (
        "\r\n".join(["POST /webhooks/magento HTTP/1.1", "Host: localhost", "Connection: close", *lines]) + "\r\n\r\n"
    ).encode()


def test_burst_of_one_order_queues_one_job(webhook_server, redis):
    raw = encode(cloud_event("sales.order.created", {"entity_id": 4242, "state": "new"}))
    barrier = threading.Barrier(BURST)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def deliver():
        with requests.Session() as session:
            barrier.wait(timeout=30)
            response = session.post(f"{webhook_server}{WEBHOOK_URL}", data=raw, headers=signed_headers(raw), timeout=30)
        with lock:
            answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=deliver) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == BURST
    assert {status for status, _ in answers} == {202}
    assert {body["job_id"] for _, body in answers} == {"order-4242"}
    statuses = sorted(body["status"] for _, body in answers)
    assert statuses == ["duplicate"] * (BURST - 1) + ["queued"]
    jobs = inbound_jobs(redis)
    assert [job.id for job in jobs] == ["order-4242"]
    assert jobs[0].func_name == "jobs.inbound.import_order"
    assert list(jobs[0].args) == [4242]


def test_chunked_body_over_the_limit_is_413_json(webhook_server, redis):
    raw = sized_order(WEBHOOK_MAX_BODY_BYTES + 1)
    status, headers, payload = raw_http(
        webhook_server,
        head(
            [
                "Content-Type: application/json",
                f"X-Magento-Signature: {sign(raw, TEST_WEBHOOK_SECRET)}",
                "Transfer-Encoding: chunked",
            ]
        ),
        chunked(raw),
    )
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert json.loads(payload)["error"] == HTTPStatus(413).phrase
    assert inbound_jobs(redis) == []


def test_chunked_body_of_exactly_the_limit_is_accepted(webhook_server, redis):
    raw = sized_order(WEBHOOK_MAX_BODY_BYTES)
    status, _, payload = raw_http(
        webhook_server,
        head(
            [
                "Content-Type: application/json",
                f"X-Magento-Signature: {sign(raw, TEST_WEBHOOK_SECRET)}",
                "Transfer-Encoding: chunked",
            ]
        ),
        chunked(raw),
    )
    assert status == 202, payload
    assert json.loads(payload) == {"status": "queued", "job_id": "order-3003"}
    assert [job.id for job in inbound_jobs(redis)] == ["order-3003"]


def test_content_length_body_of_exactly_the_limit_is_accepted(webhook_server, redis):
    raw = sized_order(WEBHOOK_MAX_BODY_BYTES, entity_id=3004)
    response = requests.post(f"{webhook_server}{WEBHOOK_URL}", data=raw, headers=signed_headers(raw), timeout=30)
    assert response.status_code == 202, response.text
    assert [job.id for job in inbound_jobs(redis)] == ["order-3004"]


def test_content_length_over_the_limit_is_413_before_reading(webhook_server, redis):
    raw = encode(cloud_event("sales.order.created", {"entity_id": 5}))
    status, headers, payload = raw_http(
        webhook_server,
        head(
            [
                "Content-Type: application/json",
                f"X-Magento-Signature: {sign(raw, TEST_WEBHOOK_SECRET)}",
                f"Content-Length: {WEBHOOK_MAX_BODY_BYTES + 1}",
            ]
        ),
        [raw],  # far less than announced: the server must answer without waiting for the rest
    )
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert "4 MiB" in json.loads(payload)["message"]
    assert inbound_jobs(redis) == []


def test_content_length_shorter_than_the_body_reads_only_what_it_announces(webhook_server, redis):
    raw = sized_order(2 * WEBHOOK_MAX_BODY_BYTES, entity_id=3005)
    status, _, payload = raw_http(
        webhook_server,
        head(
            [
                "Content-Type: application/json",
                f"X-Magento-Signature: {sign(raw, TEST_WEBHOOK_SECRET)}",
                "Content-Length: 100",
            ]
        ),
        [raw],
    )
    # Only the announced 100 bytes are the body: they do not match the signature of the whole.
    assert status == 401, payload
    assert json.loads(payload)["error"] == "Unauthorized"
    assert inbound_jobs(redis) == []
