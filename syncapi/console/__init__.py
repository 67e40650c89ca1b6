"""The operator console at `/console`: a login form with the dashboard credentials (DASHBOARD_USER /
DASHBOARD_PASSWORD; under `make run` without them, `admin` / `dev-dashboard-password`), then the "Needs
attention" page, read from `syncapi.attention` like `GET /api/v1/attention`, with its Retry, Retry all like
this and Dismiss actions.

Server-rendered, no script needed; every action is a POST carrying the session's CSRF token (400 without it,
nothing done). The session cookie is signed, HttpOnly, SameSite=Lax, and Secure when the request came over HTTPS.
Jinja escapes everything shown, so text from Magento or the POS is shown as literal text.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from jobs.dispatch import start_sync
from jobs.inbound import IMPORT_JOBS
from syncapi import attention, services
from syncapi.problems import CODES

#: The console's user and password under `make run` when DASHBOARD_USER / DASHBOARD_PASSWORD are not set.
DEV_USER = "admin"
DEV_PASSWORD = "dev-dashboard-password"  # noqa: S105  (public, development only)
#: How long a console session lasts without a new login.
SESSION_LIFETIME = timedelta(hours=8)
#: Durations the age filter offers.
AGE_CHOICES = ("", "1h", "1d", "7d")

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, its cookie Secure whenever the request itself came over HTTPS."""

    def get_cookie_secure(self, app) -> bool:
        return bool(super().get_cookie_secure(app) or request.is_secure)


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


def _credentials() -> tuple[str, str] | None:
    settings = services.of_app(current_app).settings
    if settings.dashboard_user and settings.dashboard_password:
        return settings.dashboard_user, settings.dashboard_password
    return (DEV_USER, DEV_PASSWORD) if settings.development else None


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
def _csrf():
    return {"csrf_token": session.get("csrf", "")}


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


@bp.get("/attention")
def needs_attention():
    """Every record that needs attention, filtered by kind and age."""
    kind = request.args.get("kind") or None
    age = request.args.get("older_than") or None
    if kind is not None and kind not in attention.KINDS:
        abort(400, description=f"unknown kind {kind!r}")
    try:
        older_than = attention.parse_older_than(age)
    except ValueError as exc:
        abort(400, description=str(exc))
    svc = services.of_app(current_app)
    items = attention.items(svc, kind=kind, older_than=older_than)
    return render_template(
        "console/attention.html",
        items=items,
        kinds=attention.KINDS,
        ages=AGE_CHOICES,
        kind=kind or "",
        age=age or "",
        notice=request.args.get("notice"),
    )


@bp.post("/attention/<item_id>/retry")
def retry(item_id: str):
    """Retry one item."""
    svc = services.of_app(current_app)
    try:
        done = attention.retry(svc, item_id, IMPORT_JOBS, start_sync)
    except attention.AttentionNotFoundError as exc:
        return redirect(url_for("console.needs_attention", notice=str(exc)))
    return redirect(url_for("console.needs_attention", notice=f"{item_id}: {done['status']} as job {done['job_id']}"))


@bp.post("/attention/retry")
def retry_all():
    """Retry every item of one code: "Retry all like this"."""
    code = request.form.get("code", "")
    if code not in CODES:
        abort(400, description=f"unknown code {code!r}")
    svc = services.of_app(current_app)
    done = attention.retry_all(svc, code, None, IMPORT_JOBS, start_sync)
    return redirect(url_for("console.needs_attention", notice=f"{done['count']} retried ({code})"))


@bp.post("/attention/<item_id>/dismiss")
def dismiss(item_id: str):
    """Dismiss one item with a note."""
    note = request.form.get("note", "").strip()
    if not note:
        return redirect(url_for("console.needs_attention", notice="Say why in the note to dismiss."))
    svc = services.of_app(current_app)
    try:
        attention.dismiss(svc, item_id, note[:2000])
    except attention.AttentionNotFoundError as exc:
        return redirect(url_for("console.needs_attention", notice=str(exc)))
    return redirect(url_for("console.needs_attention", notice=f"{item_id} dismissed"))
