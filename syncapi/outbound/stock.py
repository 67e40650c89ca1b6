"""Stock push: the POS's on-hand at each STOCK_SOURCES location to that location's MSI source item.

`POST /V1/inventory/source-items` in batches, for SKUs Magento has (see `common`), every source of a SKU in
the same calls. Each source item gets max(0, on-hand - the location's STOCK_BUFFER); a mapped location
without a stock row counts as 0; the item is in stock exactly when that quantity is above 0. Magento keeps
its own reservations for unshipped orders and subtracts them from the salable quantity, so the POS's on-hand
is written as it is (magento/inventory #2725).

Magento refuses a whole source-items request when one `source_code` is unknown, so the run first reads the
store's sources (`GET /V1/inventory/sources`) and leaves out the pairs whose source it lacks, reporting each
once in the run's errors under the mapping entry (`SHOP1:shop_9`); the other sources' stock still goes.
What was sent is remembered per SKU and source, so an unchanged source item is not sent again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from syncapi.config import Settings
from syncapi.magento import inventory
from syncapi.outbound import mapping
from syncapi.outbound.common import NOT_IN_POS, split_known
from syncapi.outbound.context import PushContext, Tally
from syncapi.outbound.delta import HASH_STOCK, PosRecords, changed_keys, hash_of
from syncapi.outbound.held import held_for_shipment
from syncapi.outbound.records import push_records
from syncapi.pos.gateway import Batch, Cursor
from syncapi.state import put_hashes

KIND = "stock"


@dataclass(frozen=True)
class SkuStock:
    """A product's on-hand at the mapped locations that have a stock row for it (the others: 0)."""

    sku: str
    on_hand: tuple[tuple[str, Decimal], ...]

    def at(self, location: str) -> Decimal:
        """The on-hand at `location` (0 without a stock row there)."""
        return dict(self.on_hand).get(location, Decimal(0))


def push_stock(ctx: PushContext, *, full: bool = False, keys: list[str] | None = None) -> None:
    """One stock run: the SKUs asked for, or what changed since the last run (everything with `full`)."""
    push_records(
        ctx, KIND, stock_records(ctx), lambda stocks: push_levels(ctx, stocks, ctx.tally), full=full, keys=keys
    )


def stock_records(ctx: PushContext) -> PosRecords[SkuStock]:
    """How the stock push reads the POS: one record per SKU changed at any mapped location."""
    locations = list(ctx.settings.stock_sources or {})

    def changed(after: Cursor | None, limit: int) -> Batch[SkuStock]:
        batch = ctx.gateway.changed_stock(after, limit, locations=locations)
        skus = list(dict.fromkeys(level.sku for level in batch.items))
        return Batch(tuple(stock_of(ctx, skus)), batch.cursor, batch.checkpoint, batch.has_more)

    return PosRecords(
        changed,
        lambda skus: stock_of(ctx, skus),
        key_of=lambda stock: stock.sku,
        count=lambda: ctx.gateway.count_stock(locations=locations),
        noun=KIND,
        missing=NOT_IN_POS,
    )


def stock_of(ctx: PushContext, skus: Iterable[str]) -> list[SkuStock]:
    """The stock of `skus` at the mapped locations; a POS product without stock rows has 0 everywhere, a SKU
    the POS does not have is left out."""
    skus = list(dict.fromkeys(skus))
    rows: dict[str, dict[str, Decimal]] = {}
    for level in ctx.gateway.get_stock(skus, locations=list(ctx.settings.stock_sources or {})):
        rows.setdefault(level.sku, {})[level.location_code] = level.on_hand
    missing = [sku for sku in skus if sku not in rows]
    if missing:
        for price in ctx.gateway.get_prices(missing):
            rows[price.sku] = {}
    return [SkuStock(sku, tuple(sorted(rows[sku].items()))) for sku in skus if sku in rows]


def web_quantity(settings: Settings, location: str, on_hand: Decimal) -> Decimal:
    """What the web gets from `location`: max(0, on-hand - the location's STOCK_BUFFER)."""
    return max(Decimal(on_hand) - (settings.stock_buffer or {}).get(location, 0), Decimal(0))


