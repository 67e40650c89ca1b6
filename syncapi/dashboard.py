"""The RQ dashboard at `/rq`, behind HTTP basic auth (DASHBOARD_USER / DASHBOARD_PASSWORD).

rq-dashboard has no authentication of its own, so every request to its blueprint is checked here first.
Without configured credentials the dashboard is refused, except under `make run` (SYNCAPI_ENV=development)
where it is open. Requests from other sites other than following a link to a page are refused too (its
requeue/delete/empty actions): a browser sends cached basic credentials along with them.
"""

from __future__ import annotations

import hmac

import rq_dashboard
from flask import current_app, request
from rq_dashboard.web import setup_rq_connection

from syncapi.errors import error_response

URL_PREFIX = "/rq"
BLUEPRINT_NAME = "rq_dashboard"
REALM = "syncapi dashboard"
#: Dashboard endpoints that change something even on GET.
ACTION_ENDPOINTS = frozenset({f"{BLUEPRINT_NAME}.requeue_all"})


def init_app(app) -> None:
    """Mount rq-dashboard at /rq on `app`, guarded by basic auth."""
    app.config.from_object(rq_dashboard.default_settings)
    # rq-dashboard 0.9 indexes this setting: a plain string would be read character by character.
    app.config["RQ_DASHBOARD_REDIS_URL"] = [app.config["SETTINGS"].redis_url]
    setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=URL_PREFIX)
    app.before_request(_guard)


def _guard():
    if request.blueprint != BLUEPRINT_NAME:
        return None

    settings = current_app.config["SETTINGS"]
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
    if request.headers.get("Sec-Fetch-Site") != "cross-site":
        return None
    # Following a link from elsewhere to a page is fine; anything else from another site (a form post, an
    # image or script tag, a link to the GET that requeues every failed job) is not.
    navigation = request.method == "GET" and request.headers.get("Sec-Fetch-Mode") == "navigate"
    if navigation and request.endpoint not in ACTION_ENDPOINTS:
        return None
    return error_response(403, "the dashboard does not accept requests from other sites")


def _refuse(message: str):
    return error_response(401, message, headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'})
