"""Magento records → what the POS gateway writes. Pure functions on the plain dicts Magento's REST API answers.

Money arrives as JSON numbers; it is turned into `Decimal` through its text, never through the float's binary
value. Amounts are written as positive numbers: Magento's negative `discount_amount` becomes its absolute value.
A record that lacks what the POS needs raises `MappingError` (permanent: the same record maps the same way).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from syncapi.pos.gateway import (
    CREDIT_NOTE_CANCELED,
    CREDIT_NOTE_OPEN,
    CREDIT_NOTE_REFUNDED,
    DEFAULT_PAYMENT_METHOD,
    GIFT_WRAPPING_SKU,
    INVOICE_CANCELED,
    INVOICE_OPEN,
    INVOICE_PAID,
    TENDER_GIFT_CARD,
    TENDER_REWARD_POINTS,
    TENDER_STORE_CREDIT,
    TENDER_WEB_ORDERS,
    CategoryIn,
    CreditNoteIn,
    CustomerIn,
    InvoiceIn,
    SaleIn,
    SaleLineIn,
    SaleTenderIn,
)
from syncapi.pos.validation import sale_mismatch

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


#: Product types whose order items carry no stock: Magento's `is_virtual` says the same per item.
VIRTUAL_PRODUCT_TYPES = frozenset({"virtual", "downloadable"})
PRODUCT_TYPE_BUNDLE = "bundle"
CENT = Decimal("0.01")
UNIT_PLACES = Decimal("0.0001")
#: Magento's tenders besides what the customer paid (Adobe Commerce), as (base amount field, POS tender type).
OTHER_TENDERS = (
    ("base_customer_balance_amount", TENDER_STORE_CREDIT),
    ("base_gift_cards_amount", TENDER_GIFT_CARD),
    ("base_reward_currency_amount", TENDER_REWARD_POINTS),
)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _item_key(value: object) -> object:
    """An item id as a number whether Magento (or a connector re-serialising it) sent 16 or "16"."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if value not in ("", None) else None


def same_currency(record: Mapping[str, Any]) -> bool:
    """True when the record's order currency is its base currency at rate 1, so an amount without its `base_*`
    twin is the base amount too."""
    base, shown = _text(record.get("base_currency_code")).upper(), _text(record.get("order_currency_code")).upper()
    rate = record.get("base_to_order_rate")
    try:
        rate_is_one = rate in (None, "") or Decimal(str(rate)) == 1
    except InvalidOperation:
        rate_is_one = False
    return (not base or not shown or base == shown) and rate_is_one


def base_amount(
    record: Mapping[str, Any], name: str, what: str, *, same: bool, base_name: str | None = None
) -> Decimal:
    """The base-currency amount `base_<name>` of a record; its order-currency twin `name` only when the two
    currencies are the same. An amount known only in another currency is refused, never converted."""
    key = base_name or f"base_{name}"
    if record.get(key) not in (None, ""):
        return money(record.get(key), f"{what} {key}")
    if record.get(name) in (None, ""):
        return Decimal(0)
    if same or money(record.get(name), f"{what} {name}") == 0:  # nothing is nothing in any currency
        return money(record.get(name), f"{what} {name}")
    raise MappingError(f"{what} has {name} but no {key}: its amount in the base currency is not known")


@dataclass(frozen=True)
class _Figures:
    """An order item's base-currency amounts for the quantity sold (canceled quantities taken out)."""

    qty: Decimal
    gross: Decimal
    discount: Decimal
    tax: Decimal
    compensation: Decimal
    tax_percent: Decimal

    @property
    def total(self) -> Decimal:
        return self.gross - self.discount + self.tax + self.compensation


