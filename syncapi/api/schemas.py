"""The operator API's bodies and answers, declared once: they validate requests and document the API."""

from __future__ import annotations

from apispec import BasePlugin
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from syncapi import problems
from syncapi.attention import KINDS as ATTENTION_KINDS
from syncapi.queues import QUEUE_NAMES
from syncapi.run_lifecycle import MAX_KEYS
from syncapi.state.dismissals import MAX_NOTE_CHARS
from syncapi.state.links import LINK_ENTITIES, LINK_STATUSES
from syncapi.state.models import KEY_LENGTH
from syncapi.state.run_history import MAX_LIST_LIMIT, RUN_KINDS, RUN_STATUSES, TRIGGERS
from syncapi.textcheck import DOT_SEGMENTS, sku_problem

#: Most failed jobs listed at once.
MAX_FAILED_JOBS_LIMIT = 1000
#: The body keys of POST /api/v1/pos/changes, each the kind of run it starts.
ANNOUNCE_KINDS = ("products", "stock", "prices", "customers", "categories", "fulfilments")


def _whitespace_class() -> str:
    """A regex class of the characters `str.strip()` removes, spelled out: `\\s` differs between regex dialects
    (ECMA's leaves out U+0085 and U+001C-U+001F, which Python strips, and adds U+FEFF, which it keeps)."""
    codes = [code for code in range(0x10000) if chr(code).isspace()]
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(f"\\u{a:04x}" + (f"-\\u{b:04x}" if b > a else "") for a, b in ranges)


#: "Not blank" as the OpenAPI document states it: at least one character that `str.strip()` keeps.
NOT_BLANK_PATTERN = f"[^{_whitespace_class()}]"


class SchemaExtrasPlugin(BasePlugin):
    """Adds a schema class's `OPENAPI_EXTRA` to its component: rules across fields that fields cannot state."""

    def schema_helper(self, name, definition, **kwargs):
        """The extra keywords of the marshmallow schema behind component `name`, if it declares any."""
        schema = kwargs.get("schema")
        return dict(getattr(schema, "OPENAPI_EXTRA", None) or {})


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be blank")


