"""Orders: whether an order is written now, later or never, and an order as a POS sale reconciled to what the
customer owed, its refusal naming every figure when it does not add up (docs/money.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from syncapi.inbound.mappers.amounts import (
    base_amount,
    base_to_order_rate,
    check_currency,
    gift_wrapping,
    other_tenders,
    same_currency,
    unwritten,
)
from syncapi.inbound.mappers.customers import order_customer
from syncapi.inbound.mappers.lines import sale_lines
from syncapi.inbound.mappers.values import MappingError, magento_id, money, parse_magento_time, text_of
from syncapi.pos.gateway import (
    DEFAULT_PAYMENT_METHOD,
    GIFT_WRAPPING_SKU,
    TENDER_WEB_ORDERS,
    SaleIn,
    SaleLineIn,
    SaleTenderIn,
)
from syncapi.pos.validation import sale_mismatch

ORDER_STATE_CANCELED = "canceled"
ORDER_STATE_CLOSED = "closed"
#: States in which an order is never written, whatever ORDER_WRITE_STATES says: on hold, or its payment under
#: review; it may still be canceled or released (docs/sync.md).
WAITING_STATES = frozenset({"holded", "payment_review"})
#: States an order never leaves: one not written by then never will be.
FINAL_ORDER_STATES = frozenset({ORDER_STATE_CANCELED, ORDER_STATE_CLOSED})

ACTION_WRITE = "write"
ACTION_WAIT = "wait"
ACTION_SKIP = "skip"


@dataclass(frozen=True)
class OrderDecision:
    """What to do with an order in its current state: `write` it, `wait` for a later state, or `skip` it."""

    action: str
    reason: str | None = None


def order_decision(order: Mapping[str, Any], write_states: Iterable[str]) -> OrderDecision:
    """Whether an order is written now (its `state` is a write state), later, or never (canceled, closed)."""
    state = text_of(order.get("state")).lower()
    if not state:
        raise MappingError(f"order {order.get('entity_id')} has no state")
    wanted = tuple(s.lower() for s in write_states)
    if state == ORDER_STATE_CANCELED:
        return OrderDecision(ACTION_SKIP, "the order is canceled; canceled orders are not written to the POS")
    if state in WAITING_STATES and state in wanted:
        reason = "on hold" if state == "holded" else "in payment review"
        return OrderDecision(ACTION_WAIT, f"the order is {reason}; it is written when it is released")
    if state in wanted:
        return OrderDecision(ACTION_WRITE)
    listed = ", ".join(wanted) or "(none)"
    if state in FINAL_ORDER_STATES:
        return OrderDecision(
            ACTION_SKIP, f"the order is {state} and ORDER_WRITE_STATES is {listed}: it will not be written"
        )
    return OrderDecision(ACTION_WAIT, f"the order is {state}; it is written when it reaches {listed}")


#: The places of a gift wrapping line's tax percent.
PERCENT_PLACES = Decimal("0.0001")


def gift_wrapping_line(order: Mapping[str, Any], what: str) -> SaleLineIn | None:
    """The order's gift wrapping as one sale line (docs/money.md): `GIFT_WRAPPING_SKU`, qty 1 at the wrapping's
    base price, its tax, lowering no stock; None when the order has none."""
    price, tax = gift_wrapping(order, what)
    if not (price or tax):
        return None
    percent = (tax * 100 / price).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP) if price else Decimal(0)
    return SaleLineIn(
        sku=GIFT_WRAPPING_SKU,
        qty=Decimal(1),
        unit_price=price,
        line_total=price + tax,
        tax=tax,
        tax_percent=percent,
        stock=False,
    )


def order_to_sale(
    order: Mapping[str, Any],
    *,
    pos_currency: str | None = None,
    retail_prices: Mapping[str, Decimal] | None = None,
) -> SaleIn:
    """An order as a POS sale in the base currency, reconciled to what the customer owed to the cent, or
    `MappingError` naming every figure (docs/money.md)."""
    number = magento_id(order.get("entity_id"), "order entity_id")
    label = f"order {text_of(order.get('increment_id')) or number}"
    items = order.get("items")
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise MappingError(f"order {number} has no items list")
    currency = check_currency(order, pos_currency, label)
    same = same_currency(order)

    def amount(name: str, base_name: str | None = None) -> Decimal:
        return base_amount(order, name, label, same=same, base_name=base_name)

    canceled_total = abs(amount("total_canceled"))
    # Shipping as charged: less its own discount, plus the tax part a discount on a tax-inclusive shipping
    # price gives back (Magento's compensation). The sale's `discount` is then what was taken off the items.
    shipping_discount = abs(amount("shipping_discount_amount"))
    shipping = (
        amount("shipping_amount")
        - abs(amount("shipping_canceled"))
        - shipping_discount
        + amount("shipping_discount_tax_compensation_amount", "base_shipping_discount_tax_compensation_amnt")
    )
    paid = amount("grand_total") - canceled_total
    others = other_tenders(order, label)
    owed = paid + sum((tender.amount for tender in others), Decimal(0))
    order_grand_total = None
    if order.get("grand_total") is not None:
        order_grand_total = money(order.get("grand_total"), f"{label} grand_total") - abs(
            money(order.get("total_canceled"), f"{label} total_canceled")
        )
    lines = sale_lines(items, number, same=same, retail_prices=retail_prices)
    wrapping = gift_wrapping_line(order, label)
    if wrapping is not None:  # Magento's subtotal leaves the wrapping out; the sale's counts every line
        lines = (*lines, wrapping)
    sale = SaleIn(
        magento_order_id=number,
        customer=order_customer(order),
        lines=lines,
        subtotal=amount("subtotal") - abs(amount("subtotal_canceled")) + (wrapping.unit_price if wrapping else 0),
        grand_total=owed,
        # What was taken off the lines: Magento's `discount_canceled` can exceed the order's discount once part
        # of it was invoiced (Order::registerCancellation), so the order-level figure is not used.
        discount=sum((line.discount for line in lines), Decimal(0)),
        shipping=shipping,
        tax=amount("tax_amount") - abs(amount("tax_canceled")),
        magento_increment_id=text_of(order.get("increment_id")) or None,
        created_at=parse_magento_time(order.get("created_at"), f"order {number} created_at"),
        currency=currency,
        order_currency=text_of(order.get("order_currency_code")).upper() or None,
        order_grand_total=order_grand_total,
        base_to_order_rate=base_to_order_rate(order, label),
        tenders=(SaleTenderIn(TENDER_WEB_ORDERS, paid), *others),
    )
    mismatch = sale_mismatch(sale)
    if mismatch is not None:
        raise MappingError(f"{label}: {mismatch}{unwritten(items, label)}")
    return sale


def payment_method(order: Mapping[str, Any]) -> str:
    """The order's payment method code (`checkmo`, `braintree`, ...), or the gateway's default."""
    payment = order.get("payment") or {}
    return text_of(payment.get("method") if isinstance(payment, Mapping) else None) or DEFAULT_PAYMENT_METHOD


def is_canceled(order: Mapping[str, Any]) -> bool:
    """True when the whole order is canceled (its `state` is `canceled`)."""
    return text_of(order.get("state")).lower() == ORDER_STATE_CANCELED


def has_canceled_items(order: Mapping[str, Any]) -> bool:
    """True when any item of the order has a canceled quantity (a partial cancellation, or a whole one)."""
    items = order.get("items")
    if not isinstance(items, list):
        return False
    return any(isinstance(item, Mapping) and money(item.get("qty_canceled"), "item qty_canceled") > 0 for item in items)


def sold_quantities(sale: SaleIn) -> dict[str, Decimal]:
    """What the sale sells of each SKU (its lines added up): what stays sold after a partial cancellation."""
    sold: dict[str, Decimal] = {}
    for line in sale.lines:
        sold[line.sku] = sold.get(line.sku, Decimal(0)) + Decimal(line.qty)
    return sold
