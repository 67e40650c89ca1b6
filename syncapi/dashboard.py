"""The RQ dashboard at `/rq`, behind HTTP basic auth (DASHBOARD_USER / DASHBOARD_PASSWORD).

rq-dashboard has no authentication of its own, so every request to its blueprint is checked here first.
Without configured credentials the dashboard is refused, except under `make run` (SYNCAPI_ENV=development)
where it is open. Requests from other sites other than following a link to a page are refused too (its
requeue/delete/empty actions): a browser sends cached basic credentials along with them. An action must show that
it comes from the dashboard's own pages (`Sec-Fetch-Site: same-origin`, or an `Origin` naming this host): one that
shows neither is refused too, since rq-dashboard's JavaScript sends no token that could prove it.

rq-dashboard's job pages insert what its JSON answers hold into the page unescaped (underscore's `<%= %>`), so
those answers are HTML-escaped here, string by string, before they leave (docs/security.md, "The browser").
"""

from __future__ import annotations

import hmac
import json
from html import escape
from urllib.parse import urlsplit

import rq_dashboard
from flask import current_app, request
from rq_dashboard.web import setup_rq_connection

from syncapi import services
from syncapi.errors import error_response

URL_PREFIX = "/rq"
BLUEPRINT_NAME = "rq_dashboard"
REALM = "syncapi dashboard"
#: Dashboard endpoints that change something even on GET.
ACTION_ENDPOINTS = frozenset({f"{BLUEPRINT_NAME}.requeue_all"})
#: Methods that change something.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Fields of rq-dashboard's JSON answers that its templates escape themselves (`$('<div/>').text(...)` or
#: underscore's `<%- %>`), by endpoint: escaping them here too would show `&lt;` on the page.
SELF_ESCAPED_FIELDS = {
    f"{BLUEPRINT_NAME}.list_jobs": frozenset({"description", "exc_info"}),
    f"{BLUEPRINT_NAME}.list_workers": frozenset({"description"}),
}


def init_app(app) -> None:
    """Mount rq-dashboard at /rq on `app`, guarded by basic auth."""
    app.config.from_object(rq_dashboard.default_settings)
    # rq-dashboard 0.9 indexes this setting: a plain string would be read character by character.
    app.config["RQ_DASHBOARD_REDIS_URL"] = [services.of_app(app).settings.redis_url]
    setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=URL_PREFIX)
    app.before_request(_guard)
    app.after_request(_escape_data)


def _guard():
    if request.blueprint != BLUEPRINT_NAME:
        return None

    settings = services.of_app(current_app).settings
    if not (settings.dashboard_user and settings.dashboard_password):
        if settings.development:
            return _same_site_only()
        return _refuse("the dashboard is disabled: set DASHBOARD_USER and DASHBOARD_PASSWORD")
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return _refuse("log in with DASHBOARD_USER and DASHBOARD_PASSWORD")
    # Both compared, whatever the first gives, so the timing says nothing about which one was wrong.
    user_ok = hmac.compare_digest((auth.username or "").encode(), settings.dashboard_user.encode())
    password_ok = hmac.compare_digest((auth.password or "").encode(), settings.dashboard_password.encode())
    if not (user_ok and password_ok):
        return _refuse("wrong dashboard user or password")
    return _same_site_only()


def _same_site_only():
    if request.method in UNSAFE_METHODS or request.endpoint in ACTION_ENDPOINTS:
        if _from_this_origin():
            return None
        return error_response(
            403,
            "the dashboard accepts actions only from its own pages: the request showed no same-origin "
            "'Sec-Fetch-Site' or 'Origin' header",
        )
    if request.headers.get("Sec-Fetch-Site") != "cross-site":
        return None
    # Following a link from elsewhere to a page is fine; anything else from another site (an image or script
    # tag, a fetch of its JSON) is not.
    if request.method == "GET" and request.headers.get("Sec-Fetch-Mode") == "navigate":
        return None
    return error_response(403, "the dashboard does not accept requests from other sites")


def _from_this_origin() -> bool:
    """True when the browser says the request comes from a page of this origin.

    `Sec-Fetch-Site` (every current browser) decides when present; otherwise `Origin` must name this host.
    Without either, nothing shows where the request came from (an old browser, or a script that is not one).
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    # The host and port the browser used; a proxy in front must pass the Host header on (deploy/nginx.conf does).
    return parts.scheme in ("http", "https") and parts.netloc.lower() == request.host.lower()


def _escape_data(response):
    """HTML-escape every string in the dashboard's JSON answers, except those its templates escape themselves."""
    ours = request.blueprint != BLUEPRINT_NAME or response.status_code >= 400  # the guard's own JSON errors
    if ours or response.mimetype != "application/json" or response.is_streamed:
        return response
    try:
        document = json.loads(response.get_data())
    except ValueError:
        return response
    escaped = _escaped(document, SELF_ESCAPED_FIELDS.get(request.endpoint, frozenset()))
    response.set_data(json.dumps(escaped))
    return response


def _escaped(value, keep: frozenset, key: str | None = None):
    if isinstance(value, str):
        return value if key in keep else escape(value)
    if isinstance(value, dict):
        return {name: _escaped(item, keep, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_escaped(item, keep, key) for item in value]
    return value


def _refuse(message: str):
    return error_response(401, message, headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'})
