"""Reading a webhook body: which style it is, which event it names, and the id of the record it announces.

Pure functions on bytes: no Flask, no Redis. Every refusal is a `WebhookRejectedError` carrying the HTTP status
and a message that says what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from marshmallow import ValidationError

from syncapi import jsonlimits
from syncapi.webhooks import schemas
from syncapi.webhooks.events import ADOBE_TYPE_PREFIX, EVENTS, KNOWN_EVENTS, EventRoute, event_name

STYLE_CLOUDEVENTS = "cloudevents"
STYLE_ADOBE = "adobe"
STYLE_PLAIN = "plain"

#: Longest piece of client input repeated in an error message, in characters.
ECHO_CHARS = 100


class WebhookRejectedError(Exception):
    """A delivery the service refuses: `status` is the HTTP status to answer, `message` says what to fix."""

    def __init__(self, status: int, message: str, event: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.event = event


#: What a delivery or event id taken from a request must look like before it is kept anywhere (logs, job meta,
#: which the dashboard shows): UUIDs and the like, nothing that could be markup.
DELIVERY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
#: Most events in one Adobe I/O Events batch delivery (Adobe sends up to 20).
MAX_BATCH_EVENTS = 20
#: Where to subscribe an event whose body names none (Mage-OS Async Events 2.x and 3.x).
PER_EVENT_URL = "/webhooks/magento/<event name>"


@dataclass(frozen=True)
class Delivery:
    """One accepted webhook: the event, the record it announces and the job that imports it."""

    event: str
    route: EventRoute
    entity_id: int
    style: str
    delivery_id: str | None = None
    recipient: str | None = None
    """Adobe I/O Events: the client id of the registration the event was sent for (`recipientclientid`)."""


@dataclass(frozen=True)
class Ignored:
    """A well-formed event of a kind the service does not handle; `event` is cut to `ECHO_CHARS` for the log."""

    event: str
    delivery_id: str | None = None
    recipient: str | None = None


def safe_id(value) -> str | None:
    """`value` when it is an id of the expected form (`DELIVERY_ID`), else None: unchecked ids are never kept."""
    return value if isinstance(value, str) and DELIVERY_ID.fullmatch(value) else None


def parse_json(body: bytes, allow_batch: bool = False) -> dict | list:
    """The JSON document in `body`: an object, or with `allow_batch` also an array of up to `MAX_BATCH_EVENTS`."""
    try:
        document = jsonlimits.loads(body)  # nesting and number lengths bounded, as on the operator API
    except jsonlimits.JSONLimitError as exc:
        raise WebhookRejectedError(400, f"the body is not JSON this service reads: {exc}") from None
    except ValueError as exc:  # includes UnicodeDecodeError
        raise WebhookRejectedError(400, f"the body is not JSON: {_echo(str(exc))}") from None
    if allow_batch and isinstance(document, list):
        if not document:
            raise WebhookRejectedError(400, "the batch delivery holds no events")
        if len(document) > MAX_BATCH_EVENTS:
            raise WebhookRejectedError(
                400, f"a batch delivery holds at most {MAX_BATCH_EVENTS} events, got {len(document)}"
            )
        return document
    if not isinstance(document, dict):
        raise WebhookRejectedError(400, f"the body must be a JSON object, got {_kind(document)}")
    return document


def parse_delivery(body: bytes, path_event: str | None = None) -> Delivery | Ignored:
    """The delivery in `body` (raw bytes) posted to the event `path_event` (None for `/webhooks/magento`)."""
    return parse_event(parse_json(body), path_event)


def parse_event(document, path_event: str | None = None) -> Delivery | Ignored:
    """The delivery one JSON event `document` announces; `Ignored` for a well-formed event not handled here."""
    if not isinstance(document, dict):
        raise WebhookRejectedError(400, f"an event must be a JSON object, got {_kind(document)}")
    recipient = None
    if "specversion" in document or "type" in document:
        raw_type = document.get("type")
        adobe = isinstance(raw_type, str) and raw_type.startswith(ADOBE_TYPE_PREFIX)
        style = STYLE_ADOBE if adobe else STYLE_CLOUDEVENTS
        envelope = _load(schemas.ADOBE_EVENT if adobe else schemas.CLOUD_EVENT, document, style)
        body_event = event_name(envelope["type"])
        delivery_id = safe_id(envelope["id"])
        entity = envelope["data"]["value"] if adobe else envelope["data"]
        if adobe:
            recipient = envelope["recipientclientid"] or envelope["recipient_client_id"]
    else:
        style = STYLE_PLAIN
        envelope = _load(schemas.PLAIN_BODY, document, style)
        body_event = None
        delivery_id = None
        entity = envelope["data"]

    name = _resolve_event(body_event, path_event)
    if name not in EVENTS:
        return Ignored(_echo(name), delivery_id, recipient)
    route = EVENTS[name]
    return Delivery(name, route, _entity_id(entity, route, name, style), style, delivery_id, recipient)


def _kind(document) -> str:
    if document is None:
        return "null"
    names = {"list": "an array", "str": "a string", "int": "a number", "float": "a number"}
    return names.get(type(document).__name__, type(document).__name__)


_STYLE_NAMES = {
    STYLE_CLOUDEVENTS: "a CloudEvents 1.0 event (structured JSON)",
    STYLE_ADOBE: "an Adobe I/O Events for Commerce event",
    STYLE_PLAIN: 'a body of the form {"data": {...}}',
}


def _load(schema, document: dict, style: str) -> dict:
    try:
        return schema.load(document)
    except ValidationError as exc:
        problems = "; ".join(schemas.flatten_messages(exc.messages))
        raise WebhookRejectedError(400, f"the body is not {_STYLE_NAMES[style]}: {_echo(problems, 300)}") from None


def _resolve_event(body_event: str | None, path_event: str | None) -> str:
    path_name = event_name(path_event) if path_event else None
    if body_event and path_name and body_event != path_name:
        raise WebhookRejectedError(
            422,
            f"the path names event {_echo(path_name)!r} but the body names {_echo(body_event)!r}; post to "
            f"/webhooks/magento, or to /webhooks/magento/<the body's event>",
            event=body_event,
        )
    name = body_event or path_name
    if name is None:
        raise WebhookRejectedError(
            422,
            'a {"data": ...} body names no event (Mage-OS Async Events 2.x and 3.x send none): subscribe each '
            f"event with its own URL, {PER_EVENT_URL}, e.g. /webhooks/magento/sales.order.created; "
            f"events handled: {', '.join(KNOWN_EVENTS)}",
        )
    return name


def _entity_id(entity: dict, route: EventRoute, event: str, style: str) -> int:
    container = "data.value" if style == STYLE_ADOBE else "data"
    for key in route.id_keys:
        value = entity.get(key)
        if value is None:
            continue
        try:
            return schemas.ENTITY_ID.deserialize(value)
        except ValidationError as exc:
            problem = "; ".join(schemas.flatten_messages(exc.messages))
            raise WebhookRejectedError(400, f"{container}.{key} {problem}", event=event) from None
    keys = " or ".join(f"{container}.{key}" for key in route.id_keys)
    raise WebhookRejectedError(400, f"no {route.entity} id: event {event} needs {keys}", event=event)


def _echo(text: str, limit: int = ECHO_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
