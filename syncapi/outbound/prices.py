"""Price push: retail price → Magento's base price, sale price → special price (removed when the POS has none).

Through the list endpoints, one call per `MAGENTO_BATCH_SIZE` SKUs: `POST /V1/products/base-prices`,
`POST /V1/products/special-price` and `POST /V1/products/special-price-delete` (a per-product save costs about a
second on a real store, magento2 #5739). Special prices are written open-ended from `SPECIAL_PRICE_FROM`; on
removal the special prices Magento holds for the SKU are read first (`special-price-information`) and deleted,
whoever set them. Only SKUs Magento has are sent (see `common`); a configurable product's prices are its
variants' prices, as the POS holds them.
"""

from __future__ import annotations

from syncapi.magento import prices as magento_prices
from syncapi.outbound import mapping
from syncapi.outbound.common import NOT_IN_POS, settle, split_known
from syncapi.outbound.context import PushContext, Tally
from syncapi.outbound.delta import HASH_PRICES, PosRecords, changed_keys, hash_of
from syncapi.outbound.records import push_records
from syncapi.pos.gateway import Price

KIND = "prices"


def push_prices(ctx: PushContext, *, full: bool = False, keys: list[str] | None = None) -> None:
    """One price run: the SKUs asked for, or what changed since the last run (everything with `full`)."""
    records = PosRecords(
        ctx.gateway.changed_prices,
        ctx.gateway.get_prices,
        key_of=lambda price: price.sku,
        count=ctx.gateway.count_products,
        noun=KIND,
        missing=NOT_IN_POS,
    )
    push_records(ctx, KIND, records, lambda batch: push_price_records(ctx, batch, ctx.tally), full=full, keys=keys)


def push_new_products(ctx: PushContext, skus: list[str]) -> None:
    """Send the prices of products the product push just created (errors go to the run's errors)."""
    if skus:
        push_price_records(ctx, ctx.gateway.get_prices(skus), None, known=set(skus), fresh=True)


def push_price_records(
    ctx: PushContext,
    records: list[Price],
    tally: Tally | None,
    *,
    known: set[str] | None = None,
    fresh: bool = False,
) -> None:
    """Send the prices that changed since Magento last accepted them; `fresh`: the products are brand new."""
    if known is None:
        known = split_known(ctx, [record.sku for record in records], tally)
    records = [record for record in records if record.sku in known]
    wanted = {r.sku: hash_of(mapping.price_hash_input(r.retail_price, r.sale_price)) for r in records}
    changed, stored = changed_keys(ctx.state_engine, HASH_PRICES, wanted, force=ctx.force)
    if tally is not None:
        for sku in wanted.keys() - changed.keys():
            tally.unchanged(sku)
    to_send = [record for record in records if record.sku in changed]
    client, batching = ctx.client, ctx.batching
    failed = magento_prices.set_base_prices(
        client, [mapping.base_price_entry(r.sku, r.retail_price) for r in to_send], batching
    )
    specials = [
        mapping.special_price_entry(r.sku, r.sale_price)
        for r in to_send
        if r.sale_price is not None and r.sku not in failed
    ]
    failed.update(magento_prices.set_special_prices(client, specials, batching))
    if not fresh:
        # A new product has no special price to remove; any other may have one (ours, or set in Magento).
        removals = [r.sku for r in to_send if r.sale_price is None and r.sku not in failed]
        current, unreadable = magento_prices.read_special_prices(client, removals, batching)
        failed.update(unreadable)
        entries = [entry for entry in current if entry.get("sku") not in failed]
        failed.update(magento_prices.remove_special_prices(client, entries, batching))
    sent = {sku: changed[sku] for sku in (r.sku for r in to_send)}
    settle(ctx, HASH_PRICES, sent, failed, stored, tally)
