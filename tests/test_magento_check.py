"""`flask --app app magento check` against a good sandbox and against the ways a set-up goes wrong."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from syncapi import db, services
from syncapi.config import (
    DEV_MAGENTO_ACCESS_TOKEN,
    DEV_MAGENTO_ACCESS_TOKEN_SECRET,
    DEV_MAGENTO_CONSUMER_KEY,
    DEV_MAGENTO_CONSUMER_SECRET,
)
from tests.conftest import TEST_REDIS_URL, base_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run_check(redis, tmp_path, magento):
    """`run_check(*args, **settings)`: the command's exit code and output, for an app on the sandbox."""

    def run(*args: str, **overrides) -> tuple[int, str]:
        settings = base_settings(
            tmp_path,
            MAGENTO_BASE_URL=magento.base_url,
            MAGENTO_AUTH="oauth1",
            MAGENTO_CONSUMER_KEY=DEV_MAGENTO_CONSUMER_KEY,
            MAGENTO_CONSUMER_SECRET=DEV_MAGENTO_CONSUMER_SECRET,
            MAGENTO_ACCESS_TOKEN=DEV_MAGENTO_ACCESS_TOKEN,
            MAGENTO_ACCESS_TOKEN_SECRET=DEV_MAGENTO_ACCESS_TOKEN_SECRET,
            MAGENTO_CONNECT_TIMEOUT=1,
            MAGENTO_READ_TIMEOUT=3,
        )
        settings.update(overrides)
        app = create_app(settings)
        try:
            result = app.test_cli_runner().invoke(args=["magento", "check", "--bulk-timeout", "2", *args])
        finally:
            db.dispose_all()
            services._current = None
        return result.exit_code, result.output

    return run


def lines(output: str, level: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(level)]


def test_check_passes_against_a_working_store(run_check):
    code, output = run_check()
    assert code == 0, output
    assert lines(output, "FAIL") == []
    assert "ok    reach: http://127.0.0.1:" in output
    assert "store views: admin, default" in output
    assert len(lines(output, "ok")) == 11, "reach, nine reads, bulk"
    assert "ok    bulk: async bulk operations run" in output
    assert output.rstrip().endswith("Magento check passed.")


def test_wrong_oauth_secret_is_named_as_a_credentials_problem(run_check, magento):
    magento.configure(consumer_secret="the-store-has-another-secret")
    code, output = run_check()
    assert code == 1
    failures = lines(output, "FAIL")
    assert len(failures) == 1, output
    assert failures[0].startswith(
        "FAIL  credentials: Magento refused the credentials (401: The consumer isn't authorized"
    )
    assert "MAGENTO_CONSUMER_SECRET" in failures[0]
    assert "Magento check failed: 1 problem." in output


def test_bearer_on_a_store_that_does_not_allow_it_explains_the_setting(run_check, magento):
    code, output = run_check(MAGENTO_AUTH="bearer")
    assert code == 1
    assert "oauth/consumer/enable_integration_as_bearer" in output
    assert "MAGENTO_AUTH=oauth1" in output
    magento.configure(allow_bearer=True)
    code, output = run_check(MAGENTO_AUTH="bearer")
    assert code == 0, output


def test_a_missing_api_resource_is_named(run_check, magento):
    magento.configure(denied_resources=["Magento_Sales::sales_invoice", "Magento_Backend::store"])
    code, output = run_check("--no-bulk")
    assert code == 1
    failures = lines(output, "FAIL")
    assert [line.split(":")[0] for line in failures] == ["FAIL  reach", "FAIL  invoices"]
    assert "grant the integration the API resource Magento_Sales::sales_invoice" in failures[1]
    assert "grant the integration the API resource Magento_Backend::store" in failures[0]
    assert "Magento check failed: 2 problems." in output


def test_unreachable_host(run_check):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, output = run_check(MAGENTO_BASE_URL=f"http://127.0.0.1:{port}")
    assert code == 1
    assert lines(output, "FAIL") == [line for line in output.splitlines() if "cannot reach" in line]
    assert f"FAIL  reach: cannot reach http://127.0.0.1:{port}" in output
    assert "Check MAGENTO_BASE_URL" in output


def test_a_url_that_is_not_magento(run_check):
    def shop(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/html")])
        return [b"<html><h1>Page not found</h1></html>"]

    server = make_server("127.0.0.1", 0, shop, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        code, output = run_check(MAGENTO_BASE_URL=f"http://127.0.0.1:{server.server_port}/shop")
    finally:
        server.shutdown()
        thread.join()
    assert code == 1
    assert "no Magento REST API at" in output
    assert "without /rest or /admin" in output


def test_stopped_bulk_consumer_is_reported(run_check, magento):
    magento.configure(consumer_running=False)
    code, output = run_check("--bulk-timeout", "0.5")
    assert code == 1
    assert lines(output, "FAIL") == [
        line for line in output.splitlines() if line.startswith("FAIL  bulk:") and "async.operations.all" in line
    ]
    assert "queue:consumers:start async.operations.all" in output


def test_store_without_bulk_routes_is_a_warning(run_check, magento):
    magento.configure(bulk_enabled=False)
    code, output = run_check()
    assert code == 0, output
    assert lines(output, "warn")[0].startswith("warn  bulk: the async bulk API is not available")
    assert "MAGENTO_USE_BULK=false" in output


def test_magento_check_from_the_command_line(magento, tmp_path):
    env = {
        **os.environ,
        "REDIS_URL": TEST_REDIS_URL,
        "POS_DATABASE_URL": f"sqlite:///{tmp_path / 'pos.db'}",
        "MAGENTO_BASE_URL": magento.base_url,
        "MAGENTO_AUTH": "oauth1",
        "MAGENTO_CONSUMER_KEY": DEV_MAGENTO_CONSUMER_KEY,
        "MAGENTO_CONSUMER_SECRET": DEV_MAGENTO_CONSUMER_SECRET,
        "MAGENTO_ACCESS_TOKEN": DEV_MAGENTO_ACCESS_TOKEN,
        "MAGENTO_ACCESS_TOKEN_SECRET": DEV_MAGENTO_ACCESS_TOKEN_SECRET,
        "WEBHOOK_SECRET": "cli-webhook-secret",
        "API_TOKEN": "cli-api-token-0123456789",
        "SYNCAPI_DOTENV": str(tmp_path / "no.env"),
    }
    command = [sys.executable, "-m", "flask", "--app", "app", "magento", "check", "--bulk-timeout", "2"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Magento check passed." in done.stdout
    magento.configure(access_token="revoked-token")
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "FAIL  credentials" in done.stdout