def _item_figures(item: Mapping[str, Any], where: str, same: bool) -> _Figures:
    """The item's gross (base price x qty), discount, tax and discount tax compensation, from fields that mean
    one thing only; `base_row_total` is checked against them, as stores differ in whether it is net of the
    discount."""

    def amount(name: str, base_name: str | None = None) -> Decimal:
        return base_amount(item, name, where, same=same, base_name=base_name)

    ordered = money(item.get("qty_ordered"), f"{where} qty_ordered")
    canceled = money(item.get("qty_canceled"), f"{where} qty_canceled")
    price = amount("price")
    discount = abs(amount("discount_amount"))
    tax = amount("tax_amount")
    compensation = amount("discount_tax_compensation_amount")
    expected = _cents(price * ordered)
    gross = expected
    net_rows = False
    if item.get("base_row_total") is not None or (same and item.get("row_total") is not None):
        row = amount("row_total")
        # Unit prices are rounded, rows are not: allow a cent per unit (tax-inclusive catalogues work back from
        # the price with tax).
        slack = CENT * max(Decimal(1), ordered)
        if abs(row - expected) <= slack:
            gross = row
        elif discount and abs(row + discount - expected) <= slack:
            gross, net_rows = row + discount, True  # the store's row total is already net of the discount
        else:
            raise MappingError(
                f"{where}: row total {_cents(row)} is neither price {price} x qty {ordered} = {expected} nor that"
                f" less the discount {_cents(discount)}"
            )
    sold = ordered - canceled
    if ordered > 0 and canceled > 0:  # partly canceled: what was sold is what was invoiced
        invoiced = _invoiced_figures(item, where, same, sold)
        if invoiced is not None:
            gross, discount, tax, compensation = invoiced
            if net_rows:
                gross += discount
        else:  # no invoiced amounts given: the row's amounts shrink with the quantity sold
            share = sold / ordered
            gross, discount, tax, compensation = (_cents(v * share) for v in (gross, discount, tax, compensation))
    tax_percent = money(item.get("tax_percent"), f"{where} tax_percent")
    return _Figures(sold, gross, discount, tax, compensation, tax_percent)


def _invoiced_figures(
    item: Mapping[str, Any], where: str, same: bool, sold: Decimal
) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
    """The item's invoiced row, discount, tax and discount tax compensation (`base_row_invoiced`, ...) when its
    invoiced quantity is the quantity sold, else None.

    Magento cancels only what was not invoiced (`Magento\\Sales\\Model\\Order\\Item::getQtyToCancel`), and
    each invoice rounds its share of the item's amounts on its own, the last taking the remainder
    (`app/code/Magento/Sales/Model/Order/Invoice/Total/*.php`); the order's `*_invoiced` sums of them are what
    the customer paid for the item, to the cent, where sharing the item's amounts by quantity can be a cent off.
    """
    if item.get("base_row_invoiced") in (None, "") or money(item.get("qty_invoiced"), f"{where} qty_invoiced") != sold:
        return None

    def amount(name: str) -> Decimal:
        return base_amount(item, name, where, same=same)

    return (
        amount("row_invoiced"),
        abs(amount("discount_invoiced")),
        amount("tax_invoiced"),
        amount("discount_tax_compensation_invoiced"),
    )


def _is_virtual(item: Mapping[str, Any]) -> bool:
    return _is_true(item.get("is_virtual")) or _text(item.get("product_type")).lower() in VIRTUAL_PRODUCT_TYPES


def _line(sku: str, figures: _Figures, *, stock: bool) -> SaleLineIn:
    unit_price = (figures.gross / figures.qty).quantize(UNIT_PLACES, rounding=ROUND_HALF_UP)
    return SaleLineIn(
        sku=sku,
        qty=figures.qty,
        unit_price=unit_price,
        line_total=figures.total,
        discount=figures.discount,
        tax=figures.tax,
        tax_percent=figures.tax_percent,
        stock=stock,
    )


def _sku(item: Mapping[str, Any], where: str) -> str:
    sku = _text(item.get("sku"))
    if not sku:
        raise MappingError(f"{where} has no SKU")
    return sku


def _is_fixed_bundle(parent: Mapping[str, Any], children: Sequence[Mapping[str, Any]]) -> bool:
    """A fixed-price bundle: its children carry no prices of their own (the bundle item carries them)."""
    if _text(parent.get("product_type")).lower() != PRODUCT_TYPE_BUNDLE:
        return False
    for child in children:
        for name in ("base_price", "price", "base_row_total", "row_total"):
            try:
                if money(child.get(name), name) != 0:
                    return False
            except MappingError:
                return False
    return True


def fixed_bundle_skus(order: Mapping[str, Any]) -> list[str]:
    """SKUs of the children of the order's fixed-price bundles: their POS retail prices share the bundle's."""
    items = [item for item in order.get("items") or [] if isinstance(item, Mapping)]
    children = _children_by_parent(items)
    skus: set[str] = set()
    for item in items:
        kids = children.get(_item_key(item.get("item_id")), [])
        if kids and _is_fixed_bundle(item, kids):
            skus.update(_text(kid.get("sku")) for kid in kids if _text(kid.get("sku")))
    return sorted(skus)


