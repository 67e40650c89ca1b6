"""Alembic environment of the service's own tables; run through `syncapi.state.migrate.upgrade(engine)`."""

from alembic import context

from syncapi.state.migrate import TABLE_PREFIX, VERSION_TABLE
from syncapi.state.models import StateBase


def _only_ours(name, type_, parent_names) -> bool:
    # The state tables usually share the POS database: never look at (or autogenerate drops of) its tables.
    if type_ == "table":
        return bool(name) and name.startswith(TABLE_PREFIX)
    return True


connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run the state migrations with syncapi.state.migrate.upgrade(engine) or `flask state init`")

context.configure(
    connection=connection,
    target_metadata=StateBase.metadata,
    version_table=VERSION_TABLE,
    include_name=_only_ours,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
