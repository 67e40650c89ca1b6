"""Security checks across the service's three doors (webhooks, operator API, dashboard): every secret compared
in constant time, odd credentials refused with a JSON 401 and never a 500, body size limits on the API too,
and no Authorization header in gunicorn's access log."""

from __future__ import annotations

import base64
import hmac
import json
import os
import re
import subprocess
import sys
import time

import pytest
import requests
from rq import Queue, SimpleWorker

from syncapi import db, services
from syncapi.queues import QUEUE_NAMES
from syncapi.state import upgrade
from syncapi.webhooks.signature import sign
from tests.conftest import TEST_API_TOKEN, TEST_WEBHOOK_SECRET, base_settings
from tests.fixtures_webhooks import ROOT, _free_port, cloud_event, raw_http

DASHBOARD_USER = "operator"
DASHBOARD_PASSWORD = "correct-horse-battery-staple-4d1e"
API_URL = "/api/v1/runs"
WEBHOOK_URL = "/webhooks/magento"
#: The operator API's body limit (1 MiB); bodies one byte over it are refused.
LIMIT_BYTES = 1024 * 1024
#: A header far longer than any real one (gunicorn refuses over 8 KiB itself; the app must not fall over).
LONG = 100_000


class Tripwire(str):
    """A secret that records every `==`/`!=` made against it: code comparing secrets that way is not constant
    time. `hmac.compare_digest` and `.encode()` never call these."""

    compared: list[str] = []

    def __eq__(self, other):
        Tripwire.compared.append(str(other)[:40])
        return str.__eq__(self, other)

    def __ne__(self, other):
        Tripwire.compared.append(str(other)[:40])
        return str.__ne__(self, other)

    __hash__ = str.__hash__


@pytest.fixture
def app_settings(tmp_path) -> dict:
    """Secrets that are tripwires, and dashboard credentials, so every door is guarded."""
    return base_settings(
        tmp_path,
        WEBHOOK_SECRET=Tripwire(TEST_WEBHOOK_SECRET),
        API_TOKEN=Tripwire(TEST_API_TOKEN),
        DASHBOARD_USER=Tripwire(DASHBOARD_USER),
        DASHBOARD_PASSWORD=Tripwire(DASHBOARD_PASSWORD),
    )


