"""Alembic environment of the reference POS tables (run through `syncapi.pos.migrate`, or the alembic CLI)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from syncapi.pos.migrate import VERSION_TABLE
from syncapi.pos.models import PosBase

config = context.config
POS_TABLES = frozenset(PosBase.metadata.tables)


def include_name(name, type_, _parent_names) -> bool:
    """Only the POS tables are this environment's business; the service's own tables may share the database."""
    return type_ != "table" or name in POS_TABLES


def _configure(**kwargs) -> None:
    context.configure(
        target_metadata=PosBase.metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        compare_type=True,
        render_as_batch=True,
        **kwargs,
    )


def run_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as own_connection:
        _configure(connection=own_connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
