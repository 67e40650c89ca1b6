"""Shared by every part of the SQL gateway: the database's failures as the gateway's errors, keys in chunks, and
the write transaction that looks again when a concurrent writer's row clashes with its own.

Idempotency rests on the unique Magento-id columns: a write looks for the record first, and when a concurrent
writer inserts the same record between that look and its own insert, the insert fails on the unique constraint,
the whole transaction (stock decrement included) is rolled back, and the write looks again and answers with the
record that won. On SQLite every write transaction starts with `BEGIN IMMEDIATE`, so writers queue on the
database lock (up to the busy timeout) instead of failing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from syncapi.pos.errors import PosConflictError, PosError, PosUnavailableError, PosValidationError
from syncapi.pos.migrate import lock_for_writing

#: The gateway's one logger, named after the package whatever part of it logs.
log = logging.getLogger(__package__)

T = TypeVar("T")

#: Times a write is tried when a concurrent writer keeps landing a clashing row first.
WRITE_ATTEMPTS = 5
#: Keys per `IN (...)` list, well under every backend's limit on bound parameters.
KEYS_PER_QUERY = 500
#: SQLSTATEs and SQLite messages that mean the POS tables are missing or older than this code.
_MISSING_SCHEMA_SQLSTATES = frozenset({"42P01", "42703", "42S02", "42S22"})
_MISSING_SCHEMA_MESSAGES = ("no such table", "no such column", "doesn't exist", "unknown column")


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _missing_schema(exc: sa_exc.DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if sqlstate in _MISSING_SCHEMA_SQLSTATES:
        return True
    message = str(exc.orig).lower()
    return any(fragment in message for fragment in _MISSING_SCHEMA_MESSAGES)


@contextmanager
def database_errors(action: str) -> Iterator[None]:
    """Turn the database's failures into the gateway's: unreachable or unmigrated → `PosUnavailableError`."""
    try:
        yield
    except PosError:
        raise
    except (sa_exc.OperationalError, sa_exc.ProgrammingError) as exc:
        if _missing_schema(exc):
            raise PosUnavailableError(
                f"{action}: the POS tables are missing or out of date; run `flask --app app pos init` "
                f"({first_line(exc)})"
            ) from exc
        if isinstance(exc, sa_exc.ProgrammingError):
            raise
        raise PosUnavailableError(f"{action}: the POS database is unavailable: {first_line(exc)}") from exc
    except (sa_exc.InterfaceError, sa_exc.TimeoutError, sa_exc.DisconnectionError) as exc:
        raise PosUnavailableError(f"{action}: the POS database is unavailable: {first_line(exc)}") from exc
    except sa_exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise PosUnavailableError(f"{action}: the POS database connection was lost: {first_line(exc)}") from exc
        raise


def chunks(keys: Iterable[T]) -> Iterator[list[T]]:
    unique = sorted(set(keys))  # type: ignore[type-var]
    for start in range(0, len(unique), KEYS_PER_QUERY):
        yield unique[start : start + KEYS_PER_QUERY]


class SqlGatewayBase:
    """What every part of `SqlPosGateway` shares: its engine, its location and the write transaction."""

    engine: Engine
    location_code: str
    settle_s: float

    def stock_locations(self, locations: Iterable[str] | None) -> list[str]:
        """`locations` as a list, or this gateway's own location when none are given."""
        chosen = [self.location_code] if locations is None else list(dict.fromkeys(locations))
        if not chosen:
            raise PosValidationError("a stock read needs at least one POS location")
        return chosen

    def _write(self, action: str, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction; when a concurrent writer's row clashes, roll back and look again."""
        last: sa_exc.IntegrityError | None = None
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with database_errors(action), Session(self.engine, expire_on_commit=False) as session:
                    lock_for_writing(session.connection())
                    result = work(session)
                    session.commit()
                    return result
            except sa_exc.IntegrityError as exc:
                last = exc
                log.info(
                    "pos write clashed with a concurrent one; trying again",
                    extra={"action": action, "attempt": attempt},
                )
        detail = first_line(last) if last is not None else "no attempt made"
        raise PosConflictError(f"{action}: clashes with rows the POS already holds ({detail})") from last
