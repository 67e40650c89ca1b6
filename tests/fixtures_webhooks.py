"""Webhook test helpers: body builders, signed posts, a look at the real `inbound` queue, and the web process
run by gunicorn as a real HTTP server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from rq import Queue
from rq.job import Job

from syncapi.webhooks.signature import sign
from tests.conftest import TEST_WEBHOOK_SECRET, base_settings

#: What `from tests.fixtures_webhooks import *` in conftest.py brings in: the fixtures only.
__all__ = ["webhook_server"]

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_URL = "/webhooks/magento"
#: Seconds to wait for gunicorn to answer /healthz.
SERVER_START_TIMEOUT_S = 30


def cloud_event(event: str, data: dict, delivery_id: str = "5b6b1e2c-0d8e-4b55-9a41-6c2f3d1e7a90") -> dict:
    """A CloudEvents 1.0 structured event as Mage-OS Async Events sends it."""
    return {
        "specversion": "1.0",
        "id": delivery_id,
        "source": "https://shop.example.com",
        "type": event,
        "datacontenttype": "application/json",
        "time": "2026-11-22T10:00:00Z",
        "data": data,
    }


def adobe_event(magento_event: str, value: dict, delivery_id: str = "a4f3c1de-1111-4222-8333-944455556666") -> dict:
    """An Adobe I/O Events for Commerce event for the observer event `magento_event`."""
    return {
        "specversion": "1.0",
        "id": delivery_id,
        "source": "urn:uuid:0d1a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8",
        "type": f"com.adobe.commerce.observer.{magento_event}",
        "datacontenttype": "application/json",
        "time": "2026-11-22T10:00:00.000Z",
        "eventid": "7f1e8e6e-aaaa-4bbb-8ccc-dddddddddddd",
        "recipientclientid": "client-id-of-the-registration",
        "data": {"key": "f3b5a7c9", "value": value, "_metadata": {"commerceEdition": "Adobe Commerce"}},
    }


def encode(body) -> bytes:
    """`body` as the raw bytes a sender posts (bytes pass through)."""
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def post_signed(
    client,
    body,
    path: str = WEBHOOK_URL,
    secret: str = TEST_WEBHOOK_SECRET,
    content_type: str | None = "application/json",
    headers: dict | None = None,
):
    """POST `body` to `path` through the Flask test client, signed with `secret`."""
    raw = encode(body)
    sent = {"X-Magento-Signature": sign(raw, secret)}
    sent.update(headers or {})
    return client.post(path, data=raw, headers=sent, content_type=content_type)


def inbound_jobs(connection) -> list[Job]:
    """The jobs waiting in the real `inbound` queue, oldest first."""
    queue = Queue("inbound", connection=connection)
    return [Job.fetch(job_id, connection=connection) for job_id in queue.get_job_ids()]


def assert_error(response, status: int, phrase: str, *fragments: str) -> str:
    """Check that `response` is the JSON error `status` with `phrase` and a message containing `fragments`."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error", "message"}, body
    assert body["error"] == phrase
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return body["message"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def webhook_server(tmp_path_factory):
    """The web process under gunicorn (2 worker processes) on a free port; yields its base URL."""
    tmp_path = tmp_path_factory.mktemp("webhook-server")
    yield from run_gunicorn(tmp_path, base_settings(tmp_path))


def run_gunicorn(tmp_path, settings: dict, *, procfile_defaults: bool = False):
    """Run the web process under gunicorn with `settings`; yield its base URL, then stop. Two worker processes,
    or with `procfile_defaults` gunicorn.conf.py's own workers and connections, as a fresh deployment has them;
    only the bind address differs from the Procfile's (loopback and a free port)."""
    port = _free_port()
    env = dict(os.environ)
    env.update({k: str(v) for k, v in settings.items()})
    env["SYNCAPI_DOTENV"] = str(tmp_path / "none.env")
    if procfile_defaults:
        for name in ("WEB_CONCURRENCY", "WEB_CONNECTIONS"):
            env.pop(name, None)
    else:
        env["WEB_CONCURRENCY"] = "2"
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if requests.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still loading the app
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer within {SERVER_START_TIMEOUT_S} s:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def raw_http(base_url: str, head: bytes, body_parts: list[bytes], timeout_s: float = 15) -> tuple[int, dict, bytes]:
    """Send a hand-written HTTP/1.1 request (for chunked or lying bodies) and read the whole answer."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        try:
            sock.sendall(head)
            for part in body_parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything; the answer is what counts
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    head_text, _, payload = received.partition(b"\r\n\r\n")
    lines = head_text.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, payload
