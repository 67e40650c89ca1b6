"""Magento records → what the POS gateway writes. Pure functions on the plain dicts Magento's REST API answers.

Money arrives as JSON numbers; it is turned into `Decimal` through its text, never through the float's binary
value. Amounts are written as positive numbers: Magento's negative `discount_amount` becomes its absolute value.
A record that lacks what the POS needs raises `MappingError` (permanent: the same record maps the same way).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from syncapi.pos.gateway import (
    DEFAULT_PAYMENT_METHOD,
    CategoryIn,
    CreditNoteIn,
    CustomerIn,
    InvoiceIn,
    SaleIn,
    SaleLineIn,
)

#: How Magento writes `created_at`/`updated_at`: UTC without a zone (OCA/connector-magento #181, #249).
MAGENTO_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
ORDER_STATE_CANCELED = "canceled"
ORDER_STATE_CLOSED = "closed"
#: States an order never leaves: one not written by then never will be.
FINAL_ORDER_STATES = frozenset({ORDER_STATE_CANCELED, ORDER_STATE_CLOSED})
#: Magento's category levels 0 ("Root Catalog") and 1 (a store's root, "Default Category") are not shop
#: categories: the POS has no counterpart for them.
ROOT_CATEGORY_MAX_LEVEL = 1
#: The configurable product type: its order item is a parent whose one child carries the variant's SKU.
PRODUCT_TYPE_CONFIGURABLE = "configurable"

ACTION_WRITE = "write"
ACTION_WAIT = "wait"
ACTION_SKIP = "skip"


class MappingError(ValueError):
    """A Magento record lacks what the POS needs, or holds something it cannot take (permanent)."""


@dataclass(frozen=True)
class OrderDecision:
    """What to do with an order in its current state: `write` it, `wait` for a later state, or `skip` it."""

    action: str
    reason: str | None = None


# --- values --------------------------------------------------------------------------------------------------


def parse_magento_time(value: object, what: str = "time") -> datetime | None:
    """A Magento timestamp (`YYYY-MM-DD HH:MM:SS`, UTC) as an aware UTC datetime; None stays None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MappingError(f"{what} must be a Magento timestamp, got {value!r}")
    text = value.strip()
    try:
        moment = datetime.strptime(text, MAGENTO_TIME_FORMAT)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise MappingError(f"{what} is not a Magento timestamp (YYYY-MM-DD HH:MM:SS): {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_magento_time(moment: datetime) -> str:
    """`moment` the way Magento writes and filters timestamps: `YYYY-MM-DD HH:MM:SS` in UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(MAGENTO_TIME_FORMAT)


def money(value: object, what: str) -> Decimal:
    """A Magento amount as an exact Decimal (None and "" are 0)."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise MappingError(f"{what} must be a number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise MappingError(f"{what} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise MappingError(f"{what} must be a finite number, got {value!r}")
    return number


def magento_id(value: object, what: str) -> int:
    """A Magento entity id (a positive whole number, possibly sent as digits in a string)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MappingError(f"{what} must be a positive whole number, got {value!r}")
    return value


def _optional_id(value: object, what: str) -> int | None:
    return None if value in (None, "", 0, "0") else magento_id(value, what)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


# --- customers -----------------------------------------------------------------------------------------------


def order_customer(order: Mapping[str, Any]) -> CustomerIn:
    """The POS customer of an order: the Magento customer, or for a guest one found or created by email.

    A guest order often has no customer name (Magento leaves `customer_firstname` null): the billing address's
    name is taken then.
    """
    number = order.get("entity_id")
    billing = order.get("billing_address") or {}
    email = _text(order.get("customer_email")) or _text(billing.get("email"))
    if not email:
        raise MappingError(f"order {number} has no customer email (customer_email or billing_address.email)")
    first, last = _text(order.get("customer_firstname")), _text(order.get("customer_lastname"))
    if not first and not last:
        first, last = _text(billing.get("firstname")), _text(billing.get("lastname"))
    guest = _is_true(order.get("customer_is_guest")) or order.get("customer_id") in (None, "", 0, "0")
    return CustomerIn(
        email=email,
        first_name=first,
        last_name=last,
        phone=_text(billing.get("telephone")) or None,
        magento_id=None if guest else magento_id(order.get("customer_id"), f"order {number} customer_id"),
    )


def _is_true(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


def customer_to_pos(customer: Mapping[str, Any]) -> CustomerIn:
    """A Magento customer as the POS customer to find or create (phone from the default billing address)."""
    number = magento_id(customer.get("id"), "customer id")
    email = _text(customer.get("email"))
    if not email:
        raise MappingError(f"customer {number} has no email")
    return CustomerIn(
        email=email,
        first_name=_text(customer.get("firstname")),
        last_name=_text(customer.get("lastname")),
        phone=_customer_phone(customer),
        magento_id=number,
    )


def _customer_phone(customer: Mapping[str, Any]) -> str | None:
    addresses = [a for a in customer.get("addresses") or [] if isinstance(a, Mapping)]
    default_billing = str(customer.get("default_billing") or "")
    # The default billing address first (sorted() is stable, so the others keep their order).
    ranked = sorted(
        addresses, key=lambda a: not (a.get("default_billing") is True or str(a.get("id")) == default_billing)
    )
    for address in ranked:
        phone = _text(address.get("telephone"))
        if phone:
            return phone
    return None


# --- orders --------------------------------------------------------------------------------------------------


def order_decision(order: Mapping[str, Any], write_states: Iterable[str]) -> OrderDecision:
    """Whether an order is written now (its `state` is a write state), later, or never (canceled, closed)."""
    state = _text(order.get("state")).lower()
    if not state:
        raise MappingError(f"order {order.get('entity_id')} has no state")
    wanted = tuple(s.lower() for s in write_states)
    if state == ORDER_STATE_CANCELED:
        return OrderDecision(ACTION_SKIP, "the order is canceled; canceled orders are not written to the POS")
    if state in wanted:
        return OrderDecision(ACTION_WRITE)
    listed = ", ".join(wanted) or "(none)"
    if state in FINAL_ORDER_STATES:
        return OrderDecision(
            ACTION_SKIP, f"the order is {state} and ORDER_WRITE_STATES is {listed}: it will not be written"
        )
    return OrderDecision(ACTION_WAIT, f"the order is {state}; it is written when it reaches {listed}")


def sale_lines(items: Sequence[Mapping[str, Any]], order_number: object = None) -> tuple[SaleLineIn, ...]:
    """The sale lines of an order's `items`.

    Magento lists a configurable product twice: the parent item (type `configurable`, carrying the price, row
    total and discount) and its simple child (`parent_item_id` set, amounts 0). They become one line with the
    child's SKU, the parent's amounts standing in for the child's zeros. Quantities canceled are not sold.
    """
    by_id = {item.get("item_id"): item for item in items if item.get("item_id") is not None}
    children: dict[object, list[Mapping[str, Any]]] = {}
    for item in items:
        if item.get("parent_item_id") is not None:
            children.setdefault(item["parent_item_id"], []).append(item)
    lines = []
    for item in items:
        if item.get("item_id") is not None and item.get("item_id") in children:
            continue  # a parent: its child carries the line
        parent = by_id.get(item.get("parent_item_id")) if item.get("parent_item_id") is not None else None
        if parent is None and isinstance(item.get("parent_item"), Mapping):
            parent = item["parent_item"]
        sole_child = parent is not None and len(children.get(parent.get("item_id"), [item])) == 1
        line = _sale_line(item, parent if sole_child else None, order_number)
        if line is not None:
            lines.append(line)
    if not lines:
        raise MappingError(f"order {order_number} has no items left to sell")
    return tuple(lines)


def _sale_line(item: Mapping[str, Any], parent: Mapping[str, Any] | None, order_number: object) -> SaleLineIn | None:
    sku = _text(item.get("sku"))
    where = f"order {order_number} item {item.get('item_id')}"
    if not sku:
        raise MappingError(f"{where} has no SKU")

    def amount(name: str) -> Decimal:
        own = money(item.get(name), f"{where} {name}")
        if own == 0 and parent is not None:
            return money(parent.get(name), f"{where} parent {name}")
        return own

    ordered = amount("qty_ordered")
    qty = ordered - amount("qty_canceled")
    if qty <= 0:
        return None
    unit_price = amount("price")
    row_total = amount("row_total")
    discount = abs(amount("discount_amount"))
    tax = amount("tax_amount")
    if qty != ordered:  # partly canceled: the row's amounts shrink with the quantity sold
        share = qty / ordered
        row_total, discount, tax = unit_price * qty, discount * share, tax * share
    return SaleLineIn(
        sku=sku,
        qty=qty,
        unit_price=unit_price,
        line_total=row_total - discount + tax,
        discount=discount,
        tax=tax,
    )


def order_to_sale(order: Mapping[str, Any]) -> SaleIn:
    """An order as a POS sale tendered as web orders: lines, discount, shipping, tax and totals."""
    number = magento_id(order.get("entity_id"), "order entity_id")
    items = order.get("items")
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise MappingError(f"order {number} has no items list")
    return SaleIn(
        magento_order_id=number,
        customer=order_customer(order),
        lines=sale_lines(items, number),
        subtotal=money(order.get("subtotal"), f"order {number} subtotal"),
        grand_total=money(order.get("grand_total"), f"order {number} grand_total"),
        discount=abs(money(order.get("discount_amount"), f"order {number} discount_amount")),
        shipping=money(order.get("shipping_amount"), f"order {number} shipping_amount"),
        tax=money(order.get("tax_amount"), f"order {number} tax_amount"),
        magento_increment_id=_text(order.get("increment_id")) or None,
        created_at=parse_magento_time(order.get("created_at"), f"order {number} created_at"),
    )


def payment_method(order: Mapping[str, Any]) -> str:
    """The order's payment method code (`checkmo`, `braintree`, ...), or the gateway's default."""
    payment = order.get("payment") or {}
    return _text(payment.get("method") if isinstance(payment, Mapping) else None) or DEFAULT_PAYMENT_METHOD


# --- invoices and credit memos -------------------------------------------------------------------------------


def invoice_to_pos(invoice: Mapping[str, Any], order: Mapping[str, Any]) -> InvoiceIn:
    """An invoice as a POS invoice with a payment on the customer's account, by the order's payment method."""
    number = magento_id(invoice.get("entity_id"), "invoice entity_id")
    return InvoiceIn(
        magento_invoice_id=number,
        magento_order_id=magento_id(invoice.get("order_id"), f"invoice {number} order_id"),
        customer=order_customer(order),
        grand_total=money(invoice.get("grand_total"), f"invoice {number} grand_total"),
        payment_method=payment_method(order),
        created_at=parse_magento_time(invoice.get("created_at"), f"invoice {number} created_at"),
    )


def creditmemo_to_pos(creditmemo: Mapping[str, Any], order: Mapping[str, Any]) -> CreditNoteIn:
    """A credit memo as a POS credit note with a refund, by the order's payment method."""
    number = magento_id(creditmemo.get("entity_id"), "credit memo entity_id")
    return CreditNoteIn(
        magento_creditmemo_id=number,
        magento_order_id=magento_id(creditmemo.get("order_id"), f"credit memo {number} order_id"),
        customer=order_customer(order),
        grand_total=money(creditmemo.get("grand_total"), f"credit memo {number} grand_total"),
        magento_invoice_id=_optional_id(creditmemo.get("invoice_id"), f"credit memo {number} invoice_id"),
        refund_method=payment_method(order),
        created_at=parse_magento_time(creditmemo.get("created_at"), f"credit memo {number} created_at"),
    )


def order_id_of(record: Mapping[str, Any], what: str) -> int:
    """The `order_id` of an invoice or credit memo."""
    return magento_id(record.get("order_id"), f"{what} order_id")


# --- categories ----------------------------------------------------------------------------------------------


def _category_path(category: Mapping[str, Any]) -> list[int]:
    path = category.get("path")
    if not isinstance(path, str) or not path.strip():
        return []
    try:
        return [int(part) for part in path.strip().split("/")]
    except ValueError:
        raise MappingError(f"category {category.get('id')} has an unreadable path {path!r}") from None


def category_level(category: Mapping[str, Any]) -> int:
    """The category's depth: 0 Root Catalog, 1 a store's root, 2 and below the shop's categories."""
    level = category.get("level")
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str) and level.strip().isdigit():
        return int(level)
    path = _category_path(category)
    if path:
        return len(path) - 1
    raise MappingError(f"category {category.get('id')} has neither a level nor a path")


def is_root_category(category: Mapping[str, Any]) -> bool:
    """True for Magento's root categories, which have no POS counterpart."""
    return category_level(category) <= ROOT_CATEGORY_MAX_LEVEL


def category_ancestors(category: Mapping[str, Any]) -> list[int]:
    """The ids of the category's shop-level ancestors, top first (roots and the category itself left out)."""
    path = _category_path(category)
    return path[ROOT_CATEGORY_MAX_LEVEL + 1 : -1]


def category_to_pos(category: Mapping[str, Any]) -> CategoryIn:
    """A shop category as the POS category to find or create, under its parent's POS category (a top-level one
    when the parent is a store's root)."""
    number = magento_id(category.get("id"), "category id")
    name = _text(category.get("name"))
    if not name:
        raise MappingError(f"category {number} has no name")
    parent = _optional_id(category.get("parent_id"), f"category {number} parent_id")
    if category_level(category) <= ROOT_CATEGORY_MAX_LEVEL + 1:
        parent = None  # its parent is a root category, which the POS does not have
    return CategoryIn(magento_id=number, name=name, parent_magento_id=parent)
