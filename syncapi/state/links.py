"""Links: where each Magento record went in the POS (`sync_links`), and how its last attempt went."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from syncapi.state._sql import COALESCE, INCREMENT, SET, choice, clip, text_value, upsert_rows
from syncapi.state.models import KEY_LENGTH, MAGENTO_ID_LENGTH, LinkRow, utcnow

LINK_ENTITIES = ("order", "invoice", "creditmemo", "customer", "category", "product")
LINK_PENDING = "pending"
LINK_SYNCED = "synced"
LINK_FAILED = "failed"
LINK_SKIPPED = "skipped"
#: An order whose sale was written and then voided, because the order was canceled in Magento.
LINK_VOIDED = "voided"
LINK_STATUSES = (LINK_PENDING, LINK_SYNCED, LINK_FAILED, LINK_SKIPPED, LINK_VOIDED)
#: How the error of a pending link ends when its last attempt failed and RQ will try again.
_RETRIED = "%(will be retried)"
#: Longest error message kept on a link; longer ones are cut, never refused.
MAX_ERROR_CHARS = 4000

_TABLE = LinkRow.__table__
_ON_EXISTING = {
    "status": SET,
    "error": SET,
    "pos_id": COALESCE,  # a failed retry never forgets where the record already landed
    "magento_number": COALESCE,
    "synced_at": COALESCE,  # only a `synced` attempt moves it
    "updated_at": SET,
    "attempts": INCREMENT,
}


@dataclass(frozen=True)
class Link:
    """One Magento record and its POS counterpart."""

    entity: str
    magento_id: str
    pos_id: str | None
    status: str
    error: str | None
    attempts: int
    synced_at: datetime | None
    updated_at: datetime
    #: The number people know the record by (an order's increment id), when it was recorded.
    magento_number: str | None = None


def record_link(
    engine: Engine,
    entity: str,
    magento_id: str | int,
    status: str,
    pos_id: str | int | None = None,
    error: str | None = None,
    magento_number: str | None = None,
) -> Link:
    """Create or update the link of one Magento record; every call counts one attempt.

    `synced` stamps `synced_at`; `pos_id=None` keeps a POS id already known; `error` replaces the last one
    (pass None to clear it); `magento_number=None` keeps one already known. Raises ValueError on an unknown
    entity or status, changing nothing.
    """
    entity = choice("entity", entity, LINK_ENTITIES)
    status = choice("status", status, LINK_STATUSES)
    magento_id = text_value("magento_id", magento_id, MAGENTO_ID_LENGTH)
    pos_id = text_value("pos_id", pos_id, KEY_LENGTH, allow_none=True)
    magento_number = text_value("magento_number", magento_number, MAGENTO_ID_LENGTH, allow_none=True)
    now = utcnow()
    row = {
        "entity": entity,
        "magento_id": magento_id,
        "pos_id": pos_id,
        "magento_number": magento_number,
        "status": status,
        "error": clip(str(error), MAX_ERROR_CHARS) if error else None,
        "attempts": 1,
        "synced_at": now if status == LINK_SYNCED else None,
        "updated_at": now,
    }
    with engine.begin() as connection:
        upsert_rows(connection, _TABLE, [row], ("entity", "magento_id"), _ON_EXISTING)
        found = connection.execute(_select().where(_TABLE.c.entity == entity, _TABLE.c.magento_id == magento_id))
        return _link(found.one())


def record_links(
    engine: Engine, entity: str, links: Iterable[tuple[str | int, str, str | int | None, str | None]]
) -> int:
    """Record many links of one entity in one transaction: `(magento_id, status, pos_id, error)` each.

    The same rules as `record_link` (an attempt counted per row); all are validated before anything is written.
    Answers the number of links recorded.
    """
    entity = choice("entity", entity, LINK_ENTITIES)
    now = utcnow()
    rows = {}
    for magento_id, status, pos_id, error in links:
        status = choice("status", status, LINK_STATUSES)
        key = text_value("magento_id", magento_id, MAGENTO_ID_LENGTH)
        rows[key] = {
            "entity": entity,
            "magento_id": key,
            "pos_id": text_value("pos_id", pos_id, KEY_LENGTH, allow_none=True),
            "magento_number": None,
            "status": status,
            "error": clip(str(error), MAX_ERROR_CHARS) if error else None,
            "attempts": 1,
            "synced_at": now if status == LINK_SYNCED else None,
            "updated_at": now,
        }
    if rows:
        with engine.begin() as connection:
            # One row per key: ON CONFLICT refuses to touch the same row twice in one statement.
            upsert_rows(connection, _TABLE, list(rows.values()), ("entity", "magento_id"), _ON_EXISTING)
    return len(rows)


def get_link(engine: Engine, entity: str, magento_id: str | int) -> Link | None:
    """The link of one Magento record, or None when it was never recorded."""
    entity = choice("entity", entity, LINK_ENTITIES)
    magento_id = text_value("magento_id", magento_id, MAGENTO_ID_LENGTH)
    with engine.connect() as connection:
        row = connection.execute(
            _select().where(_TABLE.c.entity == entity, _TABLE.c.magento_id == magento_id)
        ).one_or_none()
    return _link(row) if row is not None else None


def links_with_status(engine: Engine, entity: str, status: str, limit: int | None = None) -> list[Link]:
    """Links of `entity` in `status`, least recently touched first (e.g. the failed ones to retry)."""
    entity = choice("entity", entity, LINK_ENTITIES)
    status = choice("status", status, LINK_STATUSES)
    query = (
        _select()
        .where(_TABLE.c.entity == entity, _TABLE.c.status == status)
        .order_by(_TABLE.c.updated_at, _TABLE.c.id)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [_link(row) for row in connection.execute(query)]


def failing_links(engine: Engine, limit: int | None = None) -> list[Link]:
    """Links that failed for good, and pending ones whose last attempt failed (they keep being retried), oldest
    attempt first."""
    query = (
        _select()
        .where((_TABLE.c.status == LINK_FAILED) | ((_TABLE.c.status == LINK_PENDING) & _TABLE.c.error.like(_RETRIED)))
        .order_by(_TABLE.c.updated_at, _TABLE.c.id)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [_link(row) for row in connection.execute(query)]


def _select():
    t = _TABLE.c
    return select(
        t.entity, t.magento_id, t.pos_id, t.status, t.error, t.attempts, t.synced_at, t.updated_at, t.magento_number
    )


def _link(row) -> Link:
    return Link(**row._mapping)
