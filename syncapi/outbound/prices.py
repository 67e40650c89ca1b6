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
from syncapi.magento.client import batches
from syncapi.outbound import mapping
from syncapi.outbound.common import NOT_IN_POS, settle, split_known
from syncapi.outbound.context import PushContext, Tally, outcome_of
from syncapi.outbound.delta import HASH_PRICES, changed_keys, hash_of
from syncapi.outbound.lists import send_entries
from syncapi.outbound.runner import push_records
from syncapi.pos.gateway import Price

KIND = "prices"


def push_prices(ctx: PushContext, *, full: bool = False, keys: list[str] | None = None) -> None:
    """One price run: the SKUs asked for, or what changed since the last run (everything with `full`)."""
    push_records(
        ctx,
        KIND,
        changed=ctx.gateway.changed_prices,
        by_keys=ctx.gateway.get_prices,
        key_of=lambda price: price.sku,
        push=lambda records: push_price_records(ctx, records, ctx.tally),
        missing=NOT_IN_POS,
        full=full,
        keys=keys,
        count=ctx.gateway.count_products,
    )


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
    failed = send_entries(
        ctx,
        magento_prices.BASE_PRICES,
        "prices",
        [mapping.base_price_entry(r.sku, r.retail_price) for r in to_send],
        "set base price",
    )
    specials = [
        mapping.special_price_entry(r.sku, r.sale_price)
        for r in to_send
        if r.sale_price is not None and r.sku not in failed
    ]
    failed.update(send_entries(ctx, magento_prices.SPECIAL_PRICES, "prices", specials, "set special price"))
    if not fresh:
        # A new product has no special price to remove; any other may have one (ours, or set in Magento).
        removals = [r.sku for r in to_send if r.sale_price is None and r.sku not in failed]
        current, unreadable = _special_prices(ctx, removals)
        failed.update(unreadable)
        entries = [entry for entry in current if entry.get("sku") not in failed]
        failed.update(
            send_entries(ctx, magento_prices.SPECIAL_PRICES_DELETE, "prices", entries, "remove special price")
        )
    sent = {sku: changed[sku] for sku in (r.sku for r in to_send)}
    settle(ctx, HASH_PRICES, sent, failed, stored, tally)


def _special_prices(ctx: PushContext, skus: list[str]) -> tuple[list[dict], dict[str, str]]:
    """The special prices Magento holds for `skus` (as entries to delete), and the SKUs that could not be read."""
    if not skus:
        return [], {}
    client = ctx.client
    found: list[dict] = []
    failed: dict[str, str] = {}
    chunks = list(batches(skus, ctx.settings.magento_batch_size))
    action = "read special prices"

    def read(chunk: list[str]):
        return outcome_of(action, lambda: magento_prices.special_prices(client, chunk))

    outcomes = ctx.map(read, chunks)
    ctx.check_transient(outcomes)
    for chunk, outcome in zip(chunks, outcomes, strict=True):
        if outcome.ok:
            found.extend(outcome.result)
            continue
        if outcome.transient or len(chunk) == 1:
            failed.update(dict.fromkeys(chunk, outcome.error or action))
            continue
        # One unknown SKU makes Magento refuse the whole read: read the chunk's SKUs one by one.
        for sku, single in zip(chunk, ctx.map(lambda sku: read([sku]), chunk), strict=True):
            if single.ok:
                found.extend(single.result)
            else:
                failed[sku] = single.error or action
    entries = [{key: value for key, value in entry.items() if value is not None} for entry in found]
    return [entry for entry in entries if entry.get("sku") in set(skus)], failed
