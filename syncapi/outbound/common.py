"""What the stock and price pushes share: only SKUs Magento has get sent.

Magento answers 200 to source items of SKUs it does not have and stores nothing (magento2 #38154), and the
price endpoints refuse them one by one, so these pushes send only SKUs the product push created or found in
Magento. A product that is not internet-active (and not pushed, with PUSH_INACTIVE_PRODUCTS off) is left out
quietly. One that should be in Magento but is not yet is deferred, not failed: the product push sends the
stock and prices of every product it creates, and when it ends the deferred SKUs get a run of their own
(`jobs.outbound.requeue_deferred`), so a change read while the product was on its way is not lost. Deferred SKUs
wait in the state database until a run settles them (`syncapi.outbound.waiting`).
"""

from __future__ import annotations

from syncapi.outbound.context import PushContext, Tally
from syncapi.outbound.delta import known_products
from syncapi.state import put_hashes

NOT_IN_MAGENTO = "not in Magento yet, so not sent; the product push sends it when it creates the product"
NOT_IN_POS = "no such product in the POS"


def split_known(ctx: PushContext, skus: list[str], tally: Tally | None) -> set[str]:
    """The SKUs of `skus` that are in Magento; the others are counted (or reported, without a tally)."""
    known = set(known_products(ctx.state_engine, skus))
    unknown = [sku for sku in skus if sku not in known]
    if unknown:
        active = {price.sku: price.internet_active for price in ctx.gateway.get_prices(unknown)}
        for sku in unknown:
            if sku not in active:
                reason = NOT_IN_POS
            elif not (active[sku] or ctx.settings.push_inactive_products):
                if tally is not None:
                    tally.unchanged(sku)
                continue
            else:
                if tally is not None:
                    tally.deferred(sku)
                    continue
                reason = NOT_IN_MAGENTO
            if tally is not None:
                tally.failed(sku, reason)
            else:
                ctx.recorder.error(sku, reason)
    return known


def settle(
    ctx: PushContext, hash_kind: str, sent: dict[str, str], failed: dict[str, str], stored: dict, tally: Tally | None
) -> None:
    """After a list call: keep the hashes Magento accepted, and count each SKU sent as created, updated or failed
    (without a tally, failures are the run's errors: the work was done for another kind's run)."""
    accepted = {sku: (value, None) for sku, value in sent.items() if sku not in failed}
    if accepted:
        put_hashes(ctx.state_engine, hash_kind, accepted)
    for sku, message in failed.items():
        if tally is not None:
            tally.failed(sku, message)
        else:
            ctx.recorder.error(sku, message)
    if tally is not None:
        for sku in accepted:
            (tally.updated if sku in stored else tally.created)(sku)