def _children_by_parent(items: Sequence[Mapping[str, Any]]) -> dict[object, list[Mapping[str, Any]]]:
    children: dict[object, list[Mapping[str, Any]]] = {}
    for item in items:
        parent = _item_key(item.get("parent_item_id"))
        if parent is not None:
            children.setdefault(parent, []).append(item)
    return children


def _shares(total: Decimal, weights: Sequence[Decimal], caps: Sequence[Decimal] | None = None) -> list[Decimal]:
    """`total` split in proportion to `weights` (equal shares when they are all 0), each rounded down to the cent
    and the last taking the remainder, so the shares add up to `total` exactly and none is negative. With
    `caps` (which add up to at least `total`), no share exceeds its cap: what would is moved to earlier shares
    with room (a line's discount never exceeds what the line is worth)."""
    if sum(weights) <= 0:
        weights = [Decimal(1)] * len(weights)
    whole = sum(weights)
    shares = [(total * weight / whole).quantize(CENT, rounding=ROUND_DOWN) for weight in weights[:-1]]
    if caps is not None:
        shares = [min(share, cap) for share, cap in zip(shares, caps, strict=False)]
    shares.append(total - sum(shares, Decimal(0)))
    if caps is not None and shares[-1] > caps[-1]:
        excess, shares[-1] = shares[-1] - caps[-1], caps[-1]
        for n in range(len(shares) - 1):
            moved = min(excess, caps[n] - shares[n])
            shares[n] += moved
            excess -= moved
    return shares


def _bundle_lines(
    parent: Mapping[str, Any],
    kids: Sequence[Mapping[str, Any]],
    where: str,
    same: bool,
    retail_prices: Mapping[str, Decimal],
) -> list[SaleLineIn]:
    """A fixed-price bundle's children as lines sharing the bundle's amounts by their POS retail prices."""
    figures = _item_figures(parent, where, same)
    if figures.qty <= 0:
        return []
    kid_qty = []
    for kid in kids:
        kid_where = f"{where} child {kid.get('item_id')}"
        qty = money(kid.get("qty_ordered"), f"{kid_where} qty_ordered") - money(
            kid.get("qty_canceled"), f"{kid_where} qty_canceled"
        )
        kid_qty.append((_sku(kid, kid_where), qty, kid))
    kid_qty = [(sku, qty, kid) for sku, qty, kid in kid_qty if qty > 0]
    if not kid_qty:
        return []
    prices = [retail_prices.get(sku) for sku, _, _ in kid_qty]
    weights = (
        [price * qty for price, (_, qty, _) in zip(prices, kid_qty, strict=True)]
        if all(price is not None and price > 0 for price in prices)
        else [Decimal(1)] * len(kid_qty)
    )
    parts = {name: _shares(getattr(figures, name), weights) for name in ("gross", "tax", "compensation")}
    # A discount on tax-inclusive prices can exceed the gross without tax; never what a line is worth with it.
    worth = [sum(values) for values in zip(parts["gross"], parts["tax"], parts["compensation"], strict=True)]
    parts["discount"] = _shares(figures.discount, weights, caps=worth)
    return [
        _line(
            sku,
            _Figures(
                qty,
                parts["gross"][n],
                parts["discount"][n],
                parts["tax"][n],
                parts["compensation"][n],
                figures.tax_percent,
            ),
            stock=not _is_virtual(kid),
        )
        for n, (sku, qty, kid) in enumerate(kid_qty)
    ]


