"""Order actions of Magento_Sales' OrderManagementInterface: cancel, hold and unhold (`POST /V1/orders/{id}/...`).

As Magento 2.4 does them (`Magento\\Sales\\Model\\Order`): `cancel` answers `false` and changes nothing unless
`canCancel()` (not on hold, not in payment review, something left to invoice, not canceled, complete or closed);
it cancels each item's `getQtyToCancel()` (what is neither invoiced nor shipped) into `qty_canceled`, records the
order's `*_canceled` amounts (what was not invoiced), and moves the order to `canceled`, or to `processing` /
`complete` when part of it was invoiced (`registerCancellation`). `hold` keeps the state it leaves in
`hold_before_state` / `hold_before_status`; `unhold` brings it back. Both refuse with a 400 when not available.
"""

from __future__ import annotations

from decimal import Decimal

from sandbox import seed
from sandbox.errors import MagentoHttpError
from sandbox.routing import ROUTER, Call, int_or_none
from sandbox.sales import ENTITY_NOT_FOUND
from sandbox.state import SandboxState

ACL_CANCEL = "Magento_Sales::cancel"
ACL_HOLD = "Magento_Sales::hold"
ACL_UNHOLD = "Magento_Sales::unhold"
HOLD_NOT_AVAILABLE = "A hold action is not available."
UNHOLD_NOT_AVAILABLE = "You cannot remove the hold."
#: States in which an order can never be canceled or held.
FINAL_STATES = ("canceled", "complete", "closed")


def _order(state: SandboxState, call: Call) -> dict:
    order = state.orders.get(int_or_none(call.params["id"]))
    if order is None:
        raise MagentoHttpError(404, ENTITY_NOT_FOUND)
    return order


def _moved(order: dict, state: str, status: str | None = None) -> bool:
    """Move the order to `state` (its default status unless `status`), saved now; Magento's answer `true`."""
    order["state"], order["status"] = state, status or state
    order["updated_at"] = seed.now()
    return True


def _qty(item: dict, key: str) -> Decimal:
    return Decimal(str(item.get(key) or 0))


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def _qty_to_cancel(item: dict) -> Decimal:
    """`Item::getQtyToCancel()`: the least of what is left to invoice and what is left to ship."""
    ordered, canceled = _qty(item, "qty_ordered"), _qty(item, "qty_canceled")
    to_invoice = ordered - _qty(item, "qty_invoiced") - canceled
    to_ship = ordered - _qty(item, "qty_shipped") - _qty(item, "qty_refunded") - canceled
    return max(min(to_invoice, to_ship), Decimal(0))


def can_cancel(order: dict) -> bool:
    """`Order::canCancel()`."""
    if order.get("state") in ("holded", "payment_review", *FINAL_STATES):
        return False
    return any(
        _qty(item, "qty_ordered") - _qty(item, "qty_invoiced") - _qty(item, "qty_canceled") > 0
        for item in order.get("items", [])
    )


def _cancel_amounts(order: dict) -> None:
    """The order's `*_canceled` amounts: what of each was not invoiced (`Order::registerCancellation`)."""
    for name in ("subtotal", "tax", "shipping"):
        for prefix in ("", "base_"):
            total = Decimal(str(order.get(f"{prefix}{name}_amount" if name != "subtotal" else f"{prefix}{name}") or 0))
            invoiced = Decimal(str(order.get(f"{prefix}{name}_invoiced") or 0))
            order[f"{prefix}{name}_canceled"] = _money(total - invoiced)
    for prefix in ("", "base_"):
        discount = abs(Decimal(str(order.get(f"{prefix}discount_amount") or 0)))
        invoiced = abs(Decimal(str(order.get(f"{prefix}discount_invoiced") or 0)))
        order[f"{prefix}discount_canceled"] = _money(discount - invoiced)
        paid = Decimal(str(order.get(f"{prefix}total_paid") or 0))
        order[f"{prefix}total_canceled"] = _money(Decimal(str(order.get(f"{prefix}grand_total") or 0)) - paid)


@ROUTER.route("POST", "/V1/orders/{id}/cancel", ACL_CANCEL)
def cancel_order(state: SandboxState, call: Call):
    with state.lock:
        order = _order(state, call)
        if not can_cancel(order):
            return False
        new_state = "canceled"
        for item in order.get("items", []):
            to_cancel = _qty_to_cancel(item)
            to_refund = _qty(item, "qty_invoiced") - _qty(item, "qty_refunded")
            item["qty_canceled"] = float(_qty(item, "qty_canceled") + to_cancel)
            if new_state != "processing" and to_refund > 0:
                left_to_ship = _qty(item, "qty_ordered") - _qty(item, "qty_shipped") - _qty(item, "qty_canceled")
                new_state = "processing" if left_to_ship > 0 else "complete"
        _cancel_amounts(order)
        return _moved(order, new_state)


@ROUTER.route("POST", "/V1/orders/{id}/hold", ACL_HOLD)
def hold_order(state: SandboxState, call: Call):
    with state.lock:
        order = _order(state, call)
        if order.get("state") in ("holded", "payment_review", *FINAL_STATES):
            raise MagentoHttpError(400, HOLD_NOT_AVAILABLE)
        order["hold_before_state"], order["hold_before_status"] = order.get("state"), order.get("status")
        return _moved(order, "holded")


@ROUTER.route("POST", "/V1/orders/{id}/unhold", ACL_UNHOLD)
def unhold_order(state: SandboxState, call: Call):
    with state.lock:
        order = _order(state, call)
        if order.get("state") != "holded":
            raise MagentoHttpError(400, UNHOLD_NOT_AVAILABLE)
        before = order.pop("hold_before_state", None) or "new"
        return _moved(order, before, order.pop("hold_before_status", None))
