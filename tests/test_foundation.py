"""The skeleton: settings, health and readiness, JSON errors, the enqueue helper, the process entry points."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from rq import SimpleWorker
from rq.job import Job

from app import create_app
from syncapi.config import Settings, SettingsError
from syncapi.queues import QUEUE_INBOUND, QueueUnavailableError, job_id
from tests.conftest import TEST_API_TOKEN as API_TOKEN
from tests.conftest import TEST_REDIS_URL, base_settings
from tests.conftest import TEST_WEBHOOK_SECRET as WEBHOOK_SECRET

ROOT = Path(__file__).resolve().parent.parent


def record_call(key: str, value: str) -> str:
    """A job for the tests: writes `value` under `key` in the test Redis database."""
    import redis

    redis.Redis.from_url(TEST_REDIS_URL).rpush(key, value)
    return value


# --- settings -------------------------------------------------------------------------------------


def test_settings_defaults_follow_the_contract():
    settings = Settings.from_env(
        {
            "MAGENTO_BASE_URL": "https://shop.example.com",
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "API_TOKEN": API_TOKEN,
            "MAGENTO_AUTH": "bearer",
            "MAGENTO_ACCESS_TOKEN": "a",
        }
    )
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.pos_database_url == "sqlite:///instance/pos.db"
    assert settings.magento_store_code == "all"
    assert settings.magento_source_code == "default"
    assert settings.pos_location_code == "WEB"
    assert settings.order_write_states == ("complete",)
    assert settings.sync_interval_products_s == 900
    assert settings.sync_interval_stock_s == 300
    assert settings.reconcile_interval_s == 600
    assert settings.push_inactive_products is False
    assert settings.product_create_only_fields == ()
    assert settings.state_url == settings.pos_database_url


@pytest.mark.parametrize(
    ("missing", "environ"),
    [
        ("MAGENTO_BASE_URL", {"WEBHOOK_SECRET": WEBHOOK_SECRET, "API_TOKEN": API_TOKEN}),
        ("WEBHOOK_SECRET", {"MAGENTO_BASE_URL": "http://m", "API_TOKEN": API_TOKEN}),
        ("API_TOKEN", {"MAGENTO_BASE_URL": "http://m", "WEBHOOK_SECRET": WEBHOOK_SECRET}),
        (
            "MAGENTO_CONSUMER_KEY",
            {"MAGENTO_BASE_URL": "http://m", "WEBHOOK_SECRET": WEBHOOK_SECRET, "API_TOKEN": API_TOKEN},
        ),
        (
            "MAGENTO_ACCESS_TOKEN",
            {
                "MAGENTO_BASE_URL": "http://m",
                "WEBHOOK_SECRET": WEBHOOK_SECRET,
                "API_TOKEN": API_TOKEN,
                "MAGENTO_AUTH": "bearer",
            },
        ),
    ],
)
def test_missing_required_setting_is_named(missing, environ):
    with pytest.raises(SettingsError, match=f"missing required setting {missing}$"):
        Settings.from_env(environ)


def test_bad_values_are_refused_with_the_setting_name():
    base = {
        "MAGENTO_BASE_URL": "http://m",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "API_TOKEN": API_TOKEN,
        "MAGENTO_AUTH": "bearer",
        "MAGENTO_ACCESS_TOKEN": "a",
    }
    with pytest.raises(SettingsError, match="SYNC_INTERVAL_STOCK"):
        Settings.from_env({**base, "SYNC_INTERVAL_STOCK": "often"})
    with pytest.raises(SettingsError, match="PUSH_INACTIVE_PRODUCTS"):
        Settings.from_env({**base, "PUSH_INACTIVE_PRODUCTS": "maybe"})
    with pytest.raises(SettingsError, match="MAGENTO_AUTH"):
        Settings.from_env({**base, "MAGENTO_AUTH": "password"})
    with pytest.raises(SettingsError, match="DASHBOARD_USER and DASHBOARD_PASSWORD"):
        Settings.from_env({**base, "DASHBOARD_USER": "ops"})


def test_lists_and_development_defaults():
    settings = Settings.from_env(
        {
            "SYNCAPI_ENV": "development",
            "SYNCAPI_MAKE_RUN": "1",
            "HOST": "127.0.0.1",
            "ORDER_WRITE_STATES": "processing, complete",
            "PRODUCT_CREATE_ONLY_FIELDS": "description,",
        }
    )
    assert settings.order_write_states == ("processing", "complete")
    assert settings.product_create_only_fields == ("description",)
    assert settings.webhook_secret and settings.api_token and settings.magento_base_url


def test_redacted_hides_secrets_and_url_passwords():
    settings = Settings.from_env(
        {
            "MAGENTO_BASE_URL": "http://m",
            "WEBHOOK_SECRET": "hush-hush-0123456789",
            "API_TOKEN": "tok-tok-0123456789",
            "MAGENTO_AUTH": "bearer",
            "MAGENTO_ACCESS_TOKEN": "abc123",
            "REDIS_URL": "redis://:pw123@r:6379/0",
        }
    )
    shown = str(settings.redacted())
    for secret in ("hush-hush-0123456789", "tok-tok-0123456789", "abc123", "pw123"):
        assert secret not in shown


def test_missing_setting_stops_the_process_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAGENTO_", "WEBHOOK_", "API_TOKEN", "SYNCAPI_"))}
    env["SYNCAPI_DOTENV"] = str(tmp_path / "none.env")
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == ["syncapi: missing required setting MAGENTO_BASE_URL"]


# --- health and errors ----------------------------------------------------------------------------


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_ok_when_redis_and_database_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["checks"]["redis"] == {"ok": True}
    assert body["checks"]["pos_database"] == {"ok": True}


def test_readyz_503_names_what_failed(redis, tmp_path):
    application = create_app(base_settings(tmp_path, REDIS_URL="redis://127.0.0.1:1/0"))
    response = application.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["redis"]["ok"] is False
    assert "127.0.0.1:1" in body["checks"]["redis"]["error"]
    assert body["checks"]["pos_database"] == {"ok": True}


def test_readyz_503_when_the_database_fails(redis, tmp_path):
    application = create_app(base_settings(tmp_path, POS_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/x"))
    response = application.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["pos_database"]["ok"] is False


def test_errors_are_json(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"] == "Not Found"
    assert response.get_json()["message"]
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.get_json()["error"] == "Method Not Allowed"


def test_unexpected_exception_is_a_json_500(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaput")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": "Internal Server Error",
        "message": "The server encountered an internal error and was unable to complete your request. Either the "
        "server is overloaded or there is an error in the application.",
    }


# --- queues ---------------------------------------------------------------------------------------


def test_job_ids_are_rq_safe():
    assert job_id("order", 12) == "order-12"
    assert job_id("product", "AB/12 c#") == "product-AB_12_c_"


def test_enqueue_sets_standard_options_and_deduplicates(app, redis):
    queues = app.extensions["services"].queues
    first = queues.enqueue(QUEUE_INBOUND, record_call, "calls", "a", job_id="order-1")
    again = queues.enqueue(QUEUE_INBOUND, record_call, "calls", "b", job_id="order-1")
    assert (first.status, again.status) == ("queued", "duplicate")
    job = Job.fetch("order-1", connection=redis)
    assert job.timeout == app.extensions["services"].settings.job_timeout_s
    assert job.failure_ttl and job.result_ttl and job.ttl
    assert job.failure_callback is not None
    SimpleWorker([queues[QUEUE_INBOUND]], connection=redis).work(burst=True)
    assert redis.lrange("calls", 0, -1) == [b"a"]
    # Once the first has finished, a new event for the same record is queued again, not dropped.
    assert queues.enqueue(QUEUE_INBOUND, record_call, "calls", "c", job_id="order-1").status == "queued"
    SimpleWorker([queues[QUEUE_INBOUND]], connection=redis).work(burst=True)
    assert redis.lrange("calls", 0, -1) == [b"a", b"c"]


def test_enqueue_behind_a_running_job_queues_one_follow_up(app, redis):
    queues = app.extensions["services"].queues
    queues.enqueue(QUEUE_INBOUND, record_call, "calls", "a", job_id="order-2")
    job = Job.fetch("order-2", connection=redis)
    job.set_status("started")
    follow_up = queues.enqueue(QUEUE_INBOUND, record_call, "calls", "b", job_id="order-2")
    assert follow_up.status == "queued"
    assert follow_up.job_id == "order-2-again"
    assert queues.enqueue(QUEUE_INBOUND, record_call, "calls", "c", job_id="order-2").status == "duplicate"


def test_enqueue_without_redis_raises(tmp_path, redis):
    application = create_app(base_settings(tmp_path, REDIS_URL="redis://127.0.0.1:1/0"))
    with pytest.raises(QueueUnavailableError, match=r"127\.0\.0\.1:1"):
        application.extensions["services"].queues.enqueue(QUEUE_INBOUND, record_call, "k", "v", job_id="x-1")


# --- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _process_env(tmp_path) -> dict:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in base_settings(tmp_path).items()})
    env["SYNCAPI_DOTENV"] = str(tmp_path / "none.env")
    return env


def test_worker_process_runs_queued_jobs(app, redis, tmp_path):
    app.extensions["services"].queues.enqueue(QUEUE_INBOUND, record_call, "calls", "from-worker", job_id="w-1")
    result = subprocess.run(
        [sys.executable, "-m", "syncapi.worker", "--burst", "inbound"],
        cwd=ROOT,
        env=_process_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    assert redis.lrange("calls", 0, -1) == [b"from-worker"]


def test_cron_process_is_kept_single(redis, tmp_path):
    env = _process_env(tmp_path)
    first = subprocess.Popen(
        [sys.executable, "-m", "syncapi.cron"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    second = None
    try:
        deadline = time.monotonic() + 30
        while not redis.get("syncapi:cron:lock") and time.monotonic() < deadline:
            time.sleep(0.1)
        owner = redis.get("syncapi:cron:lock")
        assert owner and owner.decode().endswith(f":{first.pid}")
        second = subprocess.Popen(
            [sys.executable, "-m", "syncapi.cron"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # Its start-up takes a while on a loaded machine: wait for it to say it is waiting, then check it stays so.
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(second.stdout), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        while not any("another cron process is scheduling" in line for line in lines) and time.monotonic() < deadline:
            assert second.poll() is None, "".join(lines)
            time.sleep(0.1)
        assert any("another cron process is scheduling" in line for line in lines), "".join(lines)
        time.sleep(1)
        assert second.poll() is None  # waiting, not scheduling and not crashed
        assert redis.get("syncapi:cron:lock") == owner
    finally:
        for process in (first, second):
            if process is not None:
                process.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
        if second is not None:
            second.wait(timeout=30)


def test_gunicorn_serves_healthz(redis, tmp_path):
    env = _process_env(tmp_path)
    port = free_port()
    env["PORT"] = str(port)
    env["WEB_CONCURRENCY"] = "1"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    finally:
        server.terminate()
        server.communicate(timeout=30)