def usable_sources(ctx: PushContext) -> dict[str, str]:
    """The STOCK_SOURCES pairs whose source Magento has (asked once per run); each other pair is reported once
    in the run's errors, keyed by its mapping entry."""
    if ctx.stock_sources is not None:
        return ctx.stock_sources
    codes = inventory.source_codes(ctx.client)
    usable = {}
    for location, source in (ctx.settings.stock_sources or {}).items():
        if source in codes:
            usable[location] = source
        else:
            entry = f"{location}:{source}"
            message = (
                f"Magento has no MSI source {source!r}, so the stock of POS location {location!r} was not sent; "
                f"fix the entry {entry!r} of STOCK_SOURCES or add the source in Magento"
            )
            ctx.report_once(f"stock source {entry}", message, key=entry)
    ctx.stock_sources = usable
    return usable


def source_entries(
    ctx: PushContext,
    stocks: Iterable[SkuStock],
    sources: dict[str, str],
    held: Mapping[str, Decimal] | None = None,
) -> dict[str, dict]:
    """`{hash key: source item}` for every SKU of `stocks` at every usable source; the key is `sku/source`.

    `held`: units per SKU that written web sales took from POS_LOCATION_CODE while Magento still holds them
    reserved; they are added back at that location's source."""
    held = held or {}
    web = ctx.settings.pos_location_code

    def on_hand(stock: SkuStock, location: str) -> Decimal:
        return stock.at(location) + (held.get(stock.sku, Decimal(0)) if location == web else Decimal(0))

    return {
        hash_key(stock.sku, source): mapping.source_item_entry(
            stock.sku, source, web_quantity(ctx.settings, location, on_hand(stock, location))
        )
        for stock in stocks
        for location, source in sources.items()
    }


def hash_key(sku: str, source: str) -> str:
    """The hash key of one source item."""
    return f"{sku}/{source}"


def push_new_products(ctx: PushContext, skus: list[str]) -> None:
    """Send the stock of products the product push just put in Magento (errors go to the run's errors)."""
    if skus:
        push_levels(ctx, stock_of(ctx, skus), None, known=set(skus))


def push_levels(ctx: PushContext, stocks: list[SkuStock], tally: Tally | None, known: set[str] | None = None) -> None:
    """Send the source items that changed since Magento last accepted them, for SKUs Magento has."""
    if known is None:
        known = split_known(ctx, [stock.sku for stock in stocks], tally)
    stocks = [stock for stock in stocks if stock.sku in known]
    if not stocks:
        return
    # Units of written web sales Magento still holds reserved go back on (outbound.held, docs/sync.md).
    held = held_for_shipment(ctx, [stock.sku for stock in stocks])
    entries = source_entries(ctx, stocks, usable_sources(ctx), held=held)
    wanted = {key: hash_of(mapping.stock_hash_input(entry)) for key, entry in entries.items()}
    changed, stored = changed_keys(ctx.state_engine, HASH_STOCK, wanted, force=ctx.force)
    failed = inventory.write_source_items(ctx.client, [entries[key] for key in changed], ctx.batching)
    accepted = {key: (value, None) for key, value in changed.items() if entries[key]["sku"] not in failed}
    if accepted:
        put_hashes(ctx.state_engine, HASH_STOCK, accepted)
    sent: dict[str, bool] = {}  # SKU → whether Magento had one of its source items before
    for key in changed:
        sku = entries[key]["sku"]
        sent[sku] = sent.get(sku, False) or key in stored
    for sku, message in failed.items():
        if tally is not None:
            tally.failed(sku, message)
        else:
            ctx.recorder.error(sku, message)
    if tally is None:
        return
    for stock in stocks:
        if stock.sku in failed:
            continue
        if stock.sku not in sent:
            tally.unchanged(stock.sku)
        elif sent[stock.sku]:
            tally.updated(stock.sku)
        else:
            tally.created(stock.sku)
