"""Units a written web sale took from POS stock that Magento still holds reserved, added back by the stock push.

With orders written at `processing` (ORDER_WRITE_STATES), the POS lowers on-hand when the sale is written, while
Magento keeps a reservation for the same units until the order ships (MSI subtracts reservations from the
salable quantity; the shipment deducts them from the source and clears the reservation). Sending the lowered
on-hand as the source quantity would count those units twice: the web shows them sold twice, and on the last
unit the shipment's source deduction fails. So the push sends on-hand plus what Magento has left to ship of
the web orders the POS already wrote (per SKU: the sale's quantity, at most the order items' quantity left to
ship), read from Magento's orders. An order with nothing left to ship is remembered (`sync_hashes`, kind
`shipped_orders`) and never read again. See docs/sync.md, "Stock while an order waits to ship".
"""

from __future__ import annotations

from decimal import Decimal

from syncapi.magento import sales
from syncapi.magento.errors import MagentoNotFoundError
from syncapi.outbound.context import PushContext
from syncapi.pos.fulfilments import FulfilmentGateway
from syncapi.state import get_hashes, put_hashes

#: Orders Magento has nothing left to ship of, by id (no reservation left): never read again.
HASH_SHIPPED_ORDERS = "shipped_orders"
SHIPPED_MARK = "shipped"
#: Order states written while Magento still holds the units reserved (not shipped yet).
UNSHIPPED_WRITE_STATES = ("new", "pending_payment", "processing")


def held_for_shipment(ctx: PushContext, skus: list[str]) -> dict[str, Decimal]:
    """Units of `skus` the POS's written web sales took that Magento still holds reserved, by SKU."""
    gateway = ctx.gateway
    if not skus or not isinstance(gateway, FulfilmentGateway):
        return {}
    if not set(ctx.settings.order_write_states) & set(UNSHIPPED_WRITE_STATES):
        return {}  # every written order was shipped already: Magento holds nothing back
    lines = gateway.web_sale_lines(skus)
    done = get_hashes(ctx.state_engine, HASH_SHIPPED_ORDERS, {str(order_id) for order_id, _s, _q in lines})
    open_orders = sorted({order_id for order_id, _sku, _qty in lines if str(order_id) not in done})
    # One read per order, in this thread: the stock push may itself run on the run's threads.
    left = {order_id: _left_to_ship(ctx, order_id) for order_id in open_orders}
    shipped = {
        str(order_id): ("", None) for order_id, rest in left.items() if rest is not None and not any(rest.values())
    }
    if shipped:
        put_hashes(ctx.state_engine, HASH_SHIPPED_ORDERS, shipped)
    held: dict[str, Decimal] = {}
    for order_id, sku, qty in lines:
        rest = left.get(order_id) or {}
        units = min(qty, rest.get(sku, Decimal(0)))
        if units > 0:
            held[sku] = held.get(sku, Decimal(0)) + units
    return held


def _left_to_ship(ctx: PushContext, order_id: int) -> dict[str, Decimal] | None:
    """What Magento has left to ship of the order, by SKU (a configurable's parent item carries the variant's SKU);
    None when the order cannot be read (it then holds nothing back this run)."""
    try:
        order = sales.get_order(ctx.client, order_id)
    except MagentoNotFoundError:
        return {}
    except Exception as exc:  # a read that fails holds nothing back; the next run reads the order again
        ctx.report_once(f"held:{order_id}", f"could not read Magento order {order_id} for its reservations: {exc}")
        return None
    rest: dict[str, Decimal] = {}
    for item in order.get("items") or []:
        if item.get("parent_item_id") is not None or item.get("sku") is None:
            continue
        units = Decimal(str(item.get("qty_ordered") or 0))
        for used in ("qty_shipped", "qty_refunded", "qty_canceled"):
            units -= Decimal(str(item.get(used) or 0))
        sku = str(item["sku"])
        rest[sku] = rest.get(sku, Decimal(0)) + max(units, Decimal(0))
    return rest
