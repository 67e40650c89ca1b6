"""Marshmallow schemas for the three webhook body styles, and the entity id field.

Unknown keys are excluded on purpose everywhere: CloudEvents allows extension attributes (Adobe adds
`recipientclientid`, `eventid`, ...), and the entity itself is the whole Magento record, of which only the id
matters here (the worker fetches the record fresh from Magento).
"""

from __future__ import annotations

import json
import re

from marshmallow import EXCLUDE, Schema, fields, validate

#: Largest entity id accepted: ids end up in job ids and in BIGINT columns.
MAX_ENTITY_ID = 2**63 - 1
#: Longest event type and delivery id accepted, in characters.
MAX_TYPE_CHARS = 200
MAX_DELIVERY_ID_CHARS = 200

CLOUDEVENTS_SPEC_VERSION = "1.0"

_DIGITS = re.compile(r"[0-9]{1,19}")


class EntityId(fields.Field):
    """A Magento entity id: a positive whole number, given as a JSON number or, as Adobe's observer payloads
    carry model data, as a string of digits."""

    default_error_messages = {
        "invalid": "must be a positive whole number, got {input}",
        "too_large": f"must be at most {MAX_ENTITY_ID}, got {{input}}",
    }

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid", input=_short(value))
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and _DIGITS.fullmatch(value):
            number = int(value)
        else:
            raise self.make_error("invalid", input=_short(value))
        if number < 1:
            raise self.make_error("invalid", input=_short(value))
        if number > MAX_ENTITY_ID:
            raise self.make_error("too_large", input=_short(value))
        return number


class CloudEventSchema(Schema):
    """A CloudEvents 1.0 event in structured JSON mode, as Mage-OS Async Events sends it (`type` = event name)."""

    class Meta:
        unknown = EXCLUDE

    specversion = fields.String(required=True, validate=validate.Equal(CLOUDEVENTS_SPEC_VERSION))
    type = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TYPE_CHARS))
    # Required by the CloudEvents spec but not needed here: a sender that leaves them out loses nothing.
    id = fields.String(load_default=None, validate=validate.Length(max=MAX_DELIVERY_ID_CHARS))
    source = fields.String(load_default=None)
    datacontenttype = fields.String(load_default=None)
    data = fields.Dict(required=True)


class AdobeDataSchema(Schema):
    """The `data` of an Adobe I/O Events for Commerce event: the entity is under `value`."""

    class Meta:
        unknown = EXCLUDE  # Adobe adds `_metadata` and the like beside `value`

    value = fields.Dict(required=True)


class AdobeEventSchema(CloudEventSchema):
    """An Adobe I/O Events for Commerce event: a CloudEvent with `type` `com.adobe.commerce.<event>`."""

    data = fields.Nested(AdobeDataSchema, required=True)
    # The registration's client id; older documentation and Adobe's SDK spell it `recipient_client_id`.
    recipientclientid = fields.String(load_default=None)
    recipient_client_id = fields.String(load_default=None)


class PlainBodySchema(Schema):
    """The plain body of older Mage-OS Async Events releases, `{"data": {...}}`; the event is named by the path."""

    class Meta:
        unknown = EXCLUDE

    data = fields.Dict(required=True)


CLOUD_EVENT = CloudEventSchema()
ADOBE_EVENT = AdobeEventSchema()
PLAIN_BODY = PlainBodySchema()
ENTITY_ID = EntityId()


def flatten_messages(messages, prefix: str = "") -> list[str]:
    """Marshmallow's nested error messages as `field.sub: message` lines."""
    if isinstance(messages, dict):
        lines = []
        for key, value in messages.items():
            name = str(key) if key != "_schema" else ""
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            lines.extend(flatten_messages(value, path))
        return lines
    if isinstance(messages, list):
        return [line for item in messages for line in flatten_messages(item, prefix)]
    return [f"{prefix}: {messages}" if prefix else str(messages)]


def _short(value, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"
