"""The safety net for webhooks that never came: poll Magento for orders, invoices, credit memos and customers
changed since the last poll, and queue the same import jobs the webhooks queue.

Each entity keeps its own watermark (`sync_watermarks`, kind `reconcile-<entity>`): the newest `updated_at` read.
A poll reads from the watermark minus `OVERLAP_S`, because Magento stamps `updated_at` (UTC, no zone) when a
save starts, and a save that committed after a later one was read would otherwise be missed (missed orders in
OCA/connector-magento #181, #249 came from exactly this). The watermark moves only after every record up to it
was queued; a poll that fails leaves it where it was, so the next one reads the same records again.

Records are read by keyset rather than by offset, so records changing meanwhile are never skipped
(`syncapi.magento.changes`).

Jobs are queued through `Queues.enqueue` with the webhook's job ids (`order-<id>`, ...), so a webhook job still
waiting makes the record a duplicate. Records already in the POS (link `synced`) are not queued again; records
never to be written (`skipped`: canceled, closed) are queued again only on a full run, in case the settings
changed. Pending orders are queued again whenever Magento shows them changed: that is how an order whose
webhook for "complete" was lost still lands.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from syncapi.inbound import mappers
from syncapi.inbound.importers import ENTITY_CREDITMEMO, ENTITY_CUSTOMER, ENTITY_INVOICE, ENTITY_ORDER
from syncapi.inbound.mappers import MappingError, format_magento_time, magento_id, parse_magento_time
from syncapi.magento import MagentoClient, MagentoPermanentError
from syncapi.magento import customers as magento_customers
from syncapi.magento import sales as magento_sales
from syncapi.magento.changes import UnpageableListError
from syncapi.queues import QUEUE_INBOUND, job_id
from syncapi.run_lifecycle import RunRecorder
from syncapi.services import Services
from syncapi.state.links import LINK_SKIPPED, LINK_SYNCED, LINK_VOIDED, get_link
from syncapi.state.watermarks import get_watermark, set_watermark

log = logging.getLogger(__name__)

#: Seconds each poll reaches back before the watermark, for saves that committed late.
OVERLAP_S = 300
#: Seconds the first poll ever (no watermark yet) reaches back. Older records are imported by a full run
#: (`POST /api/v1/sync/sales {"full": true}`), so a first start never floods the POS with years of history.
FIRST_POLL_LOOKBACK_S = 24 * 3600
#: Prefix of the watermark kinds, `reconcile-order` etc.
WATERMARK_PREFIX = "reconcile-"


@dataclass(frozen=True)
class Source:
    """One kind of Magento record the poll reads: where its list is and its id key."""

    entity: str
    changed_since: Callable[[MagentoClient, str | None], Iterator[dict]]
    id_key: str


SOURCES = (
    Source(ENTITY_ORDER, magento_sales.orders_changed_since, "entity_id"),
    Source(ENTITY_INVOICE, magento_sales.invoices_changed_since, "entity_id"),
    Source(ENTITY_CREDITMEMO, magento_sales.creditmemos_changed_since, "entity_id"),
    Source(ENTITY_CUSTOMER, magento_customers.changed_since, "id"),
)


@dataclass
class Tally:
    """What a poll did with one entity's records."""

    seen: int = 0
    #: Import jobs queued for records the service had never recorded.
    queued_new: int = 0
    #: Import jobs queued for records recorded as pending or failed.
    queued_again: int = 0
    #: Records whose import job was already waiting.
    duplicate: int = 0
    #: Records already in the POS (or never to be written), left alone.
    done: int = 0
    failed: int = 0
    since: str | None = None
    watermark: str | None = None


def watermark_kind(entity: str) -> str:
    """The `sync_watermarks` kind of an entity's poll."""
    return f"{WATERMARK_PREFIX}{entity}"


def poll_start(watermark: dict | None, full: bool, now: datetime) -> str | None:
    """The `updated_at` a poll reads from: None (everything) for a full run, else the watermark minus the
    overlap, or `FIRST_POLL_LOOKBACK_S` before `now` when there is no watermark yet."""
    if full:
        return None
    stored = parse_magento_time((watermark or {}).get("updated_at"), "watermark") if watermark else None
    start = stored - timedelta(seconds=OVERLAP_S) if stored else now - timedelta(seconds=FIRST_POLL_LOOKBACK_S)
    return format_magento_time(start)


