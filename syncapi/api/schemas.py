"""The operator API's bodies and answers, declared once: they validate requests and document the API."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from syncapi.runs import MAX_KEYS
from syncapi.state.links import LINK_ENTITIES, LINK_STATUSES
from syncapi.state.models import KEY_LENGTH
from syncapi.state.runs import MAX_LIST_LIMIT, RUN_KINDS, RUN_STATUSES, TRIGGERS

#: Most failed jobs listed at once.
MAX_FAILED_JOBS_LIMIT = 1000


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be blank")


class Key(fields.Field):
    """A SKU or record id: a non-blank string, or a whole number taken as its digits."""

    default_error_messages = {"invalid": "must be a non-blank string or a whole number, of at most 255 characters"}

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.make_error("invalid")
        text = str(value)
        if not text.strip() or len(text) > KEY_LENGTH:
            raise self.make_error("invalid")
        return text


def _keys(description: str) -> fields.List:
    return fields.List(
        Key(metadata={"type": "string"}),
        validate=validate.Length(max=MAX_KEYS),
        metadata={"description": description},
    )


class StrictBoolean(fields.Boolean):
    """true or false, nothing else ("yes", 1 and "false" are refused)."""

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class ErrorSchema(Schema):
    """Every error answer."""

    error = fields.String(required=True, metadata={"description": "the HTTP status phrase"})
    message = fields.String(required=True, metadata={"description": "what went wrong and what to fix"})


class SyncRequestSchema(Schema):
    """Body of POST /api/v1/sync/<kind> (all optional; an empty body is an incremental run)."""

    class Meta:
        unknown = RAISE

    full = StrictBoolean(load_default=False, metadata={"description": "consider every record, not only changes"})
    skus = fields.List(
        fields.String(validate=[validate.Length(min=1, max=KEY_LENGTH), _not_blank]),
        validate=validate.Length(min=1, max=MAX_KEYS),
        metadata={"description": "only these SKUs (products, stock and prices only)"},
    )
    force = StrictBoolean(
        load_default=False, metadata={"description": "send records even when unchanged since the last push"}
    )


class StartedRunSchema(Schema):
    """A run that was queued (or an equal waiting run it joined: status `duplicate`)."""

    run_id = fields.Integer(allow_none=True)
    job_id = fields.String()
    status = fields.String(metadata={"description": "queued, or duplicate when an equal run was already waiting"})
    status_url = fields.String(allow_none=True, metadata={"description": "GET it to follow the run"})


class CountsSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    failed = fields.Integer()


class RunErrorSchema(Schema):
    key = fields.String(metadata={"description": "the SKU or id concerned (empty when none)"})
    message = fields.String()


class RunSummarySchema(Schema):
    """A run without its error list."""

    run_id = fields.Integer()
    kind = fields.String(metadata={"description": ", ".join(RUN_KINDS)})
    trigger = fields.String(metadata={"description": ", ".join(TRIGGERS)})
    status = fields.String(metadata={"description": ", ".join(RUN_STATUSES)})
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    counts = fields.Nested(CountsSchema)
    error_count = fields.Integer(metadata={"description": "every error, including those beyond the stored ones"})
    reason = fields.String(allow_none=True, metadata={"description": "why it failed, or why it will be retried"})
    attempts = fields.Integer()
    params = fields.Dict()
    job_id = fields.String(allow_none=True)


class RunSchema(RunSummarySchema):
    """A run with its errors (the first 1,000 are kept)."""

    errors = fields.List(fields.Nested(RunErrorSchema))


class RunsQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(validate=validate.OneOf(RUN_KINDS))
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIST_LIMIT))


class PosChangesSchema(Schema):
    """Body of POST /api/v1/pos/changes: what changed in the POS, by kind."""

    class Meta:
        unknown = RAISE

    products = _keys("SKUs whose product data changed")
    stock = _keys("SKUs whose stock changed")
    prices = _keys("SKUs whose prices changed")
    customers = _keys("POS customer ids")
    categories = _keys("POS category ids")


class AnnouncedSchema(StartedRunSchema):
    announced = fields.Integer(metadata={"description": "keys in this announcement"})


class PosChangesAnswerSchema(Schema):
    queued = fields.Dict(
        keys=fields.String(), values=fields.Nested(AnnouncedSchema), metadata={"description": "per kind announced"}
    )


class LinkSchema(Schema):
    entity = fields.String(metadata={"description": ", ".join(LINK_ENTITIES)})
    magento_id = fields.String()
    pos_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": ", ".join(LINK_STATUSES)})
    synced_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)
    attempts = fields.Integer()
    updated_at = fields.DateTime()


class FailedJobsQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    queue = fields.String()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_FAILED_JOBS_LIMIT))


class FailedJobSchema(Schema):
    id = fields.String()
    func = fields.String(allow_none=True)
    args = fields.Raw(metadata={"description": "positional arguments"})
    kwargs = fields.Raw(metadata={"description": "keyword arguments"})
    exc = fields.String(allow_none=True, metadata={"description": "the last line of the exception"})
    failed_at = fields.DateTime(allow_none=True)
    queue = fields.String()
    run_id = fields.Integer(allow_none=True, metadata={"description": "the run a sync job carries"})


class RequeuedSchema(Schema):
    job_id = fields.String()
    queue = fields.String()
    status = fields.String()


class RequeuedAllSchema(Schema):
    requeued = fields.List(fields.String(), metadata={"description": "ids of the jobs queued again"})
    count = fields.Integer()
    skipped = fields.List(fields.String(), metadata={"description": "ids whose job data had expired"})
