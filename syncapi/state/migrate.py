"""Creating and upgrading the service's tables: Alembic, run from code, with its own version table.

`upgrade(engine)` is what `flask --app app state init` and the POS's `pos init` call. It is idempotent and safe
when several processes start at once: PostgreSQL takes an advisory lock, SQLite an immediate write lock.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, select

#: Alembic's version table for these tables, apart from any the POS keeps in the same database.
VERSION_TABLE = "sync_alembic_version"
#: Prefix of every table this environment owns; anything else in the database is left alone.
TABLE_PREFIX = "sync_"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: PostgreSQL advisory lock key that serialises concurrent upgrades (any fixed 64-bit number).
PG_UPGRADE_LOCK_KEY = 0x73796E6361706931


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the state migrations, bound to `connection` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Create or upgrade the `sync_*` tables in `engine`'s database to `revision`; returns the revision now there."""
    with engine.connect() as connection:
        _lock_for_upgrade(connection)
        command.upgrade(alembic_config(connection), revision)
        connection.commit()
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """The revision the database's `sync_*` tables are at (None before the first upgrade)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _lock_for_upgrade(connection: Connection) -> None:
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # Released at commit; a second process waits here, then finds the tables already at head.
        connection.execute(select(func.pg_advisory_xact_lock(PG_UPGRADE_LOCK_KEY)))
    elif dialect == "sqlite":
        # pysqlite runs DDL outside any transaction unless one is begun by hand; IMMEDIATE takes the write lock
        # now, so two upgrades cannot both read "no tables" and both create them.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
