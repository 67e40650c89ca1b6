"""Price push: retail price → Magento's base price, sale price → special price (removed when the POS has none),
price levels → tier prices (`tier_prices`).

Through the list endpoints, one call per `MAGENTO_BATCH_SIZE` SKUs: `POST /V1/products/base-prices`,
`POST /V1/products/special-price` and `POST /V1/products/special-price-delete` (a per-product save costs about a
second on a real store, magento2 #5739). A sale price becomes a special price from its first day 00:00:00 to
its last day 23:59:59 (days in `STORE_TIMEZONE`; open-ended: from `SPECIAL_PRICE_FROM`, no end); one whose last
day has passed is not sent. The special prices Magento holds for the SKU are read first
(`special-price-information`): those with other dates are deleted before the new one is written, and all of
them when the POS has no sale price (or an ended one), whoever set them. Only SKUs Magento has are sent (see
`common`); a configurable product's prices are its variants' prices, as the POS holds them.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from syncapi.magento import prices as magento_prices
from syncapi.outbound import mapping
from syncapi.outbound.common import NOT_IN_POS, settle, split_known
from syncapi.outbound.context import READ_BATCH, PushContext, Tally
from syncapi.outbound.delta import HASH_PRICES, PosRecords, changed_keys, hash_of, known_products
from syncapi.outbound.records import push_records
from syncapi.outbound.tier_prices import push_all_tier_prices, push_tier_prices
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
    if keys is None and not full:
        push_all_tier_prices(ctx)
        # A sale that ended changed nothing in the POS: look for them, so Magento's copy is removed.
        ended = ctx.gateway.ended_sales(store_today(ctx.settings.store_timezone))
        for start in range(0, len(ended), READ_BATCH):
            chunk = [sku for sku in ended[start : start + READ_BATCH] if not ctx.tally.counted(sku)]
            # Only what Magento has: a product not pushed yet gets its prices with its product push.
            known = set(known_products(ctx.state_engine, chunk))
            push_price_records(ctx, ctx.gateway.get_prices(sorted(known)), ctx.tally, known=known, quiet=True)


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
    quiet: bool = False,
) -> None:
    """Send the prices that changed since Magento last accepted them; `fresh`: the products are brand new;
    `quiet`: SKUs found unchanged are not counted (a pass over ended sales, most of them long removed)."""
    if known is None:
        known = split_known(ctx, [record.sku for record in records], tally)
    today = store_today(ctx.settings.store_timezone)
    sales: dict[str, mapping.SaleWindow | None] = {}
    for record in records:
        if record.sku not in known:
            continue
        window = mapping.SaleWindow(record.sale_price_from, record.sale_price_to)
        problem = window.problem() if record.sale_price is not None else None
        if problem is not None:
            _refuse(ctx, tally, record.sku, problem)
        elif record.sale_price is not None and not window.ended(today):
            sales[record.sku] = window
        else:
            sales[record.sku] = None  # no sale price, or one that has ended: Magento should hold none
    records = [record for record in records if record.sku in sales]
    wanted = {
        r.sku: hash_of(mapping.price_hash_input(r.retail_price, r.sale_price if sales[r.sku] else None, sales[r.sku]))
        for r in records
    }
    changed, stored = changed_keys(ctx.state_engine, HASH_PRICES, wanted, force=ctx.force)
    tiers = push_tier_prices(ctx, list(sales), tally, known=set(sales) if fresh else None)
    if tally is not None and not quiet:
        for sku in wanted.keys() - changed.keys() - tiers:
            tally.unchanged(sku)
    to_send = [record for record in records if record.sku in changed]
    client, batching = ctx.client, ctx.batching
    failed = magento_prices.set_base_prices(
        client, [mapping.base_price_entry(r.sku, r.retail_price) for r in to_send], batching
    )
    specials = {
        r.sku: mapping.special_price_entry(r.sku, r.sale_price, sales[r.sku])
        for r in to_send
        if sales[r.sku] is not None and r.sale_price is not None and r.sku not in failed
    }
    removals = [r.sku for r in to_send if sales[r.sku] is None and r.sku not in failed]
    current: list[dict] = []
    if not fresh:
        # A new product has no special price to remove; any other may have one (ours, or set in Magento), and
        # one with other dates must go first: Magento keeps one special price per store view, and deleting it
        # after the new one was written would delete that.
        current, unreadable = magento_prices.read_special_prices(client, [*specials, *removals], batching)
        failed.update(unreadable)
    stale = [entry for entry in current if entry.get("sku") in specials and _stale(entry, specials[entry["sku"]])]
    failed.update(magento_prices.remove_special_prices(client, stale, batching))
    failed.update(
        magento_prices.set_special_prices(client, [e for sku, e in specials.items() if sku not in failed], batching)
    )
    ended = [entry for entry in current if entry.get("sku") in set(removals) and entry.get("sku") not in failed]
    failed.update(magento_prices.remove_special_prices(client, ended, batching))
    sent = {sku: changed[sku] for sku in (r.sku for r in to_send)}
    settle(ctx, HASH_PRICES, sent, failed, stored, tally)


def store_today(timezone: str) -> date:
    """Today's date in the store's time zone (`STORE_TIMEZONE`): the day sale dates are compared with."""
    return datetime.now(ZoneInfo(timezone)).date()


def _stale(entry: dict, wanted: dict) -> bool:
    """True when a special price Magento holds is not the one about to be written (other dates or store)."""
    return any(entry.get(key) != wanted.get(key) for key in ("store_id", "price_from", "price_to"))


def _refuse(ctx: PushContext, tally: Tally | None, sku: str, problem: str) -> None:
    if tally is not None:
        tally.refused(sku, problem)
    else:
        ctx.recorder.error(sku, problem)
