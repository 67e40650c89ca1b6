"""The operator console at `/console`: a login form with the dashboard credentials (DASHBOARD_USER /
DASHBOARD_PASSWORD; under `make run` without them, `admin` / `dev-dashboard-password`), then its pages, one
module each, every one reading the same state and functions as the JSON API (`blueprint.NAV` lists them).

Server-rendered, no script needed; every action is a POST carrying the session's CSRF token (400 without it,
nothing done). The session cookie is signed, HttpOnly, SameSite=Lax, and Secure when the request came over HTTPS.
Jinja escapes everything shown, so text from Magento or the POS is shown as literal text.
"""

from __future__ import annotations

import hashlib

from syncapi import services
from syncapi.console import attention_pages, auth  # noqa: F401  (each page module registers its views on bp)
from syncapi.console.auth import DEV_PASSWORD, DEV_USER, SESSION_LIFETIME
from syncapi.console.blueprint import ConsoleSessionInterface, bp

__all__ = ["DEV_PASSWORD", "DEV_USER", "init_app"]


def init_app(app) -> None:
    """Mount the console; its session key is derived from the secrets the service already holds."""
    settings = services.of_app(app).settings
    material = f"{settings.dashboard_password or DEV_PASSWORD}\0{settings.api_token or ''}".encode()
    app.secret_key = hashlib.sha256(b"syncapi-console\0" + material).hexdigest()
    app.session_interface = ConsoleSessionInterface()
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME
    )
    app.register_blueprint(bp)
