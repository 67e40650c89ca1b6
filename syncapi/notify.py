"""Posting one alert to an incoming webhook (`ALERT_WEBHOOK_URL`): Slack's and Microsoft Teams' incoming webhooks
both take a JSON body `{"text": "..."}`.

A failure to deliver is logged and answered False, never raised: an alert must not break what raised it. The
URL is a credential (the secret is in its path), so it is never logged.
"""

from __future__ import annotations

import logging

import requests

log = logging.getLogger(__name__)

#: Seconds to connect to, and to wait for, the webhook: an alert is not worth holding a worker for.
CONNECT_TIMEOUT_S = 3
READ_TIMEOUT_S = 5
#: Longest text sent; Slack cuts a message's text at 40,000 characters, Teams at about 28 KB.
MAX_TEXT_CHARS = 3000


def escape(text: str) -> str:
    """Text as Slack reads it literally: `&`, `<` and `>` escaped (Slack, "Formatting text for app surfaces")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def post_alert(url: str, text: str, session: requests.Session | None = None) -> bool:
    """POST `{"text": text}` to `url`; True when the webhook answered 2xx, False (logged) otherwise."""
    if len(text) > MAX_TEXT_CHARS:
        text = text[: MAX_TEXT_CHARS - 1] + "…"
    poster = session or requests
    try:
        response = poster.post(url, json={"text": text}, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S))
    except requests.RequestException as exc:
        log.warning("alert not delivered", extra={"error": type(exc).__name__})
        return False
    if not 200 <= response.status_code < 300:
        log.warning("alert not delivered", extra={"http_status": response.status_code})
        return False
    log.info("alert delivered", extra={"http_status": response.status_code})
    return True
