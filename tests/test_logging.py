"""The JSON log handler (`syncapi.logs`): one JSON object a line, ids as fields, and secrets masked wherever a
record carries them: message, arguments, extra fields of any type, tracebacks."""

from __future__ import annotations

import dataclasses
import io
import json
import logging

import pytest

from syncapi import logs
from syncapi.config import Settings

WEBHOOK_SECRET = "whsec-Zq81mVx0PkR4"
API_TOKEN = "api-token-7TgW2n5Lq"
DASHBOARD_PASSWORD = 'pa"ss\\wörd-1'
MAGENTO_TOKEN = "k3j5h2g7f8d9s0a1q2w3e4r5t6y7u8i9"
REDIS_PASSWORD = "r3dis-pw-Lk29"
DATABASE_PASSWORD = "pg-pw-Qx81"


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env(
        environ={},
        overrides={
            "REDIS_URL": f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0",
            "POS_DATABASE_URL": f"postgresql+psycopg://pos:{DATABASE_PASSWORD}@db.internal/pos",
            "MAGENTO_BASE_URL": "https://shop.example.com",
            "MAGENTO_AUTH": "bearer",
            "MAGENTO_ACCESS_TOKEN": MAGENTO_TOKEN,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "API_TOKEN": API_TOKEN,
            "DASHBOARD_USER": "operator",
            "DASHBOARD_PASSWORD": DASHBOARD_PASSWORD,
            "LOG_LEVEL": "debug",
        },
    )


@pytest.fixture
def logged(settings):
    """A buffer receiving the root logger's output through the service's handler; restored afterwards."""
    root = logging.getLogger()
    level = root.level
    buffer = io.StringIO()
    logs.configure(settings, stream=buffer)
    yield buffer
    for handler in list(root.handlers):
        if getattr(handler, "_syncapi", False):
            root.removeHandler(handler)
    root.setLevel(level)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


ALL_SECRETS = [WEBHOOK_SECRET, API_TOKEN, DASHBOARD_PASSWORD, MAGENTO_TOKEN, REDIS_PASSWORD, DATABASE_PASSWORD]


def assert_no_secret(text: str) -> None:
    for secret in ALL_SECRETS:
        for form in {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1]}:
            assert form not in text, f"{secret!r} logged as {form!r}"


def test_one_json_object_per_line_with_fields(logged):
    logging.getLogger("syncapi.test").info("webhook %s", "queued", extra={"job_id": "order-1", "count": 3})
    [event] = lines(logged)
    assert event["level"] == "info"
    assert event["logger"] == "syncapi.test"
    assert event["message"] == "webhook queued"
    assert event["job_id"] == "order-1" and event["count"] == 3
    assert event["time"].endswith("Z")


def test_configure_twice_keeps_one_handler(settings, logged):
    logs.configure(settings, stream=logged)
    logging.getLogger("syncapi.test").warning("once")
    assert [e["message"] for e in lines(logged)] == ["once"]


def test_alembic_plugin_chatter_is_kept_below_info(settings, logged):
    """alembic names each plugin it sets up when a process first reads a schema revision: not an operator's line
    (shown again under LOG_LEVEL=debug)."""
    chatter = logging.getLogger("alembic.runtime.plugins")
    assert chatter.isEnabledFor(logging.DEBUG)  # these settings log at debug
    logs.configure(dataclasses.replace(settings, log_level="info"), stream=logged)
    assert not chatter.isEnabledFor(logging.INFO)
    chatter.info("setup plugin alembic.autogenerate.schemas")
    chatter.warning("still shown")
    assert [(e["logger"], e["message"]) for e in lines(logged)] == [("alembic.runtime.plugins", "still shown")]


def test_secrets_in_the_message_and_its_arguments_are_masked(logged):
    log = logging.getLogger("syncapi.test")
    log.info(f"token {API_TOKEN} and secret {WEBHOOK_SECRET}")
    log.warning("password %s, magento %r", DASHBOARD_PASSWORD, MAGENTO_TOKEN)
    text = logged.getvalue()
    assert_no_secret(text)
    assert [e["message"] for e in lines(logged)] == ["token *** and secret ***", "password ***, magento '***'"]


def test_secrets_in_extra_fields_of_any_type_are_masked(logged):
    logging.getLogger("syncapi.test").info(
        "job",
        extra={
            "reason": f"Bearer {MAGENTO_TOKEN}",
            "arguments": [1, f"password={DASHBOARD_PASSWORD}"],
            "kwargs": {"headers": {"Authorization": f"Bearer {API_TOKEN}"}, "n": 2},
            "raw": f"X-Signature-Key {WEBHOOK_SECRET}".encode(),
        },
    )
    assert_no_secret(logged.getvalue())
    [event] = lines(logged)
    assert event["reason"] == "Bearer ***"
    assert event["arguments"] == [1, "password=***"]
    assert event["kwargs"] == {"headers": {"Authorization": "Bearer ***"}, "n": 2}


def test_secrets_in_a_traceback_are_masked(logged):
    try:
        raise RuntimeError(f"Magento refused Authorization: Bearer {MAGENTO_TOKEN}")
    except RuntimeError:
        logging.getLogger("syncapi.test").exception("unhandled error")
    text = logged.getvalue()
    assert_no_secret(text)
    [event] = lines(logged)
    assert "RuntimeError: Magento refused Authorization: Bearer ***" in event["traceback"]


def test_url_passwords_are_masked(logged, settings):
    logging.getLogger("syncapi.test").error(f"cannot reach {settings.redis_url} nor {settings.pos_database_url}")
    assert_no_secret(logged.getvalue())
    [event] = lines(logged)
    assert (
        event["message"]
        == "cannot reach redis://:***@redis.internal:6379/0 nor postgresql+psycopg://pos:***@db.internal/pos"
    )


def test_short_values_are_not_masked_everywhere():
    masked = logs.SecretMaskFilter(["abc", "", None, "long-enough"])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "abc long-enough", None, None)
    masked.filter(record)
    assert record.getMessage() == "abc ***"


def test_a_secret_containing_another_is_masked_whole():
    masked = logs.SecretMaskFilter(["token-1234", "token-1234-extended"])
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a token-1234-extended b", None, None)
    masked.filter(record)
    assert record.getMessage() == "a *** b"