def sale_lines(
    items: Sequence[Mapping[str, Any]],
    order_number: object = None,
    *,
    same: bool = True,
    retail_prices: Mapping[str, Decimal] | None = None,
) -> tuple[SaleLineIn, ...]:
    """The sale lines of an order's `items`, in the base currency (docs/money.md).

    - A configurable product is a parent item carrying the amounts and one simple child carrying the variant's
      SKU: one line, the child's SKU at the parent's amounts.
    - A dynamic-price bundle's children carry their own amounts: a line each; the bundle item is no line.
    - A fixed-price bundle's children carry none: the bundle's amounts are shared among them in proportion to
      their POS retail prices x quantities (`retail_prices`; equal shares unless every child has one), each
      share rounded down to the cent and the last taking the remainder.
    - Virtual and downloadable items are lines that lower no stock; unknown product types are plain lines.
    - Canceled quantities are not sold. `parent_item_id` may come as a number or as digits in a string.
    """
    retail_prices = retail_prices or {}
    by_id = {_item_key(item.get("item_id")): item for item in items if _item_key(item.get("item_id")) is not None}
    children = _children_by_parent(items)
    lines: list[SaleLineIn] = []
    for item in items:
        key = _item_key(item.get("item_id"))
        where = f"order {order_number} item {item.get('item_id')}"
        parent_key = _item_key(item.get("parent_item_id"))
        if parent_key is not None and parent_key in by_id:
            continue  # a child: written with its parent below
        parent = item.get("parent_item") if parent_key is not None else None
        if isinstance(parent, Mapping) and _text(parent.get("product_type")).lower() != PRODUCT_TYPE_BUNDLE:
            # Only the child was given, its parent nested in it: the parent's amounts stand for the child's.
            figures = _item_figures(parent, where, same)
            if figures.qty > 0:
                lines.append(_line(_sku(item, where), figures, stock=not _is_virtual(item)))
            continue
        kids = children.get(key, []) if key is not None else []
        if not kids:
            figures = _item_figures(item, where, same)
            if figures.qty > 0:
                lines.append(_line(_sku(item, where), figures, stock=not _is_virtual(item)))
        elif _is_fixed_bundle(item, kids):
            lines += _bundle_lines(item, kids, where, same, retail_prices)
        elif len(kids) == 1 and _text(item.get("product_type")).lower() != PRODUCT_TYPE_BUNDLE:
            (kid,) = kids
            figures = _item_figures(item, where, same)
            if figures.qty > 0:
                lines.append(_line(_sku(kid, where), figures, stock=not (_is_virtual(kid) or _is_virtual(item))))
        else:
            for kid in kids:  # a dynamic bundle (or any parent of several children): each child its own line
                kid_where = f"order {order_number} item {kid.get('item_id')}"
                figures = _item_figures(kid, kid_where, same)
                if figures.qty > 0:
                    lines.append(_line(_sku(kid, kid_where), figures, stock=not _is_virtual(kid)))
    if not lines:
        raise MappingError(f"order {order_number} has no items left to sell")
    return tuple(lines)


def check_currency(record: Mapping[str, Any], pos_currency: str | None, what: str) -> str | None:
    """The record's base currency; with `POS_CURRENCY` set, a record in another base currency is refused."""
    base = _text(record.get("base_currency_code")).upper() or None
    if pos_currency:
        wanted = pos_currency.strip().upper()
        if base is None:
            raise MappingError(f"{what} names no base currency (base_currency_code); the POS books in {wanted}")
        if base != wanted:
            raise MappingError(
                f"{what} is in base currency {base} but the POS books in {wanted} (POS_CURRENCY): its amounts"
                " would be booked in the wrong currency"
            )
    return base


def _rate(record: Mapping[str, Any], what: str) -> Decimal | None:
    value = record.get("base_to_order_rate")
    return None if value in (None, "") else money(value, f"{what} base_to_order_rate")


def _other_tenders(order: Mapping[str, Any], what: str) -> list[SaleTenderIn]:
    """Store credit, gift cards and reward points Magento took (Adobe Commerce), top level or in
    `extension_attributes`."""
    extension = order.get("extension_attributes")
    extension = extension if isinstance(extension, Mapping) else {}
    tenders = []
    for field_name, tender_type in OTHER_TENDERS:
        value = order.get(field_name, extension.get(field_name))
        amount = abs(money(value, f"{what} {field_name}"))
        if amount:
            tenders.append(SaleTenderIn(tender_type, amount))
    return tenders


#: Adobe Commerce gift wrapping on an order, invoice or credit memo (top level or in `extension_attributes`,
#: Magento_GiftWrapping): the wrapping of the whole order, of its items and the printed card, and their tax.
GIFT_WRAPPING_PRICES = ("gw_base_price", "gw_items_base_price", "gw_card_base_price")
GIFT_WRAPPING_TAXES = ("gw_base_tax_amount", "gw_items_base_tax_amount", "gw_card_base_tax_amount")
PERCENT_PLACES = Decimal("0.0001")


def _adobe_amount(record: Mapping[str, Any], name: str, what: str) -> Decimal:
    """An Adobe Commerce amount, top level or in the record's `extension_attributes`."""
    extension = record.get("extension_attributes")
    extension = extension if isinstance(extension, Mapping) else {}
    value = record.get(name)
    return money(extension.get(name) if value in (None, "") else value, f"{what} {name}")


