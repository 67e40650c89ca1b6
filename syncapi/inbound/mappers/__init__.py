"""Magento records → what the POS gateway writes. Pure functions on the plain dicts Magento's REST API answers.

Money arrives as JSON numbers; it is turned into `Decimal` through its text, never through the float's binary
value. Amounts are written as positive numbers: Magento's negative `discount_amount` becomes its absolute value.
A record that lacks what the POS needs raises `MappingError` (permanent: the same record maps the same way).

Each module holds one decision; the names below are the mappers' whole interface:

- `orders`: whether an order is written now, later or never (`order_decision`), and an order as a sale
  reconciled to what the customer owed (`order_to_sale`), refused with every figure named when it is not.
- `lines`: an order's items as sale lines (configurable products, bundles, virtual items, canceled quantities).
- `documents`: invoices and credit memos, their state, and their grand total checked against its parts.
- `customers`: an order's buyer and a Magento customer; `categories`: shop categories under their parents.
- `amounts`: the shared money rules (base currency, cents, currency check, other tenders, gift wrapping, what
  the POS has no place for); `values`: timestamps, amounts, ids and text as Magento writes them.
"""

from syncapi.inbound.mappers.amounts import base_amount, check_currency, gift_wrapping, same_currency
from syncapi.inbound.mappers.categories import category_ancestors, category_level, category_to_pos, is_root_category
from syncapi.inbound.mappers.customers import customer_to_pos, order_customer
from syncapi.inbound.mappers.documents import creditmemo_to_pos, invoice_to_pos, order_id_of
from syncapi.inbound.mappers.lines import fixed_bundle_skus, sale_lines
from syncapi.inbound.mappers.orders import (
    ACTION_SKIP,
    ACTION_WAIT,
    ACTION_WRITE,
    OrderDecision,
    gift_wrapping_line,
    has_canceled_items,
    is_canceled,
    order_decision,
    order_to_sale,
    payment_method,
    sold_quantities,
)
from syncapi.inbound.mappers.values import MappingError, format_magento_time, magento_id, money, parse_magento_time

__all__ = [
    "ACTION_SKIP",
    "ACTION_WAIT",
    "ACTION_WRITE",
    "MappingError",
    "OrderDecision",
    "base_amount",
    "category_ancestors",
    "category_level",
    "category_to_pos",
    "check_currency",
    "creditmemo_to_pos",
    "customer_to_pos",
    "fixed_bundle_skus",
    "format_magento_time",
    "gift_wrapping",
    "gift_wrapping_line",
    "has_canceled_items",
    "invoice_to_pos",
    "is_canceled",
    "is_root_category",
    "magento_id",
    "money",
    "order_customer",
    "order_decision",
    "order_id_of",
    "order_to_sale",
    "parse_magento_time",
    "payment_method",
    "sale_lines",
    "same_currency",
    "sold_quantities",
]
