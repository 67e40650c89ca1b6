"""Careless set-ups are refused and stop once: the real processes (gunicorn wsgi:app, the worker, the cron, as the
Procfile runs them) with each bad setting print one line naming it and exit with code 3, quickly and without
restarting anything; development mode needs `make run`'s marker and a loopback bind; each gunicorn has its own
control socket or none. See docs/deployment-checks.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from syncapi.config import (
    EXIT_BAD_SETTINGS,
    Settings,
    SettingsError,
    is_loopback_host,
    is_placeholder,
    weak_secret_problem,
)
from tests.conftest import base_settings
from tests.test_deploy import procfile
from tests.test_foundation import free_port

ROOT = Path(__file__).resolve().parents[1]
#: A bad setting must stop a process well within this (it reads no database and starts nothing first).
STOP_WITHIN_S = 30
STRONG = "Vq3JmZp8Wk2sLx7RtN4c"
#: Settings whose values below are refused, each with what the one line must say.
BAD_SETTINGS = {
    "missing-webhook-secret": ({"WEBHOOK_SECRET": None}, "missing required setting WEBHOOK_SECRET"),
    "placeholder-api-token": ({"API_TOKEN": "change-me"}, "setting API_TOKEN is refused: it is a placeholder"),
    "placeholder-webhook-secret": ({"WEBHOOK_SECRET": "changeme"}, "setting WEBHOOK_SECRET is refused"),
    "short-api-token": ({"API_TOKEN": "x7Q"}, "setting API_TOKEN is refused: it has 3 characters"),
    "short-dashboard-password": (
        {"DASHBOARD_USER": "ops", "DASHBOARD_PASSWORD": "Pw9-short"},
        "setting DASHBOARD_PASSWORD is refused: it has 9 characters, at least 12",
    ),
    "adobe-io-without-client-id": (
        {"WEBHOOK_AUTH": "hmac,adobe-io"},
        "missing required setting ADOBE_IO_CLIENT_ID: WEBHOOK_AUTH includes adobe-io, and an Adobe signature proves",
    ),
    "malformed-interval": ({"SYNC_INTERVAL_STOCK": "often"}, "setting SYNC_INTERVAL_STOCK is invalid"),
    "malformed-order-locations": (
        {"ORDER_LOCATIONS": "base=WEB"},
        "setting ORDER_LOCATIONS is invalid: expected code:LOCATION pairs separated by commas",
    ),
    "development-outside-make-run": (
        {"SYNCAPI_ENV": "development", "WEBHOOK_SECRET": None, "API_TOKEN": None},
        "missing required setting WEBHOOK_SECRET (SYNCAPI_ENV=development ignored: SYNCAPI_MAKE_RUN is not set",
    ),
}


def _command(process: str) -> list[str]:
    program, *arguments = procfile()[process]
    if program == "python":
        return [sys.executable, *arguments]
    return [str(Path(sys.executable).parent / program), *arguments]


def _env(tmp_path, **changes) -> dict:
    """The process environment: no settings of the caller's, the test settings, `changes` (None removes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCAPI_", "HOST", "GUNICORN_"))}
    env.update({k: str(v) for k, v in base_settings(tmp_path).items()})
    env.update(SYNCAPI_DOTENV=str(tmp_path / "none.env"), HOME=str(tmp_path / "home"), PORT=str(free_port()))
    env.update(WEB_CONCURRENCY="1", XDG_RUNTIME_DIR=str(tmp_path / "run"))
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "run").mkdir(exist_ok=True)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@pytest.mark.parametrize("process", ["web", "worker", "cron"])
@pytest.mark.parametrize("case", list(BAD_SETTINGS))
def test_a_bad_setting_stops_the_process_once_with_one_line(process, case, tmp_path, redis):
    changes, expected = BAD_SETTINGS[case]
    started = time.monotonic()
    result = subprocess.run(
        _command(process), cwd=ROOT, env=_env(tmp_path, **changes), capture_output=True, text=True, timeout=60
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_BAD_SETTINGS, output
    assert elapsed < STOP_WITHIN_S, output
    ours = [line for line in output.splitlines() if line.startswith("syncapi:")]
    assert len(ours) == 1 and ours[0].startswith(f"syncapi: {expected}"), output
    assert "Traceback" not in output
    if process == "web":
        # The arbiter stopped before listening: no worker was ever booted, so none could be restarted.
        assert "Booting worker" not in output and "Listening at" not in output, output
    assert redis.keys("rq:worker*") == [] and redis.get("syncapi:cron:lock") is None


def test_without_our_gunicorn_settings_a_worker_that_cannot_load_still_stops_gunicorn_once(tmp_path, redis):
    """A gunicorn started with another config (no start-up check in the arbiter): the worker exits with code 3
    while loading the app, and gunicorn stops with it instead of booting workers again and again."""
    empty = tmp_path / "other.conf.py"
    empty.write_text("")
    env = _env(tmp_path, WEBHOOK_SECRET="change-me")
    command = [*_command("web"), "--config", str(empty), "--bind", f"127.0.0.1:{env['PORT']}"]
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_BAD_SETTINGS, output
    assert time.monotonic() - started < STOP_WITHIN_S
    assert output.count("Booting worker") == 1, output
    ours = [line for line in output.splitlines() if line.startswith("syncapi:")]
    assert ours == ["syncapi: setting WEBHOOK_SECRET is refused: it is a placeholder or example value, not a secret"
                    " (see docs/deployment-checks.md)"]  # fmt: skip


def _start_web(env) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        _command("web"), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    _wait_until_up(process, base)
    return process, base


def _wait_until_up(process: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stdout.read())
        try:
            if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("gunicorn did not answer: " + process.communicate()[0])


def _stop(process: subprocess.Popen) -> str:
    process.terminate()
    return process.communicate(timeout=30)[0]


def _startup_line(output: str) -> dict:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"role"' in line]
    [line] = lines
    return line


def test_development_mode_under_make_run_only(tmp_path, redis):
    """make run's marker and a loopback HOST open the dashboard with dev secrets; a public bind runs production."""
    development = {"SYNCAPI_ENV": "development", "SYNCAPI_MAKE_RUN": "1", "HOST": "127.0.0.1"}
    env = _env(tmp_path, **development, WEBHOOK_SECRET=None, API_TOKEN=None)
    process, base = _start_web(env)
    try:
        assert requests.get(f"{base}/rq/", timeout=10).status_code == 200
        assert (
            requests.get(
                f"{base}/api/v1/jobs/failed", headers={"Authorization": "Bearer dev-api-token"}, timeout=10
            ).status_code
            == 200
        )
    finally:
        output = _stop(process)
    assert _startup_line(output) | {"time": None} == {
        "time": None,
        "level": "info",
        "logger": "syncapi",
        "message": "syncapi web starting in development mode",
        "role": "web",
        "mode": "development",
    }
    # The same, listening on every interface (a --bind on the command line wins over HOST): production.
    env = _env(tmp_path, **development, WEBHOOK_SECRET=STRONG, API_TOKEN=STRONG[::-1])
    process = subprocess.Popen(
        [*_command("web"), "--bind", f"0.0.0.0:{env['PORT']}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        _wait_until_up(process, base)
        assert requests.get(f"{base}/rq/", timeout=10).status_code == 401
        dev_token = {"Authorization": "Bearer dev-api-token"}
        assert requests.get(f"{base}/api/v1/jobs/failed", headers=dev_token, timeout=10).status_code == 401
    finally:
        output = _stop(process)
    line = _startup_line(output)
    assert line["mode"] == "production" and "HOST 0.0.0.0 is not a loopback address" in line["mode_reason"]


def test_worker_and_cron_say_their_mode_on_start(tmp_path, redis):
    env = _env(tmp_path, SYNCAPI_ENV="development", SYNCAPI_MAKE_RUN="1")
    result = subprocess.run(
        [*_command("worker"), "--burst", "--processes", "1"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    line = _startup_line(result.stdout + result.stderr)
    assert (line["role"], line["mode"]) == ("worker", "production")
    assert "HOST unset" in line["mode_reason"]


def test_each_gunicorn_has_its_own_control_socket_or_none(tmp_path, redis):
    shared_default = [tmp_path / "home" / ".gunicorn" / "gunicorn.ctl", tmp_path / "run" / "gunicorn.ctl"]
    first, _ = _start_web(_env(tmp_path))
    second, _ = _start_web(_env(tmp_path))
    try:
        assert not any(path.exists() for path in shared_default)
    finally:
        _stop(first), _stop(second)
    own = tmp_path / "run" / "web-a.ctl"
    process, _ = _start_web(_env(tmp_path, GUNICORN_CONTROL_SOCKET=str(own)))
    try:
        deadline = time.monotonic() + 20
        while not own.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert own.is_socket()
    finally:
        _stop(process)


# --- the rules themselves ------------------------------------------------------------------------------------


def _settings(**changes) -> dict:
    values = {
        "MAGENTO_BASE_URL": "https://shop.example.com",
        "MAGENTO_AUTH": "bearer",
        "MAGENTO_ACCESS_TOKEN": "a-magento-token",
        "WEBHOOK_SECRET": STRONG,
        "API_TOKEN": STRONG[::-1],
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


@pytest.mark.parametrize(
    "value",
    ["change-me", "changeme", "CHANGE_ME", "secret", "password", "Password", "dev-webhook-secret", "dev-api-token",
     "change-me-please-0123456789", "replace-with-a-long-random-value", "correct horse battery staple"],
)  # fmt: skip
@pytest.mark.parametrize("name", ["WEBHOOK_SECRET", "API_TOKEN", "DASHBOARD_PASSWORD"])
def test_placeholders_are_refused_in_production(name, value):
    assert is_placeholder(value)
    with pytest.raises(SettingsError, match=f"^setting {name} is refused: it is a placeholder"):
        Settings.from_env(_settings(**{"DASHBOARD_USER": "ops", "DASHBOARD_PASSWORD": STRONG, name: value}))


@pytest.mark.parametrize(
    ("name", "short", "long_enough"),
    [
        ("WEBHOOK_SECRET", "k" + "Zx9Lm2Qp7Wv4Rs", "k" + "Zx9Lm2Qp7Wv4Rs3"),
        ("API_TOKEN", "Zx9Lm2Qp7Wv4Rs3", "Zx9Lm2Qp7Wv4Rs3T"),
        ("DASHBOARD_PASSWORD", "Zx9Lm2Qp7Wv", "Zx9Lm2Qp7Wv4"),
    ],
)
def test_short_secrets_are_refused_at_the_limit(name, short, long_enough):
    base = {"DASHBOARD_USER": "ops", "DASHBOARD_PASSWORD": STRONG}
    with pytest.raises(SettingsError, match=f"^setting {name} is refused: it has {len(short)} characters"):
        Settings.from_env(_settings(**{**base, name: short}))
    assert getattr(Settings.from_env(_settings(**{**base, name: long_enough})), name.lower()) == long_enough


def test_a_repeated_character_is_no_secret():
    assert weak_secret_problem("a" * 40, 16) == "it repeats too few characters to be a secret"
    assert weak_secret_problem(STRONG, 16) is None


def test_a_placeholder_database_password_is_refused():
    url = "postgresql+psycopg://syncapi:change-me-db-password@postgres:5432/syncapi"
    with pytest.raises(SettingsError, match=r"^setting POS_DATABASE_URL is refused: its password is a placeholder"):
        Settings.from_env(_settings(POS_DATABASE_URL=url))


@pytest.mark.parametrize(
    ("environ", "development"),
    [
        ({"SYNCAPI_ENV": "development", "SYNCAPI_MAKE_RUN": "1", "HOST": "127.0.0.1"}, True),
        ({"SYNCAPI_ENV": "development", "SYNCAPI_MAKE_RUN": "1", "HOST": "::1"}, True),
        ({"SYNCAPI_ENV": "development", "SYNCAPI_MAKE_RUN": "1", "HOST": "localhost"}, True),
        ({"SYNCAPI_ENV": "development", "SYNCAPI_MAKE_RUN": "1", "HOST": "0.0.0.0"}, False),  # noqa: S104
        ({"SYNCAPI_ENV": "development", "SYNCAPI_MAKE_RUN": "1", "HOST": "10.0.0.5"}, False),
        ({"SYNCAPI_ENV": "development", "SYNCAPI_MAKE_RUN": "1", "HOST": "127.0.0.1,0.0.0.0"}, False),
        ({"SYNCAPI_ENV": "development", "SYNCAPI_MAKE_RUN": "1", "HOST": "unix:/run/x.sock"}, False),
        ({"SYNCAPI_ENV": "development", "SYNCAPI_MAKE_RUN": "1"}, False),
        ({"SYNCAPI_ENV": "development", "HOST": "127.0.0.1"}, False),
        ({"SYNCAPI_ENV": "development", "SYNCAPI_MAKE_RUN": "0", "HOST": "127.0.0.1"}, False),
        ({"SYNCAPI_MAKE_RUN": "1", "HOST": "127.0.0.1"}, False),
    ],
)
def test_development_mode_needs_the_marker_and_a_loopback_host(environ, development):
    settings = Settings.from_env(_settings(**environ))
    assert settings.development is development
    assert settings.mode == ("development" if development else "production")
    # In production the dev defaults are never filled in, nor are weak secrets accepted.
    if not development:
        assert settings.webhook_secret == STRONG
        with pytest.raises(SettingsError, match="WEBHOOK_SECRET is refused"):
            Settings.from_env(_settings(**environ, WEBHOOK_SECRET="dev-webhook-secret"))
    else:
        assert Settings.from_env(_settings(**environ, WEBHOOK_SECRET="dev-webhook-secret")).development


def test_loopback_hosts():
    assert is_loopback_host("127.0.0.1") and is_loopback_host("127.1.2.3") and is_loopback_host("[::1]")
    assert not is_loopback_host(None) and not is_loopback_host("") and not is_loopback_host("::")
    assert not is_loopback_host("example.com") and not is_loopback_host("192.168.1.2")