def gift_wrapping(record: Mapping[str, Any], what: str) -> tuple[Decimal, Decimal]:
    """The base-currency price and tax of all the gift wrapping a record carries (order, items and printed card
    together), or zeros."""
    price = sum((abs(_adobe_amount(record, name, what)) for name in GIFT_WRAPPING_PRICES), Decimal(0))
    tax = sum((abs(_adobe_amount(record, name, what)) for name in GIFT_WRAPPING_TAXES), Decimal(0))
    return price, tax


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


def _unwritten(items: object, what: str) -> str:
    """What a record carries that the POS documents have no place for, as a clause for its refusal ("" when
    nothing): Fixed Product Tax (items' `base_weee_tax_applied_row_amnt`, Magento_Weee), in Magento's grand
    total but on no line."""
    items = [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []
    by_id = {key: item for item in items if (key := _item_key(item.get("item_id"))) is not None}
    fixed_product_tax = Decimal(0)
    for item in items:
        parent_key = _item_key(item.get("parent_item_id"))
        parent = by_id.get(parent_key) if parent_key is not None else None
        if parent is not None and _text(parent.get("product_type")).lower() != PRODUCT_TYPE_BUNDLE:
            continue  # a configurable product's child: its parent carries the amounts
        fixed_product_tax += money(item.get("base_weee_tax_applied_row_amnt"), f"{what} base_weee_tax_applied_row_amnt")
    if fixed_product_tax:
        return f"; Fixed Product Tax {_cents(fixed_product_tax)} is not written to the POS"
    return ""


def order_to_sale(
    order: Mapping[str, Any],
    *,
    pos_currency: str | None = None,
    retail_prices: Mapping[str, Decimal] | None = None,
) -> SaleIn:
    """An order as a POS sale in the base currency, reconciled to what the customer owed to the cent, or
    `MappingError` naming every figure (docs/money.md)."""
    number = magento_id(order.get("entity_id"), "order entity_id")
    label = f"order {_text(order.get('increment_id')) or number}"
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
    others = _other_tenders(order, label)
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
        magento_increment_id=_text(order.get("increment_id")) or None,
        created_at=parse_magento_time(order.get("created_at"), f"order {number} created_at"),
        currency=currency,
        order_currency=_text(order.get("order_currency_code")).upper() or None,
        order_grand_total=order_grand_total,
        base_to_order_rate=_rate(order, label),
        tenders=(SaleTenderIn(TENDER_WEB_ORDERS, paid), *others),
    )
    mismatch = sale_mismatch(sale)
    if mismatch is not None:
        raise MappingError(f"{label}: {mismatch}{_unwritten(items, label)}")
    return sale


def payment_method(order: Mapping[str, Any]) -> str:
    """The order's payment method code (`checkmo`, `braintree`, ...), or the gateway's default."""
    payment = order.get("payment") or {}
    return _text(payment.get("method") if isinstance(payment, Mapping) else None) or DEFAULT_PAYMENT_METHOD


# --- invoices and credit memos -------------------------------------------------------------------------------


#: Magento's invoice states (`Magento\\Sales\\Model\\Order\\Invoice::STATE_*`) and credit memo states
#: (`Creditmemo::STATE_*`) as POS statuses.
INVOICE_STATES = {1: INVOICE_OPEN, 2: INVOICE_PAID, 3: INVOICE_CANCELED}
CREDITMEMO_STATES = {1: CREDIT_NOTE_OPEN, 2: CREDIT_NOTE_REFUNDED, 3: CREDIT_NOTE_CANCELED}


def _state(record: Mapping[str, Any], names: Sequence[str], states: Mapping[int, str], what: str) -> str:
    """The record's state as a POS status; a record without one is taken as done (paid, refunded)."""
    for name in names:
        value = record.get(name)
        if value in (None, ""):
            continue
        key = _item_key(value)
        if key not in states:
            raise MappingError(f"{what} has an unknown {name} {value!r} (expected {', '.join(map(str, states))})")
        return states[key]  # type: ignore[index]
    return states[2]