@pytest.fixture
def compare_calls(monkeypatch) -> list[tuple[bytes, bytes]]:
    """Every call to `hmac.compare_digest` during the test, as (a, b) in bytes; Tripwire comparisons reset."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a, b):
        calls.append((_as_bytes(a), _as_bytes(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    Tripwire.compared.clear()
    return calls


def _as_bytes(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


def _basic(user: str, password: str, encoding: str = "utf-8") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode(encoding)).decode()


def _queued(redis) -> int:
    return sum(Queue(name, connection=redis).count for name in QUEUE_NAMES)


def _assert_json_401(response, challenge: str) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    assert set(response.get_json()) == {"error", "message"}
    assert response.get_json()["error"] == "Unauthorized"
    assert response.headers["WWW-Authenticate"].startswith(challenge)


def _same_length_wrong(value: str) -> str:
    return value[:-1] + ("x" if value[-1] != "x" else "y")


# --- operator API token ----------------------------------------------------------------------------------

API_REFUSED = {
    "missing": None,
    "empty": "",
    "scheme only": "Bearer",
    "blank token": "Bearer    ",
    "same length": f"Bearer {_same_length_wrong(TEST_API_TOKEN)}",
    "shorter": f"Bearer {TEST_API_TOKEN[:-3]}",
    "prefix of it": f"Bearer {TEST_API_TOKEN[:1]}",
    "longer": f"Bearer {TEST_API_TOKEN}0",
    "another scheme": f"Token {TEST_API_TOKEN}",
    "basic": _basic(TEST_API_TOKEN, ""),
    "two tokens": f"Bearer wrong, Bearer {TEST_API_TOKEN}",
    "latin-1": "Bearer " + "é" * len(TEST_API_TOKEN),
    "unicode": "Bearer " + "✓€😀" * 8,
    "utf-8 read as latin-1": "Bearer " + "✓".encode().decode("latin-1") * 10,
    "very long": "Bearer " + "a" * LONG,
    "very long, token first": f"Bearer {TEST_API_TOKEN}" + "a" * LONG,
}


@pytest.mark.parametrize("header", list(API_REFUSED.values()), ids=list(API_REFUSED))
@pytest.mark.parametrize("method", ["get", "post"])
def test_api_refuses_any_other_token_with_a_json_401(client, redis, compare_calls, header, method):
    headers = {} if header is None else {"Authorization": header}
    path = API_URL if method == "get" else "/api/v1/sync/products"
    response = getattr(client, method)(path, headers=headers)
    _assert_json_401(response, "Bearer")
    assert _queued(redis) == 0
    assert Tripwire.compared == []


def test_api_token_is_compared_in_constant_time(client, compare_calls):
    wrong = _same_length_wrong(TEST_API_TOKEN)
    _assert_json_401(client.get(API_URL, headers={"Authorization": f"Bearer {wrong}"}), "Bearer")
    assert (wrong.encode(), TEST_API_TOKEN.encode()) in compare_calls
    assert Tripwire.compared == []
    # The right token passes the same comparison.
    compare_calls.clear()
    answer = client.get(API_URL, headers={"Authorization": f"Bearer {TEST_API_TOKEN}"})
    assert answer.status_code != 401
    assert (TEST_API_TOKEN.encode(), TEST_API_TOKEN.encode()) in compare_calls
    assert Tripwire.compared == []


# --- dashboard basic auth --------------------------------------------------------------------------------

DASHBOARD_REFUSED = {
    "missing": None,
    "wrong password, same length": _basic(DASHBOARD_USER, _same_length_wrong(DASHBOARD_PASSWORD)),
    "wrong password, shorter": _basic(DASHBOARD_USER, DASHBOARD_PASSWORD[:5]),
    "wrong password, longer": _basic(DASHBOARD_USER, DASHBOARD_PASSWORD + "!"),
    "wrong user, same length": _basic(_same_length_wrong(DASHBOARD_USER), DASHBOARD_PASSWORD),
    "empty user and password": _basic("", ""),
    "empty password": _basic(DASHBOARD_USER, ""),
    "no colon": "Basic " + base64.b64encode(DASHBOARD_USER.encode()).decode(),
    "password with a colon": _basic(DASHBOARD_USER, DASHBOARD_PASSWORD + ":" + DASHBOARD_PASSWORD),
    "unicode": _basic("öperätor✓", "pässwörd😀"),
    "latin-1 bytes": _basic("opérateur", "pässwörd", encoding="latin-1"),
    "not base64": "Basic !!!not-base64!!!",
    "scheme only": "Basic",
    "bearer": f"Bearer {DASHBOARD_PASSWORD}",
    "very long": _basic(DASHBOARD_USER, "p" * LONG),
}


@pytest.mark.parametrize("header", list(DASHBOARD_REFUSED.values()), ids=list(DASHBOARD_REFUSED))
@pytest.mark.parametrize("path", ["/rq/", "/rq/0/data/queues.json"])
def test_dashboard_refuses_any_other_credentials_with_a_json_401(client, compare_calls, header, path):
    headers = {} if header is None else {"Authorization": header}
    _assert_json_401(client.get(path, headers=headers), "Basic")
    assert Tripwire.compared == []


def test_dashboard_credentials_are_compared_in_constant_time(client, compare_calls):
    wrong = _same_length_wrong(DASHBOARD_PASSWORD)
    _assert_json_401(client.get("/rq/", headers={"Authorization": _basic(DASHBOARD_USER, wrong)}), "Basic")
    # Both the user and the password go through compare_digest, even once the first one is known to be right.
    assert (DASHBOARD_USER.encode(), DASHBOARD_USER.encode()) in compare_calls
    assert (wrong.encode(), DASHBOARD_PASSWORD.encode()) in compare_calls
    compare_calls.clear()
    wrong_user = _same_length_wrong(DASHBOARD_USER)
    _assert_json_401(client.get("/rq/", headers={"Authorization": _basic(wrong_user, wrong)}), "Basic")
    assert (wrong_user.encode(), DASHBOARD_USER.encode()) in compare_calls
    assert (wrong.encode(), DASHBOARD_PASSWORD.encode()) in compare_calls
    assert Tripwire.compared == []
    assert client.get("/rq/", headers={"Authorization": _basic(DASHBOARD_USER, DASHBOARD_PASSWORD)}).status_code == 200
    assert Tripwire.compared == []


# --- webhook signature -----------------------------------------------------------------------------------

BODY = json.dumps(cloud_event("sales.order.created", {"entity_id": 1001})).encode()
RIGHT_SIGNATURE = sign(BODY, TEST_WEBHOOK_SECRET)

WEBHOOK_REFUSED = {
    "empty": "",
    "blank": "   ",
    "same length": _same_length_wrong(RIGHT_SIGNATURE),
    "shorter": RIGHT_SIGNATURE[:-2],
    "longer": RIGHT_SIGNATURE + "00",
    "prefix only": "sha256=",
    "another body's": sign(BODY + b" ", TEST_WEBHOOK_SECRET),
    "another secret's": sign(BODY, TEST_WEBHOOK_SECRET + "x"),
    "empty secret's": sign(BODY, ""),
    "the secret itself": TEST_WEBHOOK_SECRET,
    "base64 instead of hex": base64.b64encode(bytes.fromhex(RIGHT_SIGNATURE)).decode(),
    "latin-1": "é" * 64,
    "unicode": "✓" * 64,
    "utf-8 read as latin-1": "✓".encode().decode("latin-1") * 21 + "a",
    "very long": "a" * LONG,
    "very long, right one first": RIGHT_SIGNATURE + "a" * LONG,
}


@pytest.mark.parametrize("signature", list(WEBHOOK_REFUSED.values()), ids=list(WEBHOOK_REFUSED))
def test_webhook_refuses_any_other_signature_with_a_json_401(client, redis, compare_calls, signature):
    response = client.post(
        WEBHOOK_URL, data=BODY, content_type="application/json", headers={"X-Magento-Signature": signature}
    )
    assert response.status_code == 401, response.get_data(as_text=True)
    assert set(response.get_json()) == {"error", "message"}
    assert _queued(redis) == 0
    assert Tripwire.compared == []


def test_webhook_signature_is_compared_in_constant_time(client, redis, compare_calls):
    wrong = _same_length_wrong(RIGHT_SIGNATURE)
    headers = {"X-Magento-Signature": wrong}
    assert client.post(WEBHOOK_URL, data=BODY, content_type="application/json", headers=headers).status_code == 401
    assert (RIGHT_SIGNATURE.encode(), wrong.encode()) in compare_calls
    compare_calls.clear()
    headers = {"X-Magento-Signature": RIGHT_SIGNATURE}
    assert client.post(WEBHOOK_URL, data=BODY, content_type="application/json", headers=headers).status_code == 202
    assert (RIGHT_SIGNATURE.encode(), RIGHT_SIGNATURE.encode()) in compare_calls
    assert _queued(redis) == 1
    assert Tripwire.compared == []


# --- body size on the API --------------------------------------------------------------------------------

AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}


def _keys_body(key: str, size: int) -> bytes:
    """A JSON body `{key: ["SKU-000001", ...]}` of at least `size` bytes."""
    count = size // 14 + 1
    return json.dumps({key: [f"SKU-{n:06d}" for n in range(count)]}).encode()


@pytest.mark.parametrize(
    ("path", "key"), [("/api/v1/pos/changes", "products"), ("/api/v1/sync/products", "skus")], ids=["changes", "sync"]
)
def test_api_refuses_a_body_over_1_mib_with_a_json_413(app, redis, path, key):
    body = _keys_body(key, LIMIT_BYTES + 1)
    assert len(body) > LIMIT_BYTES
    response = app.test_client().post(path, data=body, content_type="application/json", headers=AUTH)
    assert response.status_code == 413, response.get_data(as_text=True)[:300]
    assert response.get_json() == {
        "error": "Request Entity Too Large",
        "message": "the body is over the limit of 1048576 bytes (1 MiB)",
    }
    assert _queued(redis) == 0
    assert redis.keys("syncapi:announced:*") == []


SERVER_PASSWORD = "gunicorn-dashboard-pw-7f3a"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The web process under gunicorn at DEBUG, its state tables made; yields (base URL, path of its output)."""
    tmp_path = tmp_path_factory.mktemp("security-server")
    settings = base_settings(tmp_path, LOG_LEVEL="debug", DASHBOARD_USER="ops", DASHBOARD_PASSWORD=SERVER_PASSWORD)
    engine = db.make_engine(settings["POS_DATABASE_URL"])
    upgrade(engine)
    engine.dispose()
    port = _free_port()
    env = dict(os.environ)
    env.update({key: str(value) for key, value in settings.items()})
    env.update({"SYNCAPI_DOTENV": str(tmp_path / "none.env"), "WEB_CONCURRENCY": "1"})
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}", "--log-level", "debug"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still loading the app
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield base, log_path
    finally:
        process.terminate()
        process.wait(timeout=15)


