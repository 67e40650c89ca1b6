"""Watermarks: how far an incremental push or pull has read (`sync_watermarks`), as a JSON cursor per kind."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, select

from syncapi.state._sql import SET, text_value, upsert_rows
from syncapi.state.models import WatermarkRow, utcnow

_TABLE = WatermarkRow.__table__
#: Largest cursor kept, in characters of JSON: a cursor says where to resume, it is not a list of records.
MAX_CURSOR_CHARS = 10_000


def get_watermark(engine: Engine, kind: str) -> dict[str, Any] | None:
    """The cursor last set for `kind` (e.g. `{"updated_at": "2025-01-31T10:00:00+00:00", "key": "SKU-9"}`), or None."""
    kind = text_value("kind", kind, 64)
    with engine.connect() as connection:
        return connection.execute(select(_TABLE.c.cursor).where(_TABLE.c.kind == kind)).scalar_one_or_none()


def set_watermark(engine: Engine, kind: str, cursor: Mapping[str, Any]) -> None:
    """Replace the cursor of `kind`; set it only once everything before it is safely written."""
    kind = text_value("kind", kind, 64)
    if not isinstance(cursor, Mapping):
        raise ValueError(f"cursor must be a JSON object, got {type(cursor).__name__}")
    cursor = dict(cursor)
    encoded = json.dumps(cursor)  # refuses what JSON cannot hold, before anything is written
    if len(encoded) > MAX_CURSOR_CHARS:
        raise ValueError(f"cursor must be at most {MAX_CURSOR_CHARS} characters of JSON, got {len(encoded)}")
    row = {"kind": kind, "cursor": cursor, "updated_at": utcnow()}
    with engine.begin() as connection:
        upsert_rows(connection, _TABLE, [row], ("kind",), {"cursor": SET, "updated_at": SET})
