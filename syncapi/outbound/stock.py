"""Stock push: the POS's on-hand at POS_LOCATION_CODE to the MSI source item at MAGENTO_SOURCE_CODE.

`POST /V1/inventory/source-items` in batches, for SKUs Magento has (see `common`). Magento keeps its own
reservations for unshipped orders and subtracts them from the salable quantity, so the POS's on-hand is written
as it is (magento/inventory #2725); a negative on-hand is written as 0.
"""

from __future__ import annotations

from decimal import Decimal

from syncapi.magento import inventory
from syncapi.outbound import mapping
from syncapi.outbound.common import NOT_IN_POS, settle, split_known
from syncapi.outbound.context import PushContext, Tally
from syncapi.outbound.delta import HASH_STOCK, PosRecords, changed_keys, hash_of
from syncapi.outbound.held import held_for_shipment
from syncapi.outbound.records import push_records
from syncapi.pos.gateway import StockLevel

KIND = "stock"


def push_stock(ctx: PushContext, *, full: bool = False, keys: list[str] | None = None) -> None:
    """One stock run: the SKUs asked for, or what changed since the last run (everything with `full`)."""
    records = PosRecords(
        ctx.gateway.changed_stock,
        lambda skus: levels_of(ctx, skus),
        key_of=lambda level: level.sku,
        count=ctx.gateway.count_stock,
        noun=KIND,
        missing=NOT_IN_POS,
    )
    push_records(ctx, KIND, records, lambda levels: push_levels(ctx, levels, ctx.tally), full=full, keys=keys)


def levels_of(ctx: PushContext, skus: list[str]) -> list[StockLevel]:
    """The stock of `skus` at the location; a POS product without a stock row there has 0 on hand."""
    found = {level.sku: level for level in ctx.gateway.get_stock(skus)}
    missing = [sku for sku in skus if sku not in found]
    if missing:
        for price in ctx.gateway.get_prices(missing):
            found[price.sku] = StockLevel(price.sku, ctx.gateway.location_code, Decimal(0), price.updated_at)
    return [found[sku] for sku in skus if sku in found]


def push_new_products(ctx: PushContext, skus: list[str]) -> None:
    """Send the stock of products the product push just put in Magento (errors go to the run's errors)."""
    if skus:
        push_levels(ctx, levels_of(ctx, skus), None, known=set(skus))


def push_levels(ctx: PushContext, levels: list[StockLevel], tally: Tally | None, known: set[str] | None = None) -> None:
    """Send the levels that changed since Magento last accepted them, for SKUs Magento has."""
    if known is None:
        known = split_known(ctx, [level.sku for level in levels], tally)
    # Units of written web sales Magento still holds reserved go back on (outbound.held, docs/sync.md).
    held = held_for_shipment(ctx, [level.sku for level in levels if level.sku in known])
    entries = {
        level.sku: mapping.source_item_entry(
            level.sku, ctx.settings.magento_source_code, level.on_hand + held.get(level.sku, 0)
        )
        for level in levels
        if level.sku in known
    }
    wanted = {sku: hash_of(mapping.stock_hash_input(entry)) for sku, entry in entries.items()}
    changed, stored = changed_keys(ctx.state_engine, HASH_STOCK, wanted, force=ctx.force)
    if tally is not None:
        for sku in wanted.keys() - changed.keys():
            tally.unchanged(sku)
    failed = inventory.write_source_items(ctx.client, [entries[sku] for sku in changed], ctx.batching)
    settle(ctx, HASH_STOCK, changed, failed, stored, tally)