def _chunked(base_url: str, path: str, body: bytes, content_type: str = "application/json"):
    """POST `body` with Transfer-Encoding: chunked (no Content-Length); (status, decoded JSON answer)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Authorization: Bearer {TEST_API_TOKEN}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    piece = 64 * 1024
    chunks = [
        f"{len(body[i : i + piece]):x}\r\n".encode() + body[i : i + piece] + b"\r\n" for i in range(0, len(body), piece)
    ]
    status, _, payload = raw_http(base_url, head, [*chunks, b"0\r\n\r\n"])
    return status, json.loads(payload)


def test_api_body_limit_holds_over_http_with_a_declared_length(server, redis):
    base, _ = server
    body = _keys_body("products", LIMIT_BYTES + 1)
    answer = requests.post(
        f"{base}/api/v1/pos/changes", data=body, headers={**AUTH, "Content-Type": "application/json"}, timeout=30
    )
    assert answer.status_code == 413
    assert answer.json()["message"] == "the body is over the limit of 1048576 bytes (1 MiB)"
    assert _queued(redis) == 0


@pytest.mark.parametrize(
    "body",
    [
        _keys_body("products", LIMIT_BYTES + 1),
        # Valid JSON within the limit, then padding past it: cut at the limit it would parse and be accepted.
        b'{"products": ["SKU-1"]}' + b" " * LIMIT_BYTES,
    ],
    ids=["keys", "valid-prefix"],
)
def test_api_body_limit_holds_over_http_for_chunked_bodies(server, redis, body):
    status, answer = _chunked(server[0], "/api/v1/pos/changes", body)
    assert status == 413, answer
    assert answer == {
        "error": "Request Entity Too Large",
        "message": "the body is over the limit of 1048576 bytes (1 MiB)",
    }
    assert _queued(redis) == 0
    assert redis.keys("syncapi:announced:*") == []


def test_api_reads_chunked_bodies_within_the_limit(server, redis):
    status, answer = _chunked(server[0], "/api/v1/pos/changes", json.dumps({"stock": ["SKU-1", "SKU-2"]}).encode())
    assert status == 202, answer
    assert answer["queued"]["stock"]["announced"] == 2
    status, answer = _chunked(server[0], "/api/v1/sync/stock", b'{"skus": ["SKU-1"]}')
    assert status == 202, answer
    status, answer = _chunked(server[0], "/api/v1/sync/stock", b"skus=SKU-1", "application/x-www-form-urlencoded")
    assert status == 415, answer


# --- gunicorn's access log -------------------------------------------------------------------------------

HEADER_DIRECTIVE = re.compile(r"%\(\{([^}]*)\}([io])\)s")


def _gunicorn_settings() -> dict:
    namespace: dict = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)  # noqa: S102
    return namespace


def test_access_log_format_logs_no_request_headers():
    fmt = _gunicorn_settings()["access_log_format"]
    headers = [name.lower() for name, kind in HEADER_DIRECTIVE.findall(fmt) if kind == "i"]
    assert headers == [], f"the access log prints request headers {headers}: Authorization would be one"
    # Only the request line, status, sizes, timing and the client's address.
    assert set(re.findall(r"%\((\w)\)s", fmt)) <= {"r", "s", "B", "b", "M", "D", "h", "t", "m", "U", "H", "L", "T"}


def test_gunicorn_logs_no_credentials(server, redis):
    """Requests with every kind of credential to the web process under gunicorn at DEBUG: its whole output
    (access log, error log, the app's JSON lines) holds none of them."""
    base, log_path = server
    basic = _basic("ops", SERVER_PASSWORD)
    signature = sign(BODY, TEST_WEBHOOK_SECRET)
    sent = [
        requests.get(f"{base}{API_URL}", headers=AUTH, timeout=10),
        requests.get(f"{base}{API_URL}", headers={"Authorization": "Bearer not-the-token-4417"}, timeout=10),
        requests.get(f"{base}/rq/", headers={"Authorization": basic}, timeout=10),
        requests.get(f"{base}/rq/", headers={"Authorization": _basic("ops", SERVER_PASSWORD + "x")}, timeout=10),
        requests.post(
            f"{base}{WEBHOOK_URL}",
            data=BODY,
            headers={"Content-Type": "application/json", "X-Magento-Signature": signature},
            timeout=10,
        ),
        requests.post(
            f"{base}{WEBHOOK_URL}",
            data=BODY,
            headers={"Content-Type": "application/json", "X-Magento-Signature": "f" * 64},
            timeout=10,
        ),
    ]
    assert [answer.status_code for answer in sent] == [200, 401, 200, 401, 202, 401]
    output = log_path.read_text()
    assert "GET /rq/ HTTP/1.1" in output and '"http_status": 202' in output, output[-2000:]
    for value in (
        TEST_API_TOKEN,
        "not-the-token-4417",
        SERVER_PASSWORD,
        basic.split()[1],
        signature,
        TEST_WEBHOOK_SECRET,
    ):
        assert value not in output, f"{value!r} is in gunicorn's output"


def test_the_tripwire_sees_plain_comparisons(app):
    """The secrets of these tests are tripwires, and a plain comparison either way round trips them."""
    settings = app.extensions["services"].settings
    for value in (settings.api_token, settings.webhook_secret, settings.dashboard_user, settings.dashboard_password):
        assert isinstance(value, Tripwire)
    Tripwire.compared.clear()
    assert settings.api_token == TEST_API_TOKEN
    assert TEST_WEBHOOK_SECRET == settings.webhook_secret  # noqa: SIM300 - the reflected side on purpose
    assert Tripwire.compared == [TEST_API_TOKEN, TEST_WEBHOOK_SECRET]


def fail_quoting_the_magento_token(order_id: int) -> None:
    """A job failing with an exception that quotes a credential, as a client echoing its headers would."""
    raise RuntimeError(
        f"order {order_id}: refused with Authorization: Bearer {services.current().settings.magento_access_token}"
    )


def test_failed_jobs_listing_masks_credentials_in_exceptions(app, redis):
    upgrade(app.extensions["services"].state_engine)
    svc = app.extensions["services"]
    svc.queues.enqueue("default", fail_quoting_the_magento_token, 7, job_id="quoting-7")
    SimpleWorker(["default"], connection=svc.redis).work(burst=True)
    [failed] = app.test_client().get("/api/v1/jobs/failed", headers=AUTH).get_json()
    assert failed["id"] == "quoting-7"
    assert failed["exc"] == "RuntimeError: order 7: refused with Authorization: Bearer ***"
