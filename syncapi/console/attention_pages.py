"""The "Needs attention" page, read from `syncapi.attention` like `GET /api/v1/attention`, with its Retry, Retry
all like this and Dismiss actions."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for

from jobs.dispatch import start_sync
from jobs.inbound import IMPORT_JOBS
from syncapi import attention, services
from syncapi.console.blueprint import bp
from syncapi.problems import CODES

#: Durations the age filter offers.
AGE_CHOICES = ("", "1h", "1d", "7d")


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
