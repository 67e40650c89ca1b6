"""The go-live backfill: the orders, invoices and credit memos created in Magento since a date, brought into the
POS through the same import jobs the webhooks queue (`flask sync sales --since DATE`), or only listed with what
would happen to each (`--dry-run`).

Magento is searched by `created_at gteq <since>`, sorted by `created_at` then `entity_id`, in pages of
`MAGENTO_PAGE_SIZE` (`syncapi.magento.sales`). Records created while the backfill reads sort after the ones
already read, so paging by offset skips none of them.

The real run queues `import_<entity>` with the webhook's job ids (`order-<id>`, ...): a webhook job still waiting
makes the record a duplicate, and a record already in the POS (link `synced`) is not queued at all, so the
backfill, the webhooks and the reconcile poll write each record once.

The dry run writes nothing anywhere (no POS rows, no links, no run, no jobs): it reads each record, decides as the
importer would (`order_decision`, the mappers, the POS's own checks on the mapped record, the SKUs the POS
knows) and says, per record, whether it would be written, is already in the POS, would wait for a later state,
would never be written, or would be refused, and why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from syncapi.inbound import mappers
from syncapi.inbound.importers import (
    ENTITY_CREDITMEMO,
    ENTITY_INVOICE,
    ENTITY_ORDER,
    Importer,
    entity_name,
)
from syncapi.inbound.mappers import MappingError, format_magento_time, magento_id
from syncapi.magento import MagentoClient, MagentoPermanentError, SearchCriteria
from syncapi.magento import sales as magento_sales
from syncapi.pos import validation
from syncapi.pos.errors import PosValidationError
from syncapi.pos.gateway import SERVICE_SKUS
from syncapi.queues import QUEUE_INBOUND, job_id
from syncapi.run_lifecycle import RunRecorder
from syncapi.services import Services
from syncapi.state.links import LINK_SYNCED, get_link

log = logging.getLogger(__name__)

#: The entities a backfill reads, in the order it reads them: orders first, so their sales land before the
#: invoices and credit memos that link to them (an invoice that lands first is linked later all the same).
BACKFILL_SOURCES: tuple[tuple[str, Callable[[MagentoClient, SearchCriteria], Iterator[dict]]], ...] = (
    (ENTITY_ORDER, magento_sales.orders),
    (ENTITY_INVOICE, magento_sales.invoices),
    (ENTITY_CREDITMEMO, magento_sales.creditmemos),
)

#: What the dry run says would happen to a record.
VERDICT_WRITE = "would write"
VERDICT_IN_POS = "already in the POS"
VERDICT_WAIT = "would wait"
VERDICT_SKIP = "would not write"
VERDICT_REFUSE = "would refuse"
VERDICTS = (VERDICT_WRITE, VERDICT_IN_POS, VERDICT_WAIT, VERDICT_SKIP, VERDICT_REFUSE)


@dataclass(frozen=True)
class Preview:
    """What a real run would do with one record: one of `VERDICTS`, and why when it is not a plain write."""

    entity: str
    magento_id: int
    increment_id: str | None
    verdict: str
    reason: str | None = None

    def line(self) -> str:
        """The record's line in the dry run's listing."""
        number = f" ({self.increment_id})" if self.increment_id else ""
        reason = f": {self.reason}" if self.reason else ""
        return f"{entity_name(self.entity)} {self.magento_id}{number}: {self.verdict}{reason}"


@dataclass
class PreviewTally:
    """The dry run's closing count, per verdict."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))

    def add(self, preview: Preview) -> None:
        self.counts[preview.verdict] += 1

    def line(self) -> str:
        """The closing line: how many records got each verdict."""
        total = sum(self.counts.values())
        return f"{total} records: " + ", ".join(f"{count} {verdict}" for verdict, count in self.counts.items())


def since_criteria(since: datetime) -> SearchCriteria:
    """Records created at or after `since` (UTC), oldest first, `entity_id` breaking ties."""
    return (
        SearchCriteria()
        .where("created_at", format_magento_time(since), "gteq")
        .order_by("created_at")
        .order_by("entity_id")
    )


def created_since(client: MagentoClient, since: datetime) -> Iterator[tuple[str, dict]]:
    """Every order, then invoice, then credit memo created at or after `since`, as `(entity, record)`."""
    for entity, search in BACKFILL_SOURCES:
        for record in search(client, since_criteria(since)):
            yield entity, record


