"""Logging: one JSON object per line on stdout, with ids as fields and secrets masked."""

from __future__ import annotations

import json
import logging
import sys
import time

#: `LogRecord` attributes that are not event fields.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
MASK = "***"


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
        if record.exc_info:
            event["traceback"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str)


class SecretMaskFilter(logging.Filter):
    """Replaces every configured secret value in a formatted record by `***`, whatever logged it."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        masked = self._mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRS and isinstance(value, str):
                setattr(record, key, self._mask(value))
        return True

    def _mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


def configure(settings, stream=None) -> None:
    """Send all logging to `stream` (stdout) as JSON lines at the configured level, secrets masked."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(
        SecretMaskFilter(
            [
                settings.webhook_secret,
                settings.api_token,
                settings.dashboard_password,
                settings.magento_consumer_secret,
                settings.magento_access_token,
                settings.magento_access_token_secret,
            ]
        )
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_syncapi", False):
            root.removeHandler(existing)
    handler._syncapi = True
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
