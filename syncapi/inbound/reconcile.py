"""The safety net for webhooks that never came: poll Magento for orders, invoices, credit memos and customers
changed since the last poll, and queue the same import jobs the webhooks queue.

Each entity keeps its own watermark (`sync_watermarks`, kind `reconcile-<entity>`): the newest `updated_at` read.
A poll reads from the watermark minus `OVERLAP_S`, because Magento stamps `updated_at` (UTC, no zone) when a
save starts, and a save that committed after a later one was read would otherwise be missed (missed orders in
OCA/connector-magento #181, #249 came from exactly this). The watermark moves only after every record up to it
was queued; a poll that fails leaves it where it was, so the next one reads the same records again.

Reading pages by offset while records change skips some (a record updated mid-read moves to the end and the
ones behind it shift back a page), so the poll reads by keyset instead: always the first page of records
changed at or after the newest time read so far, leaving out those already read at that second. A second with
more changes than a page is read by offset paging on that second alone.

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

from syncapi.inbound.importers import ENTITY_CREDITMEMO, ENTITY_CUSTOMER, ENTITY_INVOICE, ENTITY_ORDER
from syncapi.inbound.mappers import MappingError, format_magento_time, magento_id, parse_magento_time
from syncapi.magento import MagentoClient, MagentoPermanentError, SearchCriteria
from syncapi.magento import customers as magento_customers
from syncapi.magento import sales as magento_sales
from syncapi.queues import QUEUE_INBOUND, job_id
from syncapi.run_lifecycle import RunRecorder
from syncapi.services import Services
from syncapi.state.links import LINK_SKIPPED, LINK_SYNCED, get_link
from syncapi.state.watermarks import get_watermark, set_watermark

log = logging.getLogger(__name__)

#: Seconds each poll reaches back before the watermark, for saves that committed late.
OVERLAP_S = 300
#: Seconds the first poll ever (no watermark yet) reaches back. Older records are imported by a full run
#: (`POST /api/v1/sync/sales {"full": true}`), so a first start never floods the POS with years of history.
FIRST_POLL_LOOKBACK_S = 24 * 3600
#: Prefix of the watermark kinds, `reconcile-order` etc.
WATERMARK_PREFIX = "reconcile-"
#: The field Magento's list endpoints sort ties by (the entity table's primary key).
TIE_SORT_FIELD = "entity_id"


class ReconcileError(Exception):
    """Magento answered a poll with records the poll cannot page through."""


@dataclass(frozen=True)
class Source:
    """One kind of Magento record the poll reads: where its list is and its id key."""

    entity: str
    path: str
    id_key: str


SOURCES = (
    Source(ENTITY_ORDER, magento_sales.ORDERS, "entity_id"),
    Source(ENTITY_INVOICE, magento_sales.INVOICES, "entity_id"),
    Source(ENTITY_CREDITMEMO, magento_sales.CREDITMEMOS, "entity_id"),
    Source(ENTITY_CUSTOMER, magento_customers.SEARCH, "id"),
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


def changed_since(
    client: MagentoClient, path: str, since: str | None, id_key: str, page_size: int | None = None
) -> Iterator[dict]:
    """Every record of the list endpoint `path` with `updated_at` at or after `since` (all when None), oldest
    change first, each once, read by keyset so records changing meanwhile are never skipped."""
    size = page_size or client.page_size
    cursor, strict, seen_at_cursor = since, False, set()
    while True:
        criteria = SearchCriteria()
        if cursor is not None:
            criteria.where("updated_at", cursor, "gt" if strict else "gteq")
        criteria.order_by("updated_at").order_by(TIE_SORT_FIELD).page(size, 1)
        items = (client.search(path, criteria) or {}).get("items") or []
        for item in items:
            if not (item.get("updated_at") == cursor and item.get(id_key) in seen_at_cursor):
                yield item
        if len(items) < size:
            return
        last = items[-1].get("updated_at")
        if not isinstance(last, str):
            raise ReconcileError(f"{path} answered records without updated_at; they cannot be polled by time")
        if last == cursor:
            # A whole page changed in one second: read that second by offset, then go on after it.
            already = seen_at_cursor | {item.get(id_key) for item in items}
            same_second = SearchCriteria().where("updated_at", cursor, "eq").order_by(TIE_SORT_FIELD)
            for item in client.paginate(path, same_second, page_size=size):
                if item.get(id_key) not in already:
                    already.add(item.get(id_key))
                    yield item
            strict, seen_at_cursor = True, set()
            continue
        cursor, strict = last, False
        seen_at_cursor = {item.get(id_key) for item in items if item.get("updated_at") == last}


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
        except (MagentoPermanentError, ReconcileError, MappingError) as exc:
            # One entity Magento refuses to list (an ACL left out of the integration) must not stop the others.
            run.fail(source.entity, f"could not poll {source.entity}s: {exc}")
            tally = Tally(failed=1)
        tallies[source.entity] = asdict(tally)
    return tallies


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
    for record in changed_since(client, source.path, tally.since, source.id_key):
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
        if link is not None and (link.status == LINK_SYNCED or (link.status == LINK_SKIPPED and not full)):
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
