"""Logging: one JSON object per line on stdout, with ids as fields, secrets masked and email addresses replaced
(logs carry ids, not customers' personal data: docs/personal-data.md)."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from urllib.parse import unquote, urlsplit

#: `LogRecord` attributes that are not event fields.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
MASK = "***"
#: What an email address in a log line becomes.
EMAIL_MASK = "<email>"
#: An email address as it may appear in any text (a message, a Magento error, a URL, percent-encoded `@` too).
#: Never the user or password of a URL (`redis://:pw@host`): no match starts after `:` or `/`, or mid-word.
EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9.!#$%*+/?^_`{|}~:@-])[A-Za-z0-9.!#$%+?^_`{|}~-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
#: Shorter values are not masked: replacing every "abc" in every line would hide more than it protects.
MIN_SECRET_CHARS = 4


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, then every `extra` field."""

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                event[key] = value
        # exc_text is the traceback as the mask filter left it; format it here only when no filter ran.
        if record.exc_text:
            event["traceback"] = record.exc_text
        elif record.exc_info:
            event["traceback"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str)


class SecretMaskFilter(logging.Filter):
    """Replaces every configured secret value in a record by `***` and every email address by `<email>`,
    whatever logged it: in the message, in extra fields of any type (lists, dicts, bytes, objects), and in the
    traceback."""

    def __init__(self, secrets: list[str | None]):
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                setattr(record, key, self._mask_value(value))
        if record.exc_info and not record.exc_text:
            # Formatted now, so that the formatter prints the masked text rather than formatting it again.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True

    def mask(self, text: str) -> str:
        """`text` with every secret replaced by `***` and every email address by `<email>`."""
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return EMAIL_RE.sub(EMAIL_MASK, text)

    def _mask_value(self, value):
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, bytes | bytearray):
            text = value.decode("utf-8", "replace")
            masked = self.mask(text)
            return masked if masked != text else value
        if isinstance(value, dict):
            return {key: self._mask_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._mask_value(item) for item in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        # Any other object is printed with str() by the formatter: mask that text.
        text = str(value)
        masked = self.mask(text)
        return masked if masked != text else value


def secret_values(settings) -> list[str]:
    """The values that must never be printed: secret settings and the passwords inside URL settings."""
    values = [
        settings.webhook_secret,
        settings.api_token,
        settings.dashboard_password,
        settings.magento_consumer_secret,
        settings.magento_access_token,
        settings.magento_access_token_secret,
        # An incoming-webhook URL is its own credential (Slack and Teams put the secret in the path).
        settings.alert_webhook_url,
    ]
    for url in (settings.redis_url, settings.pos_database_url, settings.state_database_url):
        password = _url_password(url)
        if password:
            # Both forms: as written in the setting (percent-encoded) and as a driver might print it.
            values += [password, unquote(password)]
    return [value for value in values if value]


def _url_password(url: str | None) -> str | None:
    if not url:
        return None
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return None
    userinfo, at, _ = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return None
    return userinfo.split(":", 1)[1] or None


#: Loggers whose info lines tell an operator nothing: alembic names every plugin it sets up each time the
#: health checks read a schema revision. They still log warnings, and everything under LOG_LEVEL=DEBUG.
QUIET_LOGGERS = ("alembic.runtime.plugins",)


def configure(settings, stream=None) -> None:
    """Send all logging to `stream` (stdout) as JSON lines at the configured level, secrets masked."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(SecretMaskFilter(secret_values(settings)))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_syncapi", False):
            root.removeHandler(existing)
    handler._syncapi = True
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING)


def log_startup(settings, process: str) -> None:
    """Log the one start-up line of `process`: its mode (production unless `make run`), and why when
    SYNCAPI_ENV=development was not honoured."""
    fields = settings.startup_fields(process)
    logging.getLogger("syncapi").info(f"syncapi {process} starting in {fields['mode']} mode", extra=fields)
