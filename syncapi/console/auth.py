"""The console's login: the dashboard credentials (DASHBOARD_USER / DASHBOARD_PASSWORD; under `make run` without
them, `admin` / `dev-dashboard-password`) open a signed session cookie carrying a CSRF token."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from flask import current_app, redirect, render_template, request, session, url_for

from syncapi import services
from syncapi.console.blueprint import bp

#: The console's user and password under `make run` when DASHBOARD_USER / DASHBOARD_PASSWORD are not set.
DEV_USER = "admin"
DEV_PASSWORD = "dev-dashboard-password"  # noqa: S105  (public, development only)
#: How long a console session lasts without a new login.
SESSION_LIFETIME = timedelta(hours=8)


def _credentials() -> tuple[str, str] | None:
    settings = services.of_app(current_app).settings
    if settings.dashboard_user and settings.dashboard_password:
        return settings.dashboard_user, settings.dashboard_password
    return (DEV_USER, DEV_PASSWORD) if settings.development else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; the dashboard credentials open a session."""
    expected = _credentials()
    if request.method == "GET":
        return render_template("console/login.html", message=None if expected else _no_credentials())
    user, password = request.form.get("username", ""), request.form.get("password", "")
    if expected is None:
        return render_template("console/login.html", message=_no_credentials()), 401
    same_user = hmac.compare_digest(user.encode(), expected[0].encode())
    same_password = hmac.compare_digest(password.encode(), expected[1].encode())
    if not (same_user and same_password):
        return render_template("console/login.html", message="Wrong username or password."), 401
    session.clear()
    session.permanent = True
    session["user"] = user
    session["csrf"] = secrets.token_urlsafe(32)
    return redirect(url_for("console.needs_attention"))


def _no_credentials() -> str:
    return "The console is closed: set DASHBOARD_USER and DASHBOARD_PASSWORD."


@bp.post("/logout")
def logout():
    """End the session."""
    session.clear()
    return redirect(url_for("console.login"))


@bp.get("/")
def index():
    """The console's first page."""
    return redirect(url_for("console.needs_attention"))
