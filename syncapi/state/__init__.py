"""The service's own state: links, run history, watermarks and hashes in SQL; announced changes in Redis.

Every function takes the engine (`Services.state_engine`) or the Redis connection first, opens its
own short transaction, and raises ValueError on bad input before writing anything. The tables are created
and upgraded by `upgrade(engine)` (also `flask --app app state init`).

    from syncapi.state import record_link, get_hashes, put_hashes, content_hash

Links (`sync_links`, one per Magento record written to the POS):
    record_link(engine, entity, magento_id, status, pos_id=None, error=None) -> Link   (upsert; counts an attempt)
    record_links(engine, entity, [(magento_id, status, pos_id, error)]) -> int   (many in one transaction)
    get_link(engine, entity, magento_id) -> Link | None
    links_with_status(engine, entity, status, limit=None) -> list[Link]
    failing_links(engine, limit=None) -> list[Link]   (failed, or pending after a failed attempt)

Dismissals (`sync_attention_dismissals`, `syncapi.state.dismissals`): dismiss(engine, item_id, failed_at, note);
    dismissals(engine) -> {item_id: Dismissal}

Runs (`sync_runs`, `sync_run_errors`; the job side is `syncapi.run_lifecycle.run_context`):
    create_run(engine, kind, trigger, params=None, job_id=None) -> Run
    start_run(engine, run_id) -> Run
    add_counts(engine, run_id, created=0, updated=0, unchanged=0, failed=0)
    add_error(engine, run_id, key, message); add_errors(engine, run_id, [(key, message)], failed=0)
    finish_run(engine, run_id, failed_reason=None) -> Run
    requeue_run(engine, run_id, reason=None) -> Run
    get_run(engine, run_id) -> Run | None; list_runs(engine, kind=None, limit=50) -> list[Run]
    prune_runs(engine, older_than_days) -> int

Watermarks (`sync_watermarks`): get_watermark(engine, kind) -> dict | None; set_watermark(engine, kind, cursor)

Hashes (`sync_hashes`): content_hash(data) -> str;
    get_hashes(engine, kind, keys) -> {key: (hash, magento_id)}; put_hashes(engine, kind, {key: (hash, magento_id)})
    delete_hashes(engine, kind, keys) -> int; clear_hashes(engine, kind) -> int; hashed_keys(engine, kind) -> [key]

Announced changes (Redis): announce(redis, kind, keys); drain_announced(redis, kind, max_n=None, run_id=None);
    settle_announced(redis, kind, run_id, done=...)
"""

from syncapi.state.announced import announce, announced_count, drain_announced, settle_announced
from syncapi.state.hashes import clear_hashes, content_hash, delete_hashes, get_hashes, hashed_keys, put_hashes
from syncapi.state.links import (
    LINK_ENTITIES,
    LINK_FAILED,
    LINK_PENDING,
    LINK_SKIPPED,
    LINK_STATUSES,
    LINK_SYNCED,
    Link,
    failing_links,
    get_link,
    links_with_status,
    record_link,
    record_links,
)
from syncapi.state.migrate import current_revision, head_revision, upgrade
from syncapi.state.run_history import (
    FINAL_STATUSES,
    MAX_STORED_ERRORS,
    PUSH_KINDS,
    RUN_FAILED,
    RUN_KINDS,
    RUN_PARTIAL,
    RUN_QUEUED,
    RUN_RUNNING,
    RUN_STATUSES,
    RUN_SUCCEEDED,
    SKU_KINDS,
    TRIGGER_ANNOUNCED,
    TRIGGER_CLI,
    TRIGGER_MANUAL,
    TRIGGER_SCHEDULE,
    TRIGGERS,
    Run,
    RunError,
    RunNotFoundError,
    add_counts,
    add_error,
    add_errors,
    create_run,
    delete_run,
    finish_run,
    get_run,
    last_completed,
    list_runs,
    prune_runs,
    requeue_run,
    set_run_job,
    start_run,
)
from syncapi.state.watermarks import get_watermark, set_watermark

__all__ = [
    "FINAL_STATUSES",
    "LINK_ENTITIES",
    "LINK_FAILED",
    "LINK_PENDING",
    "LINK_SKIPPED",
    "LINK_STATUSES",
    "LINK_SYNCED",
    "MAX_STORED_ERRORS",
    "PUSH_KINDS",
    "RUN_FAILED",
    "RUN_KINDS",
    "RUN_PARTIAL",
    "RUN_QUEUED",
    "RUN_RUNNING",
    "RUN_STATUSES",
    "RUN_SUCCEEDED",
    "SKU_KINDS",
    "TRIGGERS",
    "TRIGGER_ANNOUNCED",
    "TRIGGER_CLI",
    "TRIGGER_MANUAL",
    "TRIGGER_SCHEDULE",
    "Link",
    "Run",
    "RunError",
    "RunNotFoundError",
    "add_counts",
    "add_error",
    "add_errors",
    "announce",
    "announced_count",
    "clear_hashes",
    "content_hash",
    "create_run",
    "current_revision",
    "delete_hashes",
    "delete_run",
    "drain_announced",
    "failing_links",
    "finish_run",
    "get_hashes",
    "get_link",
    "get_run",
    "get_watermark",
    "hashed_keys",
    "head_revision",
    "last_completed",
    "links_with_status",
    "list_runs",
    "prune_runs",
    "put_hashes",
    "record_link",
    "record_links",
    "requeue_run",
    "set_run_job",
    "set_watermark",
    "settle_announced",
    "start_run",
    "upgrade",
]
