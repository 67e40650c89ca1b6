"""`POST /webhooks/magento[/<event_name>]`: authenticate, validate, enqueue, answer (CONTRACT §3)."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, jsonify, request

from syncapi import metrics
from syncapi.errors import error_response
from syncapi.queues import QUEUE_INBOUND, QueueUnavailableError, job_id
from syncapi.webhooks.parsing import WebhookRejectedError, parse_delivery
from syncapi.webhooks.signature import SIGNATURE_HEADER, Verifier

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

#: Where the app keeps its webhook verifier.
EXTENSION = "webhooks"
#: Media types accepted. No Content-Type at all is accepted too: Mage-OS Async Events 4.x posts its signed
#: CloudEvent as a raw body and sets no Content-Type header.
JSON_MEDIA_TYPES = frozenset({"application/json", "application/cloudevents+json"})
#: Seconds a sender is asked to wait before retrying when the queue cannot be reached.
RETRY_AFTER_S = 30
#: Bytes read from the request stream at a time.
READ_CHUNK_BYTES = 64 * 1024
#: Header Adobe I/O Events puts the event id in.
ADOBE_EVENT_ID_HEADER = "x-adobe-event-id"


class BodyTooLargeError(Exception):
    """The request body is over the limit; nothing past the limit was read."""


def init_app(app) -> None:
    """Register the webhook blueprint on `app`, with a verifier keyed by the app's `WEBHOOK_SECRET`."""
    app.extensions[EXTENSION] = Verifier(app.config["SETTINGS"].webhook_secret)
    app.register_blueprint(bp)


@bp.post("/magento")
@bp.post("/magento/<event_name>")
def receive_magento(event_name: str | None = None):
    """Queue the import a Magento webhook announces; 202 once the job is in Redis."""
    started = time.perf_counter()
    try:
        body = _authenticated_body(current_app.extensions[EXTENSION])
        delivery = parse_delivery(body, event_name)
    except WebhookRejectedError as exc:
        return _rejected(exc, exc.event or event_name, started)

    delivery_id = delivery.delivery_id or request.headers.get(ADOBE_EVENT_ID_HEADER)
    try:
        enqueued = current_app.extensions["queues"].enqueue(
            QUEUE_INBOUND,
            delivery.route.func,
            delivery.entity_id,
            job_id=job_id(delivery.route.entity, delivery.entity_id),
            meta={"event": delivery.event, "delivery_id": delivery_id},
            counter=metrics.webhook_counter(delivery.event),  # counted in the enqueue's round trip, not another
        )
    except QueueUnavailableError as exc:
        _log(
            logging.ERROR,
            "webhook not queued",
            started,
            event=delivery.event,
            delivery_id=delivery_id,
            status="unavailable",
            http_status=503,
            reason=str(exc),
        )
        return error_response(
            503,
            "the job queue cannot be reached, so this delivery was not accepted; send it again later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    _log(
        logging.INFO,
        "webhook",
        started,
        event=delivery.event,
        delivery_id=delivery_id,
        job_id=enqueued.job_id,
        status=enqueued.status,
        http_status=202,
        counted=True,
    )
    return jsonify(status=enqueued.status, job_id=enqueued.job_id), 202


def _authenticated_body(verifier: Verifier) -> bytes:
    """The raw body, once its size, media type and signature are right; refusals raise `WebhookRejectedError`."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        raise WebhookRejectedError(413, _too_large_message(limit))
    if request.mimetype and request.mimetype not in JSON_MEDIA_TYPES:
        raise WebhookRejectedError(
            415,
            f"send the body as application/json (or application/cloudevents+json), not {request.mimetype[:100]}",
        )
    charset = request.mimetype_params.get("charset")
    if charset and charset.lower().replace("-", "") != "utf8":
        raise WebhookRejectedError(415, f"send the JSON body as UTF-8, not {charset[:100]}")
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        raise WebhookRejectedError(401, f"missing {SIGNATURE_HEADER} header (hex HMAC-SHA256 of the body)")
    try:
        body = _read_body(limit)
    except BodyTooLargeError:
        raise WebhookRejectedError(413, _too_large_message(limit)) from None
    if not verifier.verify(body, signature):
        raise WebhookRejectedError(
            401, f"wrong {SIGNATURE_HEADER}: sign the exact body bytes with HMAC-SHA256 keyed with WEBHOOK_SECRET"
        )
    return body


def _read_body(limit: int) -> bytes:
    """At most `limit` bytes of body, reading no further than one byte past it; `BodyTooLargeError` beyond.

    With a Content-Length (already checked against `limit`) exactly that many bytes are read, whatever more the
    client sends. Without one (chunked), the server-terminated stream is read directly rather than through
    Werkzeug's maximum-length wrapper, which refuses a body of exactly `limit` bytes.
    """
    length = request.content_length
    if length is None and request.environ.get("wsgi.input_terminated"):
        stream = request.environ["wsgi.input"]
        wanted = limit + 1
    else:
        stream = request.stream
        wanted = length or 0
    chunks = []
    received = 0
    while received < wanted:
        chunk = stream.read(min(READ_CHUNK_BYTES, wanted - received))
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    if received > limit:
        raise BodyTooLargeError
    return b"".join(chunks)


def _too_large_message(limit: int) -> str:
    mib = f" ({limit // 2**20} MiB)" if limit % 2**20 == 0 else ""
    return f"the body is over the limit of {limit} bytes{mib}"


def _rejected(exc: WebhookRejectedError, event: str | None, started: float):
    _log(
        logging.WARNING,
        "webhook rejected",
        started,
        event=event,
        delivery_id=request.headers.get(ADOBE_EVENT_ID_HEADER),
        status="rejected",
        http_status=exc.status,
        reason=exc.message,
    )
    return error_response(exc.status, exc.message)


def _log(
    level: int,
    message: str,
    started: float,
    *,
    event,
    delivery_id,
    status,
    http_status,
    job_id=None,
    reason=None,
    counted: bool = False,
) -> None:
    """One JSON log line per webhook, with the ids as fields; never the signature or the secret."""
    fields = {
        "event": event,
        "delivery_id": delivery_id,
        "job_id": job_id,
        "status": status,
        "http_status": http_status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if reason is not None:
        fields["reason"] = reason
    log.log(level, message, extra=fields)
    # With Redis unreachable the counter could not be stored either; an accepted delivery was counted as queued.
    if status != "unavailable" and not counted:
        metrics.count_webhook(event or "unknown", status or http_status)
