"""Changed-since order: timestamps compared as moments on every backend, and cursors checked before a read.

A changed-since read orders rows by (changed_at, key) and resumes strictly after a `Cursor`; how that stays exact
when another program writes the timestamps is in docs/pos-gateway-reads.md.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, and_, case, or_, true, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from syncapi.pos import models as m
from syncapi.pos.errors import PosValidationError
from syncapi.pos.gateway import Cursor


class comparable_time(FunctionElement):
    """A timestamp column as a value that compares and sorts by the moment it names, however it was written.

    PostgreSQL, MySQL and MariaDB store typed timestamps: the column as it is. SQLite stores text, and another
    program may write it in any form SQLite's date functions accept (`CURRENT_TIMESTAMP`'s
    `YYYY-MM-DD HH:MM:SS`, a `T` separator, 0 to 9 digits of fraction, a `Z` or `+HH:MM` suffix), which text
    comparison with the application's `YYYY-MM-DD HH:MM:SS.ffffff` orders wrongly. There the value is rewritten
    to that one form in UTC, microseconds kept (see docs/pos-gateway-reads.md).
    """

    type = m.UtcDateTime()
    inherit_cache = True


@compiles(comparable_time)
def _comparable_time_typed(element, compiler, **kw) -> str:
    return compiler.process(element.clauses.clauses[0], **kw)


@compiles(comparable_time, "sqlite")
def _comparable_time_sqlite(element, compiler, **kw) -> str:
    text = compiler.process(element.clauses.clauses[0], **kw)
    # The fraction's digits: what follows the '.' after the seconds, up to a zone suffix, padded to 6 places.
    fraction = f"(CASE WHEN substr({text}, 20, 1) = '.' THEN substr({text}, 21) ELSE '' END)"
    digits = f"substr({fraction}, 1, length({fraction}) - length(ltrim({fraction}, '0123456789')))"
    return f"(strftime('%Y-%m-%d %H:%M:%S', {text}) || '.' || substr({digits} || '000000', 1, 6))"


#: How far before a cursor an index-only pre-filter on a raw timestamp column starts: more than any time zone
#: offset a text timestamp may carry, so every row at or after the cursor passes it whatever its form.
RAW_TIME_SLACK = timedelta(days=1)


def near(column: ColumnElement, after: Cursor | None) -> ColumnElement[bool]:
    """An index-friendly superset of the rows at or after `after` (the exact test is `after_cursor`'s)."""
    if not isinstance(after, Cursor):
        return true()  # None, or not a cursor: `ChangeReads._batch` refuses the latter before running anything
    return column >= after.updated_at - RAW_TIME_SLACK


def after_cursor(changed_at: ColumnElement, key: ColumnElement, after: Cursor | None) -> ColumnElement[bool]:
    """Rows strictly after `after` in (changed_at, key) order; written without row values for every backend.

    `changed_at` must be a `comparable_time`, so the comparison is on moments, not on how they were written.
    """
    if after is None:
        return true()
    if after.key is None:
        return changed_at >= after.updated_at
    return or_(changed_at > after.updated_at, and_(changed_at == after.updated_at, key > after.key))


def later(attribute_at: ColumnElement, product_at: ColumnElement) -> ColumnElement:
    """The later of a product's and its attributes' latest change (both `comparable_time`s; the first may be
    NULL when the product has no attributes)."""
    return type_coerce(case((attribute_at > product_at, attribute_at), else_=product_at), m.UtcDateTime())


def check_cursor(after: Cursor | None, key_type: type, read: str) -> None:
    if after is not None and not isinstance(after, Cursor):
        raise PosValidationError(f"{read}: expected a Cursor (see Cursor.decode), got {type(after).__name__}")
    if after is None or after.key is None:
        return
    if isinstance(after.key, bool) or not isinstance(after.key, key_type):
        raise PosValidationError(
            f"{read}: the cursor's key {after.key!r} is not a {key_type.__name__}; it belongs to another read"
        )


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise PosValidationError(f"batch limit must be a whole number of 1 or more, got {limit!r}")
