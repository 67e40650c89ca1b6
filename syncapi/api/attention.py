"""What needs an operator: GET /api/v1/attention, POST /api/v1/attention/<id>/retry, POST /api/v1/attention/retry
(all of one code) and POST /api/v1/attention/<id>/dismiss (`syncapi.attention` holds the list and its actions)."""

from __future__ import annotations

from flask import abort, current_app
from marshmallow import RAISE

from jobs.dispatch import start_sync
from jobs.inbound import IMPORT_JOBS
from syncapi import attention, services
from syncapi.api import common
from syncapi.api.schemas import (
    AttentionItemSchema,
    AttentionQuerySchema,
    AttentionRetriedAllSchema,
    AttentionRetryAllBodySchema,
    AttentionRetrySchema,
    DismissBodySchema,
    DismissedSchema,
)

blp = common.blueprint(
    "attention", __name__, "Records that failed for good or keep being retried, each with its reason and code."
)


@blp.get("/attention")
@blp.arguments(AttentionQuerySchema, location="query", unknown=RAISE)
@blp.response(200, AttentionItemSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def list_items(query: dict):
    """What needs attention, oldest failure first: failed links, failing runs, failed jobs (dismissed ones left
    out until they fail again)."""
    svc = services.of_app(current_app)
    older_than = attention.parse_older_than(query.get("older_than"))
    found = attention.items(svc, kind=query.get("kind"), older_than=older_than, code=query.get("code"))
    return [item.as_dict() for item in found]


@blp.post("/attention/<item_id>/retry")
@blp.response(202, AttentionRetrySchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def retry_one(item_id: str):
    """Queue the item's work again (a record's import, a run of its kind, a failed job)."""
    svc = services.of_app(current_app)
    try:
        return attention.retry(svc, item_id, IMPORT_JOBS, start_sync)
    except attention.AttentionNotFoundError as exc:
        abort(404, description=str(exc))


@blp.post("/attention/retry")
@blp.arguments(AttentionRetryAllBodySchema, unknown=RAISE)
@blp.response(202, AttentionRetriedAllSchema)
@blp.alt_response(400, response="BAD_REQUEST")
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
@blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def retry_like(body: dict):
    """Retry every item of one `code` (and `kind`, when given) that is not dismissed: "retry all like this"."""
    svc = services.of_app(current_app)
    return attention.retry_all(svc, body["code"], body.get("kind"), IMPORT_JOBS, start_sync)


@blp.post("/attention/<item_id>/dismiss")
@blp.arguments(DismissBodySchema, unknown=RAISE)
@blp.response(202, DismissedSchema)
@blp.alt_response(400, response="BAD_REQUEST")
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
@blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def dismiss(body: dict, item_id: str):
    """Hide the item, with a note saying why, until it fails again."""
    svc = services.of_app(current_app)
    try:
        done = attention.dismiss(svc, item_id, body["note"].strip())
    except attention.AttentionNotFoundError as exc:
        abort(404, description=str(exc))
    return {"id": done.item_id, "note": done.note, "dismissed_at": done.dismissed_at}
