"""Tier prices: the POS's `price_levels` (SKU, customer group code, minimum quantity, price) → Magento tier
prices, with the `prices` kind.

Each level is a fixed price (`price_type` `fixed`) for every website (`website_id` 0, the global price scope)
and one customer group, matched by code without regard to case against `GET /V1/customerGroups/search` (as
Magento compares codes); `ALL GROUPS` means every group. A SKU with a level for a group Magento lacks fails in
the run, naming the code, and none of its levels is sent: the service never creates groups.

A SKU's levels travel together: `PUT /V1/products/tier-prices` replaces every tier price of the SKUs it names, so
a level the POS dropped goes too. A SKU whose levels are all gone has its tier prices read
(`tier-prices-information`) and deleted (`tier-prices-delete`). Magento answers these calls 200 with the rows
it refused; a refused row fails its SKU, which is sent again by the next run.

Changes are found by content: a SKU's levels have one hash (`HASH_TIER_PRICES`). A price run looks at the
levels of every product it reads, and a scheduled run also at every SKU that has levels or had them sent, since
editing a level changes nothing on the product's row.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from weakref import WeakKeyDictionary

from syncapi.magento import customers as magento_customers
from syncapi.magento import prices as magento_prices
from syncapi.outbound.context import READ_BATCH, PushContext, Tally
from syncapi.outbound.delta import HASH_TIER_PRICES, changed_keys, hash_of, known_products
from syncapi.outbound.mapping import MAPPING_VERSION, number
from syncapi.pos.pricing import PriceLevel
from syncapi.state import delete_hashes, hashed_keys, put_hashes

#: Magento's customer groups, read once per run (by code in lower case).
_GROUPS: WeakKeyDictionary[PushContext, dict[str, dict]] = WeakKeyDictionary()
_GROUPS_LOCK = threading.Lock()


def push_all_tier_prices(ctx: PushContext) -> None:
    """The content pass of a scheduled run: every SKU with levels in the POS or tier prices sent before."""
    skus = sorted(set(ctx.gateway.price_level_skus()) | set(hashed_keys(ctx.state_engine, HASH_TIER_PRICES)))
    for start in range(0, len(skus), READ_BATCH):
        push_tier_prices(ctx, skus[start : start + READ_BATCH], ctx.tally)


def push_tier_prices(
    ctx: PushContext, skus: Iterable[str], tally: Tally | None, *, known: set[str] | None = None
) -> set[str]:
    """Send the tier prices of `skus` (those Magento has, or `known`) whose levels changed; the SKUs written
    or failed."""
    skus = list(known if known is not None else known_products(ctx.state_engine, skus))
    if not skus:
        return set()
    by_sku: dict[str, list[PriceLevel]] = {}
    for level in ctx.gateway.get_price_levels(skus):
        by_sku.setdefault(level.sku, []).append(level)
    bodies, unknown = _bodies(ctx, by_sku)
    for sku, codes in unknown.items():
        _fail(
            ctx,
            tally,
            sku,
            f"tier prices not sent: customer group {', '.join(repr(c) for c in codes)} is not in Magento "
            "(create it there, or correct price_levels.customer_group)",
        )
    wanted = {sku: hash_of({"v": MAPPING_VERSION, "tiers": bodies.get(sku, [])}) for sku in skus if sku not in unknown}
    changed, stored = changed_keys(ctx.state_engine, HASH_TIER_PRICES, wanted, force=ctx.force)
    # A SKU that never had levels sent has nothing to clear.
    changed = {sku: value for sku, value in changed.items() if bodies.get(sku) or sku in stored}
    client, batching = ctx.client, ctx.batching
    entries = [entry for sku in changed for entry in bodies.get(sku, [])]
    failed = magento_prices.replace_tier_prices(client, entries, batching)
    cleared = [sku for sku in changed if not bodies.get(sku)]
    if cleared:
        current, unreadable = magento_prices.read_tier_prices(client, cleared, batching)
        failed.update(unreadable)
        failed.update(
            magento_prices.remove_tier_prices(client, [e for e in current if e["sku"] not in failed], batching)
        )
    accepted = {sku: value for sku, value in changed.items() if sku not in failed}
    put_hashes(ctx.state_engine, HASH_TIER_PRICES, {sku: (v, None) for sku, v in accepted.items() if bodies.get(sku)})
    delete_hashes(ctx.state_engine, HASH_TIER_PRICES, [sku for sku in accepted if not bodies.get(sku)])
    for sku, message in failed.items():
        _fail(ctx, tally, sku, message)
    if tally is not None:
        for sku in accepted:
            tally.updated(sku)
    return set(changed) | set(unknown)


def _bodies(ctx: PushContext, by_sku: dict[str, list[PriceLevel]]) -> tuple[dict[str, list[dict]], dict]:
    """Each SKU's tier-price entries, and the SKUs with group codes Magento lacks (with those codes)."""
    all_groups = magento_prices.ALL_GROUPS.lower()
    codes = {level.customer_group.strip().lower() for levels in by_sku.values() for level in levels}
    groups = _groups(ctx) if codes - {all_groups} else {}
    bodies: dict[str, list[dict]] = {}
    unknown: dict[str, list[str]] = {}
    for sku, levels in by_sku.items():
        for level in levels:
            code = level.customer_group.strip()
            if code.lower() == all_groups:
                group = magento_prices.ALL_GROUPS
            elif code.lower() in groups:
                group = str(groups[code.lower()]["code"])
            else:
                unknown.setdefault(sku, []).append(code)
                continue
            bodies.setdefault(sku, []).append(
                magento_prices.tier_price(sku, group, number(level.min_qty), number(level.price))
            )
    return bodies, unknown


def _groups(ctx: PushContext) -> dict[str, dict]:
    with _GROUPS_LOCK:
        if ctx not in _GROUPS:
            _GROUPS[ctx] = magento_customers.group_codes(ctx.client)
        return _GROUPS[ctx]


def _fail(ctx: PushContext, tally: Tally | None, sku: str, message: str) -> None:
    if tally is not None:
        tally.failed(sku, message)
    else:
        ctx.recorder.error(sku, message)
