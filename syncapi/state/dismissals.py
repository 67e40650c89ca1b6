"""Dismissals (`sync_attention_dismissals`): an operator's "seen, leave it" on one attention item, with a note.

A dismissal holds the time the item had last failed when it was dismissed; the item stays hidden while that
is still its last failure, and shows again when it fails anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from syncapi.state._sql import SET, text_value, upsert_rows
from syncapi.state.models import KEY_LENGTH, DismissalRow, utcnow

#: Longest note kept with a dismissal.
MAX_NOTE_CHARS = 2000

_TABLE = DismissalRow.__table__


@dataclass(frozen=True)
class Dismissal:
    """One dismissed item: when it had last failed, the operator's note, and when it was dismissed."""

    item_id: str
    failed_at: datetime
    note: str
    dismissed_at: datetime


def dismiss(engine: Engine, item_id: str, failed_at: datetime, note: str) -> Dismissal:
    """Dismiss `item_id` as it stands (last failed at `failed_at`), replacing an earlier dismissal of it.

    Raises ValueError on an empty or too long id or note, or a naive time, changing nothing.
    """
    item_id = text_value("item_id", item_id, KEY_LENGTH)
    note = text_value("note", note, MAX_NOTE_CHARS)
    if failed_at.tzinfo is None:
        raise ValueError(f"failed_at must carry a timezone, got {failed_at!r}")
    row = {"item_id": item_id, "failed_at": failed_at, "note": note, "dismissed_at": utcnow()}
    with engine.begin() as connection:
        upsert_rows(connection, _TABLE, [row], ("item_id",), {"failed_at": SET, "note": SET, "dismissed_at": SET})
    return Dismissal(**row)


def dismissals(engine: Engine) -> dict[str, Dismissal]:
    """Every dismissal by item id."""
    with engine.connect() as connection:
        rows = connection.execute(select(_TABLE))
        return {row.item_id: Dismissal(**row._mapping) for row in rows}
