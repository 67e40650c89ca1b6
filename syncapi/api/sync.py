"""POST /api/v1/sync/<kind> (start a push or pull) and POST /api/v1/pos/changes (the POS announces changes)."""

from __future__ import annotations

from flask import abort, current_app, url_for

from jobs.dispatch import start_sync
from syncapi import services
from syncapi.api import common
from syncapi.api.schemas import (
    ANNOUNCE_KINDS,
    PosChangesAnswerSchema,
    PosChangesSchema,
    StartedRunSchema,
    SyncRequestSchema,
)
from syncapi.run_lifecycle import StartedRun
from syncapi.state.announced import announce
from syncapi.state.run_history import KIND_SALES, RUN_KINDS, SKU_KINDS, TRIGGER_ANNOUNCED, TRIGGER_MANUAL

blp = common.blueprint("sync", __name__, "Start pushes to Magento and pulls from it; announce POS changes.")


def _answer(started: StartedRun) -> dict:
    status_url = url_for("runs.get_run", run_id=started.run_id) if started.run_id is not None else None
    return {"run_id": started.run_id, "job_id": started.job_id, "status": started.status, "status_url": status_url}


@blp.post(
    "/sync/<kind>",
    parameters=[common.path_choice("kind", RUN_KINDS, "what to push to Magento, or `sales` to pull from it")],
)
@blp.arguments(SyncRequestSchema, location="json", required=False)
@blp.response(202, StartedRunSchema)
@blp.alt_response(400, response="BAD_REQUEST")
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
@blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def start(body: dict, kind: str):
    """Start a push (products, stock, prices, categories, customers) or a sales pull now.

    `full` considers every record instead of only what changed since the last run; `skus` (products, stock
    and prices only) limits the run to those SKUs; `force` (not for sales) sends records even when unchanged.
    `full` and `skus` do not go together. A rule broken is a 422.
    """
    if kind not in RUN_KINDS:
        abort(404, description=f"unknown kind {kind!r}; known kinds: {', '.join(RUN_KINDS)}")
    skus = body.get("skus")
    if skus is not None and kind not in SKU_KINDS:
        abort(422, description=f"skus is only accepted for {', '.join(SKU_KINDS)}, not {kind}")
    if skus is not None and body["full"]:
        abort(422, description="give either full or skus, not both")
    if kind == KIND_SALES and body["force"]:
        abort(422, description="force is not accepted for sales")
    svc = services.of_app(current_app)
    started = start_sync(svc, kind, TRIGGER_MANUAL, full=body["full"], keys=skus, force=body["force"])
    return _answer(started)


@blp.post("/pos/changes")
@blp.arguments(PosChangesSchema, location="json")
@blp.response(202, PosChangesAnswerSchema)
@blp.alt_response(400, response="BAD_REQUEST")
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
@blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def pos_changes(body: dict):
    """The POS announces changed records so they reach Magento now, not at the next scheduled push.

    Keys are buffered per kind and one run per kind is queued; announcements arriving while that run waits
    join it. Repeating an announcement is harmless.
    """
    announced = {kind: body[kind] for kind in ANNOUNCE_KINDS if body.get(kind)}
    if not announced:
        abort(400, description=f"announce at least one key in one of: {', '.join(ANNOUNCE_KINDS)}")
    svc = services.of_app(current_app)
    # Every key is buffered before any run starts, so a failure half-way loses nothing: the POS retries
    # and repeated keys collapse in the buffer.
    for kind, keys in announced.items():
        announce(svc.redis, kind, keys)
    queued = {}
    for kind, keys in announced.items():
        started = start_sync(svc, kind, TRIGGER_ANNOUNCED)
        queued[kind] = {**_answer(started), "announced": len(keys)}
    return {"queued": queued}
