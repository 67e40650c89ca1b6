"""Create or upgrade the reference POS tables with their own Alembic environment, run from code.

The POS keeps its revision in `pos_alembic_version`, so the service's own tables can live in the same database
under their own Alembic environment and version table.
"""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

#: Where the POS migrations live.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: The table holding the POS schema's revision (not Alembic's default, which the service's own tables use).
VERSION_TABLE = "pos_alembic_version"
#: PostgreSQL advisory lock taken while migrating, so two processes starting at once do not race.
ADVISORY_LOCK_KEY = zlib.crc32(b"syncapi.pos.migrate")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the POS migrations, bound to `connection` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest POS schema revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The POS schema revision of the database behind `engine`; None when it has no POS tables yet."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def lock_for_writing(connection: Connection) -> None:
    """Start the write transaction so that concurrent writers queue up instead of failing.

    SQLite: `BEGIN IMMEDIATE` takes the write lock now (waiting up to the busy timeout), instead of failing when
    a read lock cannot be upgraded later. Other backends lock the rows they touch as they go.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Create or upgrade the POS tables to `revision` in one transaction; running it again changes nothing."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a column's default by copying the table; with foreign keys enforced, dropping the
            # old copy of a referenced table fails. They are checked by hand before committing instead.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            lock_for_writing(connection)
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            command.upgrade(alembic_config(connection), revision)
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    connection.rollback()
                    raise RuntimeError(f"the POS upgrade would break foreign keys: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    return current_revision(engine)


class _QuietContextLines(logging.Filter):
    """Drops Alembic's per-connection chatter ("Context impl ...") and keeps the lines about real upgrades."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(("Context impl", "Will assume"))


logging.getLogger("alembic.runtime.migration").addFilter(_QuietContextLines())
