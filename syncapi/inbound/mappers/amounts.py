"""Shared money rules: amounts in the base currency (never converted), cents, the record's currency checked
against the POS's, the tenders Magento took besides payment, gift wrapping, and the clause that names what the
POS has no place for in a refusal (docs/money.md)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from syncapi.inbound.mappers.values import PRODUCT_TYPE_BUNDLE, MappingError, item_key, money, text_of
from syncapi.pos.gateway import TENDER_GIFT_CARD, TENDER_REWARD_POINTS, TENDER_STORE_CREDIT, SaleTenderIn

CENT = Decimal("0.01")
#: Magento's tenders besides what the customer paid (Adobe Commerce), as (base amount field, POS tender type).
OTHER_TENDERS = (
    ("base_customer_balance_amount", TENDER_STORE_CREDIT),
    ("base_gift_cards_amount", TENDER_GIFT_CARD),
    ("base_reward_currency_amount", TENDER_REWARD_POINTS),
)


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def same_currency(record: Mapping[str, Any]) -> bool:
    """True when the record's order currency is its base currency at rate 1, so an amount without its `base_*`
    twin is the base amount too."""
    base, shown = text_of(record.get("base_currency_code")).upper(), text_of(record.get("order_currency_code")).upper()
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


def check_currency(record: Mapping[str, Any], pos_currency: str | None, what: str) -> str | None:
    """The record's base currency; with `POS_CURRENCY` set, a record in another base currency is refused."""
    base = text_of(record.get("base_currency_code")).upper() or None
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


def base_to_order_rate(record: Mapping[str, Any], what: str) -> Decimal | None:
    value = record.get("base_to_order_rate")
    return None if value in (None, "") else money(value, f"{what} base_to_order_rate")


def other_tenders(order: Mapping[str, Any], what: str) -> list[SaleTenderIn]:
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


def unwritten(items: object, what: str) -> str:
    """What a record carries that the POS documents have no place for, as a clause for its refusal ("" when
    nothing): Fixed Product Tax (items' `base_weee_tax_applied_row_amnt`, Magento_Weee), in Magento's grand
    total but on no line."""
    items = [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []
    by_id = {key: item for item in items if (key := item_key(item.get("item_id"))) is not None}
    fixed_product_tax = Decimal(0)
    for item in items:
        parent_key = item_key(item.get("parent_item_id"))
        parent = by_id.get(parent_key) if parent_key is not None else None
        if parent is not None and text_of(parent.get("product_type")).lower() != PRODUCT_TYPE_BUNDLE:
            continue  # a configurable product's child: its parent carries the amounts
        fixed_product_tax += money(item.get("base_weee_tax_applied_row_amnt"), f"{what} base_weee_tax_applied_row_amnt")
    if fixed_product_tax:
        return f"; Fixed Product Tax {cents(fixed_product_tax)} is not written to the POS"
    return ""
