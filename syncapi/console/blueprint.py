"""The console's blueprint and what every page shares: the session guard, the CSRF check and the navigation.

Each page lives in its own module and registers its views on `bp`; `NAV` lists the pages the header links to,
in order, by endpoint.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, abort, current_app, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")

#: The header's links: (endpoint, label). A page whose module is not mounted is left out.
NAV = (
    ("console.overview", "Overview"),
    ("console.needs_attention", "Needs attention"),
    ("console.runs", "Runs"),
    ("console.find", "Find a record"),
    ("console.trigger", "Sync"),
)


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, its cookie Secure whenever the request itself came over HTTPS."""

    def get_cookie_secure(self, app) -> bool:
        return bool(super().get_cookie_secure(app) or request.is_secure)


@bp.before_request
def _guard():
    if request.endpoint == "console.login":
        return None
    if not session.get("user"):
        return redirect(url_for("console.login"))
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            abort(400, description="the form's CSRF token is missing or wrong; reload the page and try again")
    return None


@bp.app_context_processor
def _shared():
    views = current_app.view_functions
    nav = [(endpoint, label) for endpoint, label in NAV if endpoint in views]
    return {"csrf_token": session.get("csrf", ""), "console_nav": nav}
