"""Reading a webhook body: which style it is, which event it names, and the id of the record it announces.

Pure functions on bytes: no Flask, no Redis. Every refusal is a `WebhookRejectedError` carrying the HTTP status
and a message that says what to fix.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Delivery:
    """One accepted webhook: the event, the record it announces and the job that imports it."""

    event: str
    route: EventRoute
    entity_id: int
    style: str
    delivery_id: str | None = None


def parse_delivery(body: bytes, path_event: str | None = None) -> Delivery:
    """The delivery in `body` (raw bytes) posted to the event `path_event` (None for `/webhooks/magento`)."""
    document = _json_object(body)
    if "specversion" in document or "type" in document:
        raw_type = document.get("type")
        adobe = isinstance(raw_type, str) and raw_type.startswith(ADOBE_TYPE_PREFIX)
        style = STYLE_ADOBE if adobe else STYLE_CLOUDEVENTS
        envelope = _load(schemas.ADOBE_EVENT if adobe else schemas.CLOUD_EVENT, document, style)
        body_event = event_name(envelope["type"])
        delivery_id = envelope["id"] or None
        entity = envelope["data"]["value"] if adobe else envelope["data"]
    else:
        style = STYLE_PLAIN
        envelope = _load(schemas.PLAIN_BODY, document, style)
        body_event = None
        delivery_id = None
        entity = envelope["data"]

    name = _resolve_event(body_event, path_event)
    route = EVENTS[name]
    return Delivery(name, route, _entity_id(entity, route, name, style), style, delivery_id)


def _json_object(body: bytes) -> dict:
    try:
        document = jsonlimits.loads(body)  # nesting and number lengths bounded, as on the operator API
    except jsonlimits.JSONLimitError as exc:
        raise WebhookRejectedError(400, f"the body is not JSON this service reads: {exc}") from None
    except ValueError as exc:  # includes UnicodeDecodeError
        raise WebhookRejectedError(400, f"the body is not JSON: {_echo(str(exc))}") from None
    if not isinstance(document, dict):
        kind = type(document).__name__ if document is not None else "null"
        kind = {"list": "an array", "str": "a string", "int": "a number", "float": "a number"}.get(kind, kind)
        raise WebhookRejectedError(400, f"the body must be a JSON object, got {kind}")
    return document


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
            "no event name: send a CloudEvent whose type is the event, or post to /webhooks/magento/<event>; "
            f"known events: {', '.join(KNOWN_EVENTS)}",
        )
    if name not in EVENTS:
        raise WebhookRejectedError(
            422, f"unknown event {_echo(name)!r}; known events: {', '.join(KNOWN_EVENTS)}", event=_echo(name)
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