def backfill(
    svc: Services,
    client: MagentoClient,
    run: RunRecorder,
    *,
    imports: Mapping[str, Callable[[int], object]],
    since: datetime,
) -> dict[str, int]:
    """Queue the import of every sales record created since `since` that is not in the POS yet; counts by entity.

    Run counts: `created` = imports queued for records never seen, `updated` = imports queued again for records
    pending or failed, `unchanged` = records already in the POS or whose import job is already waiting,
    `failed` = records whose id could not be read.
    """
    seen: dict[str, int] = {}
    for entity, record in created_since(client, since):
        seen[entity] = seen.get(entity, 0) + 1
        try:
            record_id = magento_id(record.get("entity_id"), f"{entity_name(entity)} entity_id")
        except MappingError as exc:
            run.fail(f"{entity}-{record.get('entity_id')}", str(exc))
            continue
        link = get_link(svc.state_engine, entity, record_id)
        if link is not None and link.status == LINK_SYNCED:
            run.count(unchanged=1)
            continue
        enqueued = svc.queues.enqueue(
            QUEUE_INBOUND,
            imports[entity],
            record_id,
            job_id=job_id(entity, record_id),
            meta={"event": "backfill", "run_id": run.run_id},
        )
        if enqueued.status == "duplicate":
            run.count(unchanged=1)
        elif link is None:
            run.count(created=1)
        else:
            run.count(updated=1)
    log.info("backfill read", extra={"run_id": run.run_id, "since": format_magento_time(since), **seen})
    return seen


def preview_backfill(importer: Importer, since: datetime) -> Iterator[Preview]:
    """What a backfill since `since` would do with each record, writing nothing."""
    orders: dict[int, dict] = {}
    for entity, record in created_since(importer.client, since):
        yield preview_record(importer, entity, record, orders)


def preview_record(importer: Importer, entity: str, record: dict, orders: dict[int, dict]) -> Preview:
    """What the import of `record` would do now; `orders` caches the orders read for invoices and credit memos."""
    raw_id = record.get("entity_id")
    increment_id = str(record.get("increment_id") or "") or None
    try:
        record_id = magento_id(raw_id, f"{entity_name(entity)} entity_id")
    except MappingError as exc:
        return Preview(entity, 0, increment_id, VERDICT_REFUSE, str(exc))

    def verdict(name: str, reason: str | None = None) -> Preview:
        return Preview(entity, record_id, increment_id, name, reason)

    link = get_link(importer.state_engine, entity, record_id)
    if link is not None and link.status == LINK_SYNCED:
        return verdict(VERDICT_IN_POS, f"POS id {link.pos_id}" if link.pos_id else None)
    try:
        if entity == ENTITY_ORDER:
            return _preview_order(importer, record, verdict)
        order = _order_of(importer, record, entity, orders)
        if entity == ENTITY_INVOICE:
            if importer.gateway.find_invoice(record_id) is not None:
                return verdict(VERDICT_IN_POS)
            validation.valid_invoice(mappers.invoice_to_pos(record, order, pos_currency=importer.pos_currency))
        else:
            if importer.gateway.find_credit_note(record_id) is not None:
                return verdict(VERDICT_IN_POS)
            validation.valid_credit_note(mappers.creditmemo_to_pos(record, order, pos_currency=importer.pos_currency))
    except (MappingError, PosValidationError) as exc:
        return verdict(VERDICT_REFUSE, _refusal(exc))
    return verdict(VERDICT_WRITE)


def _preview_order(importer: Importer, order: dict, verdict: Callable[..., Preview]) -> Preview:
    order_id = magento_id(order.get("entity_id"), "order entity_id")
    if importer.gateway.find_sale(order_id) is not None:
        return verdict(VERDICT_IN_POS)
    decision = mappers.order_decision(order, importer.write_states)
    if decision.action == mappers.ACTION_WAIT:
        return verdict(VERDICT_WAIT, decision.reason)
    if decision.action == mappers.ACTION_SKIP:
        return verdict(VERDICT_SKIP, decision.reason)
    bundle_skus = mappers.fixed_bundle_skus(order)
    prices = {p.sku: p.retail_price for p in importer.gateway.get_prices(bundle_skus)} if bundle_skus else {}
    sale = validation.valid_sale(mappers.order_to_sale(order, pos_currency=importer.pos_currency, retail_prices=prices))
    # The SKUs the POS must know, as its sale write checks them: every stocked line, and any line that is not a
    # service the POS creates on first sale (gift wrapping).
    needed = sorted({line.sku for line in sale.lines if line.stock or line.sku not in SERVICE_SKUS})
    known = {product.sku for product in importer.gateway.get_products(needed)}
    unknown = [sku for sku in needed if sku not in known]
    if unknown:
        raise PosValidationError(
            f"sale for Magento order {order_id}: unknown SKU {', '.join(repr(sku) for sku in unknown)}"
        )
    validation.check_reconciles(sale)
    if importer.locations is not None:
        return verdict(VERDICT_WRITE, f"at POS location {importer.locations.location_of(order)}")
    return verdict(VERDICT_WRITE)


def _order_of(importer: Importer, record: dict, entity: str, orders: dict[int, dict]) -> dict:
    order_id = mappers.order_id_of(record, entity_name(entity))
    if order_id not in orders:
        try:
            orders[order_id] = magento_sales.get_order(importer.client, order_id)
        except MagentoPermanentError as exc:
            raise MappingError(f"Magento did not give its order {order_id}: {exc}") from exc
    return orders[order_id]


def _refusal(exc: Exception) -> str:
    if isinstance(exc, PosValidationError):
        return f"the POS would refuse it: {exc}"
    return f"it cannot be mapped to the POS: {exc}"
