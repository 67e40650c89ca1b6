"""`/webhooks/magento[/<event_name>]`: authenticate, validate, enqueue, answer (docs/magento-setup.md).

Authentication comes before anything else, routing on the event name included: an unauthenticated request is
answered from the headers and body bytes alone and leaves one counter increment with fixed labels, nothing more.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

from flask import Blueprint, current_app, jsonify, request

from syncapi import metrics, services
from syncapi.config import WEBHOOK_AUTH_ADOBE_IO, WEBHOOK_AUTH_HMAC
from syncapi.errors import error_response
from syncapi.queues import QUEUE_INBOUND, QueueUnavailableError, job_id
from syncapi.state import run_history as store
from syncapi.webhooks import adobe
from syncapi.webhooks.events import OTHER, label
from syncapi.webhooks.parsing import (
    Delivery,
    Ignored,
    WebhookRejectedError,
    parse_event,
    parse_json,
    safe_id,
)
from syncapi.webhooks.signature import SIGNATURE_HEADER, Verifier

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

#: Where the app keeps its webhook intake (verifiers and key cache).
EXTENSION = "webhooks"
#: Media types accepted. No Content-Type at all is accepted too: Mage-OS Async Events 4.x posts its signed
#: CloudEvent as a raw body and sets no Content-Type header.
JSON_MEDIA_TYPES = frozenset({"application/json", "application/cloudevents+json"})
#: Largest webhook body, in bytes: an Adobe I/O Events batch may be 2 MB (the operator API keeps its own limit).
WEBHOOK_MAX_BODY_BYTES = 4 * 1024 * 1024
#: Seconds a sender is asked to wait before retrying after a 503. Mage-OS Async Events 3.3+ and 4.x take a
#: numeric Retry-After as the delay of their next retry, and give up after 5 retries (about a minute in all):
#: a few seconds keeps every retry inside that window. Adobe I/O Events retries on its own schedule.
RETRY_AFTER_S = 5
#: Bytes read from the request stream at a time.
READ_CHUNK_BYTES = 64 * 1024
#: Header Adobe I/O Events puts the event id in.
ADOBE_EVENT_ID_HEADER = "x-adobe-event-id"
#: What an Adobe I/O Events registration challenge may be (Adobe sends a UUID).
CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{1,200}")
#: Metric status of a request refused before it was authenticated (one series per HTTP status, nothing more).
UNAUTHENTICATED = "unauthenticated"


class BodyTooLargeError(Exception):
    """The request body is over the limit; nothing past the limit was read."""


class SenderRetryError(Exception):
    """The delivery cannot be judged just now (a signing key could not be fetched): answer 503, keep nothing."""


@dataclass(frozen=True)
class Intake:
    """What the webhook views check deliveries with, built once per app from its settings."""

    hmac: Verifier | None
    adobe_keys: adobe.KeyStore | None
    adobe_client_id: str | None


def init_app(app) -> None:
    """Register the webhook blueprint on `app` with the signature schemes of its `WEBHOOK_AUTH`."""
    settings = services.of_app(app).settings
    app.extensions[EXTENSION] = Intake(
        hmac=Verifier(settings.webhook_secret) if WEBHOOK_AUTH_HMAC in settings.webhook_auth else None,
        adobe_keys=(
            adobe.KeyStore(settings.adobe_io_key_base_url) if WEBHOOK_AUTH_ADOBE_IO in settings.webhook_auth else None
        ),
        adobe_client_id=settings.adobe_io_client_id,
    )
    app.register_blueprint(bp)


def _count_webhook(event: str, status: str | int) -> None:
    services.of_app(current_app).metrics.count_webhook(event, status)


@bp.before_request
def _webhook_body_limit() -> None:
    request.max_content_length = WEBHOOK_MAX_BODY_BYTES


@bp.get("/magento")
@bp.get("/magento/<event_name>")
def answer_challenge(event_name: str | None = None):
    """Adobe I/O Events' registration check: echo `?challenge=` as `{"challenge": ...}`."""
    value = request.args.get("challenge")
    if value is None:
        return error_response(
            400, "a GET must carry ?challenge=<value> (Adobe I/O Events' registration check); deliveries are POSTs"
        )
    if not CHALLENGE.fullmatch(value):
        return error_response(400, "the challenge must be 1 to 200 letters, digits, '.', '_', '~' or '-'")
    return jsonify(challenge=value)