def _unicode_text(value: str) -> bool:
    """False for text JSON can carry but UTF-8 cannot (a lone surrogate escape such as "\\ud800")."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _valid_unicode(value: str) -> None:
    if not _unicode_text(value):
        raise ValidationError("must be valid Unicode text (no lone surrogate escapes)")


class Key(fields.Field):
    """A SKU or record id: a non-blank string, or a whole number taken as its digits."""

    default_error_messages = {"invalid": "must be a non-blank string or a whole number, of at most 255 characters"}
    #: How the OpenAPI document describes it.
    OPENAPI = {
        "anyOf": [
            {"type": "string", "minLength": 1, "maxLength": KEY_LENGTH, "pattern": NOT_BLANK_PATTERN},
            {"type": "integer"},
        ]
    }

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.make_error("invalid")
        text = str(value)
        if not text.strip() or len(text) > KEY_LENGTH or not _unicode_text(text):
            raise self.make_error("invalid")
        return text


#: What a SKU may not hold, as a JSON-schema pattern: `/` and control characters (Unicode category Cc).
SKU_CHARS_PATTERN = "^[^/\\u0000-\\u001f\\u007f-\\u009f]*$"


def _sku_rule(value: str) -> None:
    problem = sku_problem(value)
    if problem:
        raise ValidationError(problem)


class Sku(Key):
    """A SKU: a key that can go into a Magento URL path (not `.` or `..`, no `/`, no control characters)."""

    OPENAPI = {
        "anyOf": [
            {
                "type": "string",
                "minLength": 1,
                "maxLength": KEY_LENGTH,
                "allOf": [{"pattern": NOT_BLANK_PATTERN}, {"pattern": SKU_CHARS_PATTERN}],
                "not": {"enum": sorted(DOT_SEGMENTS)},
            },
            {"type": "integer"},
        ]
    }

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        _sku_rule(text)
        return text


def _keys(description: str, key: type[Key] = Key) -> fields.List:
    return fields.List(
        key(metadata=key.OPENAPI),
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

    #: `full` and `skus` together are refused, as are `check` with `full` or `force` (the view answers 422).
    OPENAPI_EXTRA = {
        "allOf": [
            {"not": {"required": ["full", "skus"], "properties": {"full": {"enum": [True]}}}},
            {
                "not": {
                    "required": ["check", "full"],
                    "properties": {"check": {"enum": [True]}, "full": {"enum": [True]}},
                }
            },
            {
                "not": {
                    "required": ["check", "force"],
                    "properties": {"check": {"enum": [True]}, "force": {"enum": [True]}},
                }
            },
        ]
    }

    full = StrictBoolean(load_default=False, metadata={"description": "consider every record, not only changes"})
    skus = fields.List(
        fields.String(
            validate=[validate.Length(min=1, max=KEY_LENGTH), _not_blank, _valid_unicode, _sku_rule],
            metadata={
                "allOf": [{"pattern": NOT_BLANK_PATTERN}, {"pattern": SKU_CHARS_PATTERN}],
                "not": {"enum": sorted(DOT_SEGMENTS)},
            },
        ),
        validate=validate.Length(min=1, max=MAX_KEYS),
        metadata={"description": "only these SKUs (products, stock and prices only)"},
    )
    force = StrictBoolean(
        load_default=False, metadata={"description": "send records even when unchanged since the last push"}
    )
    check = StrictBoolean(
        load_default=False,
        metadata={
            "description": "stock only: compare Magento's source items with the POS and write nothing; the run "
            "lists the differences (not with full or force)"
        },
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
    different = fields.Integer(metadata={"description": "stock check runs only: source items that differ"})


class DifferenceSchema(Schema):
    """One source item where Magento and the POS disagree (stock check runs)."""

    sku = fields.String()
    source = fields.String(metadata={"description": "the MSI source code"})
    pos = fields.Float(metadata={"description": "what the POS says: max(0, on-hand - STOCK_BUFFER)"})
    magento = fields.Float(metadata={"description": "the source item's quantity in Magento (0 when it has none)"})


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
    differences = fields.List(
        fields.Nested(DifferenceSchema), metadata={"description": "stock check runs only: every difference found"}
    )


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

    #: An announcement names at least one key (the view answers 400 otherwise).
    OPENAPI_EXTRA = {"anyOf": [{"required": [kind], "properties": {kind: {"minItems": 1}}} for kind in ANNOUNCE_KINDS]}

    products = _keys("SKUs whose product data changed", Sku)
    stock = _keys("SKUs whose stock changed", Sku)
    prices = _keys("SKUs whose prices changed", Sku)
    customers = _keys("POS customer ids")
    categories = _keys("POS category ids")
    fulfilments = _keys("POS fulfilment ids (shipments of web orders)")


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
    status = fields.String(
        metadata={"description": ", ".join(LINK_STATUSES) + "; a written order also partly_shipped, shipped"}
    )
    synced_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)
    attempts = fields.Integer()
    updated_at = fields.DateTime()


class FailedJobsQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    # Another queue name is a 404 (the view says which queues there are), so the list is documented, not validated.
    queue = fields.String(metadata={"enum": list(QUEUE_NAMES), "description": "only this queue's failed jobs"})
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


class AttentionQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(
        validate=validate.OneOf(ATTENTION_KINDS),
        metadata={"description": "only items of this kind: a record's entity, a run's kind, or `job`"},
    )
    older_than = fields.String(
        validate=validate.Regexp(r"^\d{1,9}[smhd]?$", error="a whole number with a unit s, m, h or d, e.g. 2h"),
        metadata={"description": "only items failing for longer than this (`30m`, `2h`, `1d`; seconds alone)"},
    )
    code = fields.String(validate=validate.OneOf(problems.CODES), metadata={"description": "only items of this code"})


class AttentionItemSchema(Schema):
    id = fields.String(metadata={"description": "`link-<entity>-<magento_id>`, `run-<run_id>` or `job-<job_id>`"})
    entity = fields.String(metadata={"description": "a record's entity (`order`…), a run's kind, or `job`"})
    key = fields.String(metadata={"description": "the Magento id, the first failed SKU or key, or the job's function"})
    magento_number = fields.String(allow_none=True, metadata={"description": "an order's increment id"})
    code = fields.String(metadata={"enum": list(problems.CODES), "description": "why, machine-readable"})
    message = fields.String(metadata={"description": "why, in one sentence naming the SKU or field"})
    since = fields.DateTime(metadata={"description": "when it last failed"})
    tries = fields.Integer(metadata={"description": "attempts so far (runs in a row, for a run)"})


class AttentionRetrySchema(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "`queued`, or `duplicate` when the same work was waiting"})
    job_id = fields.String()


class AttentionRetryAllBodySchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=validate.OneOf(problems.CODES))
    kind = fields.String(validate=validate.OneOf(ATTENTION_KINDS))


class AttentionRetriedAllSchema(Schema):
    retried = fields.List(fields.Nested(AttentionRetrySchema))
    count = fields.Integer()
    skipped = fields.List(fields.String(), metadata={"description": "ids resolved or requeued meanwhile"})


class DismissBodySchema(Schema):
    class Meta:
        unknown = RAISE

    note = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_NOTE_CHARS), _not_blank],
        metadata={"pattern": NOT_BLANK_PATTERN, "description": "why it is dismissed"},
    )


class DismissedSchema(Schema):
    id = fields.String()
    note = fields.String()
    dismissed_at = fields.DateTime()
