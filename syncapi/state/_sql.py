"""SQL helpers shared by the state modules: portable upserts, chunking, input checks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, String, Table, and_, any_, func, insert, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

#: How an upsert treats a column of an existing row: take the new value, keep the old one when the new one is
#: NULL, or add one to it (the inserted row takes the value given).
SET = "set"
COALESCE = "coalesce"
INCREMENT = "increment"

#: Dialects with `INSERT ... ON CONFLICT DO UPDATE`; others take the portable update-then-insert path.
ON_CONFLICT_DIALECTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}

#: Values per `IN (...)` list: under SQL Server's 2,100 parameters and old SQLite's 999 limit.
IN_CHUNK = 900
#: Values per PostgreSQL `= ANY(array)`: one parameter however many values, so much larger batches.
ANY_CHUNK = 20_000


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """`items` in slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def in_chunk_size(connection: Connection) -> int:
    """How many values `one_of` should get at once on this connection's database."""
    return ANY_CHUNK if connection.dialect.name == "postgresql" else IN_CHUNK


def one_of(column: Column, values: Sequence[str], connection: Connection) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(:array)`, one parameter instead of one per value."""
    if connection.dialect.name == "postgresql":
        return column == any_(literal(list(values), postgresql.ARRAY(String)))
    return column.in_(values)


def upsert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    on_existing: Mapping[str, str],
    *,
    portable: bool = False,
) -> None:
    """Insert `rows`, or update the row with the same `keys` as `on_existing` says per column.

    SQLite and PostgreSQL use one `INSERT ... ON CONFLICT DO UPDATE` executed for all rows; other databases (or
    `portable=True`) update first and insert when nothing matched, retrying the update when a concurrent
    insert won the race.
    """
    if not rows:
        return
    make_insert = ON_CONFLICT_DIALECTS.get(connection.dialect.name)
    if make_insert is not None and not portable:
        statement = make_insert(table)
        excluded = statement.excluded
        changes = {name: _on_conflict_value(table, name, how, excluded[name]) for name, how in on_existing.items()}
        connection.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changes), list(rows))
        return
    for row in rows:
        _portable_upsert(connection, table, row, keys, on_existing)


def _on_conflict_value(table: Table, name: str, how: str, new):
    column = table.c[name]
    if how == SET:
        return new
    if how == COALESCE:
        return func.coalesce(new, column)
    if how == INCREMENT:
        return column + 1
    raise ValueError(f"unknown upsert rule {how!r}")


def _portable_upsert(connection, table, row, keys, on_existing) -> None:
    where = and_(*(table.c[key] == row[key] for key in keys))
    changes = {}
    for name, how in on_existing.items():
        new = literal(row[name], table.c[name].type)
        changes[name] = _on_conflict_value(table, name, how, new)
    if connection.execute(update(table).where(where).values(changes)).rowcount:
        return
    try:
        with connection.begin_nested():
            connection.execute(insert(table).values(dict(row)))
    except IntegrityError:
        # Another transaction inserted the same keys between our update and insert: it is there now.
        connection.execute(update(table).where(where).values(changes))


def text_value(name: str, value: Any, max_length: int, *, allow_none: bool = False) -> str | None:
    """`value` as a non-empty string of at most `max_length` characters (ints are accepted as ids)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{name} must be a string, got {type(value).__name__}")
    text = str(value)
    if not text.strip():
        raise ValueError(f"{name} must not be empty")
    if len(text) > max_length:
        raise ValueError(f"{name} must be at most {max_length} characters, got {len(text)}")
    return text


def choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """`value` if it is one of `allowed`, else a ValueError listing them."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def clip(text: str, max_length: int) -> str:
    """`text` cut to `max_length` characters, marking the cut (for stored messages that must not fail)."""
    return text if len(text) <= max_length else text[: max_length - 1] + "…"