@bp.post("/magento")
@bp.post("/magento/<event_name>")
def receive_magento(event_name: str | None = None):
    """Queue the import each event of a Magento webhook announces; 202 once the jobs are in Redis."""
    started = time.perf_counter()
    intake: Intake = current_app.extensions[EXTENSION]
    try:
        body, scheme = _authenticated_body(intake)
    except WebhookRejectedError as exc:
        _count_webhook(OTHER, UNAUTHENTICATED if exc.status == 401 else exc.status)
        # Nothing the client chose is kept: no event name from the path, no id from the headers.
        _log(
            logging.WARNING,
            "webhook rejected",
            started,
            Answer(status="rejected", http_status=exc.status, reason=exc.message),
        )
        return error_response(exc.status, exc.message)
    except SenderRetryError as exc:
        _count_webhook(OTHER, 503)
        _log(
            logging.ERROR,
            "webhook not checked",
            started,
            Answer(status="unavailable", http_status=503, reason=str(exc)),
        )
        return _unavailable(str(exc))

    header_id = safe_id(request.headers.get(ADOBE_EVENT_ID_HEADER))
    try:
        document = parse_json(body, allow_batch=scheme == WEBHOOK_AUTH_ADOBE_IO)
        if isinstance(document, list):
            return _receive_batch(intake, document, event_name, started)
        outcome = _checked(intake, scheme, parse_event(document, event_name))
    except WebhookRejectedError as exc:
        return _rejected(exc, header_id, started)
    delivery_id = outcome.delivery_id or header_id
    if isinstance(outcome, Ignored):
        return _ignored(outcome, delivery_id, started)
    try:
        enqueued = _enqueue(outcome, delivery_id)
    except QueueUnavailableError as exc:
        return _queue_unavailable(exc, outcome.event, delivery_id, started)
    _log(
        logging.INFO,
        "webhook",
        started,
        Answer(
            event=outcome.event,
            delivery_id=delivery_id,
            job_id=enqueued.job_id,
            status=enqueued.status,
            http_status=202,
        ),
    )
    return jsonify(status=enqueued.status, job_id=enqueued.job_id), 202


def _receive_batch(intake: Intake, events: list, event_name: str | None, started: float):
    """An Adobe I/O Events batch: queue each good event, record each bad one for the operator, answer once.

    Adobe ignores the body of a 2xx and drops an event answered with a 4xx, so one bad event must not refuse
    the good ones beside it: it goes to the run history, and the reconcile poll imports its record later.
    """
    answers = []
    bad = []
    for index, element in enumerate(events):
        element_id = safe_id(element.get("id")) if isinstance(element, dict) else None
        try:
            outcome = _checked(intake, WEBHOOK_AUTH_ADOBE_IO, parse_event(element, event_name))
        except WebhookRejectedError as exc:
            _count_webhook(label(exc.event), "rejected")
            answers.append({"index": index, "status": "rejected", "message": exc.message})
            bad.append((element_id or f"event {index + 1}", exc.message))
            continue
        if isinstance(outcome, Ignored):
            _count_webhook(OTHER, "ignored")
            answers.append({"index": index, "status": "ignored", "event": outcome.event})
            continue
        try:
            enqueued = _enqueue(outcome, outcome.delivery_id)
        except QueueUnavailableError as exc:
            # Adobe retries the whole batch; what was queued already comes back as duplicates or re-imports.
            return _queue_unavailable(exc, outcome.event, outcome.delivery_id, started)
        answers.append({"index": index, "status": enqueued.status, "job_id": enqueued.job_id})
    if bad:
        _record_bad_events(len(events), bad)
    queued = any(answer["status"] in ("queued", "duplicate") for answer in answers)
    _log(
        logging.WARNING if bad else logging.INFO,
        "webhook batch",
        started,
        Answer(status="batch", http_status=202 if queued else 200),
        events=len(events),
        queued=sum(answer["status"] == "queued" for answer in answers),
        rejected=len(bad),
    )
    return jsonify(status="batch", events=answers), 202 if queued else 200


def _record_bad_events(total: int, bad: list[tuple[str, str]]) -> None:
    """Keep the refused events of a batch in the run history (a failed `sales` run), where operators look."""
    engine = services.of_app(current_app).state_engine
    try:
        run = store.create_run(
            engine, store.KIND_SALES, store.TRIGGER_WEBHOOK, {"delivery": "adobe-io batch", "events": total}
        )
        store.add_errors(engine, run.run_id, bad, failed=len(bad))
        store.finish_run(engine, run.run_id)
    except Exception as exc:  # the good events are queued; the bad ones are in this log line at least
        log.error(
            "batch events not recorded",
            extra={"reason": f"{type(exc).__name__}: {exc}", "errors": [message for _, message in bad]},
        )


def _checked(intake: Intake, scheme: str, outcome: Delivery | Ignored) -> Delivery | Ignored:
    """`outcome`, once an Adobe event is shown to be meant for this service's registration (`ADOBE_IO_CLIENT_ID`)."""
    if scheme == WEBHOOK_AUTH_ADOBE_IO and intake.adobe_client_id and outcome.recipient != intake.adobe_client_id:
        event = outcome.event if isinstance(outcome, Delivery) else None
        raise WebhookRejectedError(
            401, "the event's recipientclientid is not this service's ADOBE_IO_CLIENT_ID", event=event
        )
    return outcome