def _document_totals(record: Mapping[str, Any], what: str, *, adjustments: bool) -> tuple[Decimal, str | None]:
    """A document's base grand total, checked against its parts (docs/money.md); `MappingError` naming every
    figure when they differ."""
    same = same_currency(record)

    def amount(name: str, base_name: str | None = None) -> Decimal:
        return base_amount(record, name, what, same=same, base_name=base_name)

    subtotal, discount = amount("subtotal"), abs(amount("discount_amount"))
    shipping, tax = amount("shipping_amount"), amount("tax_amount")
    compensation = amount("discount_tax_compensation_amount") + amount(
        "shipping_discount_tax_compensation_amount", "base_shipping_discount_tax_compensation_amnt"
    )
    grand_total = amount("grand_total")
    parts = subtotal - discount + shipping + tax + compensation
    figures = (
        f"subtotal {_cents(subtotal)} - discount {_cents(discount)} + shipping {_cents(shipping)}"
        f" + tax {_cents(tax)} + discount tax compensation {_cents(compensation)}"
    )
    if adjustments:
        positive, negative = amount("adjustment_positive"), amount("adjustment_negative")
        parts += positive - negative
        figures += f" + adjustment refund {_cents(positive)} - adjustment fee {_cents(negative)}"
    # Adobe Commerce adds gift wrapping to the grand total (its GiftWrapping invoice and credit memo total
    # collectors), its tax being part of the document's tax amount.
    wrapping, _ = gift_wrapping(record, what)
    if wrapping:
        parts += wrapping
        figures += f" + gift wrapping {_cents(wrapping)}"
    # Adobe Commerce takes store credit, gift cards and reward points off the document's grand total (its
    # CustomerBalance, GiftCardAccount and Reward invoice and credit memo total collectors), as on the order.
    for tender in _other_tenders(record, what):
        parts -= tender.amount
        figures += f" - {tender.tender_type} {_cents(tender.amount)}"
    currency = _text(record.get("base_currency_code")).upper() or None
    if _cents(parts) != _cents(grand_total):
        base = f" (base {currency})" if currency else ""
        raise MappingError(
            f"{what}: {figures} = {_cents(parts)} ≠ grand total {_cents(grand_total)}{base}"
            f"{_unwritten(record.get('items'), what)}"
        )
    return grand_total, currency


def _label(record: Mapping[str, Any], kind: str, number: int) -> str:
    return f"{kind} {_text(record.get('increment_id')) or number}"


def invoice_to_pos(
    invoice: Mapping[str, Any], order: Mapping[str, Any], *, pos_currency: str | None = None
) -> InvoiceIn:
    """An invoice as a POS invoice in the base currency; a paid one carries a payment by the order's method."""
    number = magento_id(invoice.get("entity_id"), "invoice entity_id")
    label = _label(invoice, "invoice", number)
    record = {**{k: order.get(k) for k in ("base_currency_code", "order_currency_code")}, **invoice}
    currency = check_currency(record, pos_currency, label)
    grand_total, _ = _document_totals(record, label, adjustments=False)
    return InvoiceIn(
        magento_invoice_id=number,
        magento_order_id=magento_id(invoice.get("order_id"), f"invoice {number} order_id"),
        customer=order_customer(order),
        grand_total=grand_total,
        payment_method=payment_method(order),
        created_at=parse_magento_time(invoice.get("created_at"), f"invoice {number} created_at"),
        status=_state(invoice, ("state",), INVOICE_STATES, label),
        currency=currency,
        order_currency=_text(record.get("order_currency_code")).upper() or None,
        order_grand_total=money(invoice.get("grand_total"), f"{label} grand_total")
        if invoice.get("grand_total") is not None
        else None,
    )


def creditmemo_to_pos(
    creditmemo: Mapping[str, Any], order: Mapping[str, Any], *, pos_currency: str | None = None
) -> CreditNoteIn:
    """A credit memo as a POS credit note in the base currency; a refunded one carries a refund by the order's
    method, `online` when it went through the payment gateway (Magento kept a gateway `transaction_id`)."""
    number = magento_id(creditmemo.get("entity_id"), "credit memo entity_id")
    label = _label(creditmemo, "credit memo", number)
    record = {**{k: order.get(k) for k in ("base_currency_code", "order_currency_code")}, **creditmemo}
    currency = check_currency(record, pos_currency, label)
    grand_total, _ = _document_totals(record, label, adjustments=True)
    return CreditNoteIn(
        magento_creditmemo_id=number,
        magento_order_id=magento_id(creditmemo.get("order_id"), f"credit memo {number} order_id"),
        customer=order_customer(order),
        grand_total=grand_total,
        magento_invoice_id=_optional_id(creditmemo.get("invoice_id"), f"credit memo {number} invoice_id"),
        refund_method=payment_method(order),
        created_at=parse_magento_time(creditmemo.get("created_at"), f"credit memo {number} created_at"),
        status=_state(creditmemo, ("state", "creditmemo_status"), CREDITMEMO_STATES, label),
        currency=currency,
        refund_online=bool(_text(creditmemo.get("transaction_id"))),
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