def reconcile(
    svc: Services,
    client: MagentoClient,
    run: RunRecorder,
    *,
    imports: Mapping[str, Callable[[int], object]],
    full: bool = False,
    now: datetime | None = None,
) -> dict[str, dict]:
    """Poll every source once, queue the imports, move the watermarks; what was done per entity.

    `imports` is the import job of each entity (`jobs.inbound.IMPORT_JOBS`), queued with the record's id.

    Run counts: `created` = imports queued for records never seen, `updated` = imports queued again for
    pending or failed ones, `unchanged` = records already in the POS or already queued, `failed` = records or
    entities that could not be polled (with the reason in the run's errors).
    """
    now = now or datetime.now(UTC)
    tallies = {}
    for source in SOURCES:
        try:
            tally = _reconcile_source(svc, client, run, source, imports[source.entity], full, now)
        except (MagentoPermanentError, UnpageableListError, MappingError) as exc:
            # One entity Magento refuses to list (an ACL left out of the integration) must not stop the others.
            run.fail(source.entity, f"could not poll {source.entity}s: {exc}")
            tally = Tally(failed=1)
        tallies[source.entity] = asdict(tally)
    return tallies


def _done(status: str, full: bool, entity: str, record: dict) -> bool:
    """Whether a linked record needs no new import: synced (unless it is an order canceled since, wholly or in
    part, whose sale the POS must take back), voided, or skipped (unless polling in full)."""
    if status == LINK_SYNCED:
        if entity != ENTITY_ORDER:
            return True
        try:
            return not (mappers.is_canceled(record) or mappers.has_canceled_items(record))
        except MappingError:  # the import names what is wrong with it
            return False
    return status == LINK_VOIDED or (status == LINK_SKIPPED and not full)


def _reconcile_source(
    svc: Services,
    client: MagentoClient,
    run: RunRecorder,
    source: Source,
    import_job: Callable[[int], object],
    full: bool,
    now: datetime,
) -> Tally:
    engine = svc.state_engine
    kind = watermark_kind(source.entity)
    tally = Tally(since=poll_start(get_watermark(engine, kind), full, now))
    newest: datetime | None = None
    for record in source.changed_since(client, tally.since):
        tally.seen += 1
        try:
            record_id = magento_id(record.get(source.id_key), f"{source.entity} {source.id_key}")
            changed = parse_magento_time(record.get("updated_at"), f"{source.entity} updated_at")
        except MappingError as exc:
            tally.failed += 1
            run.fail(f"{source.entity}-{record.get(source.id_key)}", str(exc))
            continue
        if changed is not None and (newest is None or changed > newest):
            newest = changed
        link = get_link(engine, source.entity, record_id)
        if link is not None and _done(link.status, full, source.entity, record):
            tally.done += 1
            run.count(unchanged=1)
            continue
        enqueued = svc.queues.enqueue(
            QUEUE_INBOUND,
            import_job,
            record_id,
            job_id=job_id(source.entity, record_id),
            meta={"event": "reconcile", "run_id": run.run_id},
        )
        if enqueued.status == "duplicate":
            tally.duplicate += 1
            run.count(unchanged=1)
        elif link is None:
            tally.queued_new += 1
            run.count(created=1)
        else:
            tally.queued_again += 1
            run.count(updated=1)
    stored = get_watermark(engine, kind)
    previous = parse_magento_time(stored.get("updated_at"), "watermark") if stored else None
    if newest is not None and (previous is None or newest > previous):
        # Only now is everything up to `newest` queued: a poll that died earlier reads it all again.
        tally.watermark = format_magento_time(newest)
        set_watermark(engine, kind, {"updated_at": tally.watermark})
    else:
        tally.watermark = format_magento_time(previous) if previous else None
    log.info(
        "reconcile polled",
        extra={"run_id": run.run_id, "entity": source.entity, **asdict(tally)},
    )
    return tally