def _enqueue(delivery: Delivery, delivery_id: str | None):
    return services.of_app(current_app).queues.enqueue(
        QUEUE_INBOUND,
        delivery.route.func,
        delivery.entity_id,
        job_id=job_id(delivery.route.entity, delivery.entity_id),
        meta={"event": delivery.event, "delivery_id": delivery_id},
        counter=metrics.webhook_counter(delivery.event),  # counted in the enqueue's round trip, not another
    )


def _ignored(outcome: Ignored, delivery_id: str | None, started: float):
    _count_webhook(OTHER, "ignored")
    _log(
        logging.INFO,
        "webhook ignored",
        started,
        Answer(event=outcome.event, delivery_id=delivery_id, status="ignored", http_status=200),
    )
    return jsonify(
        status="ignored", message=f"event {outcome.event!r} is not one this service handles; nothing was queued"
    ), 200


def _queue_unavailable(exc: Exception, event: str, delivery_id: str | None, started: float):
    # With Redis unreachable no counter can be stored either.
    _log(
        logging.ERROR,
        "webhook not queued",
        started,
        Answer(event=event, delivery_id=delivery_id, status="unavailable", http_status=503, reason=str(exc)),
    )
    return _unavailable("the job queue cannot be reached, so this delivery was not accepted; send it again later")


def _unavailable(message: str):
    return error_response(503, message, headers={"Retry-After": str(RETRY_AFTER_S)})


def _authenticated_body(intake: Intake) -> tuple[bytes, str]:
    """The raw body and the scheme that authenticated it, once size, media type and signature are right.

    Refusals raise `WebhookRejectedError`; a signing key that cannot be fetched raises `SenderRetryError`.
    """
    limit = WEBHOOK_MAX_BODY_BYTES
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
    signature = request.headers.get(SIGNATURE_HEADER) if intake.hmac else None
    adobe_signed = intake.adobe_keys is not None and any(request.headers.get(h) for h in adobe.SIGNATURE_HEADERS)
    if not signature and not adobe_signed:
        raise WebhookRejectedError(401, _missing_signature_message(intake))
    try:
        body = _read_body(limit)
    except BodyTooLargeError:
        raise WebhookRejectedError(413, _too_large_message(limit)) from None
    if signature:
        if intake.hmac.verify(body, signature):
            return body, WEBHOOK_AUTH_HMAC
        if not adobe_signed:
            raise WebhookRejectedError(
                401, f"wrong {SIGNATURE_HEADER}: sign the exact body bytes with HMAC-SHA256 keyed with WEBHOOK_SECRET"
            )
    verdict = adobe.verify(body, request.headers, intake.adobe_keys)
    if verdict.valid:
        return body, WEBHOOK_AUTH_ADOBE_IO
    if verdict.retry:
        raise SenderRetryError(verdict.message)
    raise WebhookRejectedError(401, verdict.message)


def _missing_signature_message(intake: Intake) -> str:
    wanted = []
    if intake.hmac:
        wanted.append(f"{SIGNATURE_HEADER} (hex HMAC-SHA256 of the body)")
    if intake.adobe_keys:
        wanted.append("x-adobe-digital-signature-1/-2 (Adobe I/O Events)")
    return "missing signature: " + " or ".join(wanted)


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


def _rejected(exc: WebhookRejectedError, delivery_id: str | None, started: float):
    """Answer an authenticated delivery the service refuses; its event is named in the log, labelled in metrics."""
    _count_webhook(label(exc.event), "rejected")
    _log(
        logging.WARNING,
        "webhook rejected",
        started,
        Answer(event=exc.event, delivery_id=delivery_id, status="rejected", http_status=exc.status, reason=exc.message),
    )
    return error_response(exc.status, exc.message)


@dataclass(frozen=True)
class Answer:
    """What one webhook request came to: the fields every webhook log line carries."""

    status: str
    http_status: int
    event: str | None = None
    delivery_id: str | None = None
    job_id: str | None = None
    #: Why it was refused or not queued; left out of the line when there is none.
    reason: str | None = None


def _log(level: int, message: str, started: float, answer: Answer, **more) -> None:
    """One JSON log line per webhook, with the ids as fields; never the signature or the secret."""
    fields = {
        "event": answer.event,
        "delivery_id": answer.delivery_id,
        "job_id": answer.job_id,
        "status": answer.status,
        "http_status": answer.http_status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        **more,
    }
    if answer.reason is not None:
        fields["reason"] = answer.reason
    log.log(level, message, extra=fields)
