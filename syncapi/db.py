"""SQLAlchemy engines for the POS database and the service's own state, built from the settings."""

from __future__ import annotations

import os

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

#: Names for constraints and indexes in both the POS and the state tables, so migrations and error messages can
#: refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Seconds SQLite waits for a lock held by another process before it gives up.
SQLITE_BUSY_TIMEOUT_S = 30
#: Seconds a pooled connection may live before it is replaced (servers drop idle ones).
POOL_RECYCLE_S = 1800

_engines: dict[str, Engine] = {}


def make_engine(url: str) -> Engine:
    """An engine for `url`: SQLite gets WAL, a busy timeout and foreign keys; servers get pre-ping."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_recycle=POOL_RECYCLE_S)


def _sqlite_text(data: bytes) -> str:
    """Text read from SQLite: bytes that are not UTF-8 (SQLite stores what another program wrote) become lone
    surrogates instead of an error that fails the whole read; the record holding them is refused on its own
    (docs/security.md, "Hostile input")."""
    return data.decode("utf-8", "surrogateescape")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.text_factory = _sqlite_text
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.close()


def engine_for(url: str) -> Engine:
    """The process-wide engine for `url` (one pool per database per process)."""
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = make_engine(url)
    return engine


def dispose_all() -> None:
    """Close every pooled connection (after a fork, and between tests)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def ping(engine: Engine) -> None:
    """Raise unless the database answers a trivial query."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
