"""What a fresh sandbox store holds, and builders for realistic Magento sales records to seed it with.

The catalog set-up mirrors a small Magento 2.4 store: store views `admin` (0) and `default` (1); categories
"Root Catalog" (1) and "Default Category" (2); attribute sets "Default" (4) and "Clothing" (9); the system
product attributes plus `color` and `size` (global selects, usable as configurable options), `brand`
(select), `material` (text), `activity` (multiselect) and `care_instructions` (textarea, Clothing only).

`order()`, `invoice()`, `creditmemo()` and `customer()` build records in the shape Magento's REST API answers
with (`updated_at` as `YYYY-MM-DD HH:MM:SS` UTC); `demo_sales()` is a small consistent set of them.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

#: A fresh store's customer groups, by id.
CUSTOMER_GROUPS = ("NOT LOGGED IN", "General", "Wholesale", "Retailer")

STORE_VIEWS = [
    {"id": 0, "code": "admin", "name": "Admin", "website_id": 0, "store_group_id": 0, "is_active": 1},
    {"id": 1, "code": "default", "name": "Default Store View", "website_id": 1, "store_group_id": 1, "is_active": 1},
]
#: Websites as `GET /V1/store/websites` answers: the admin website (id 0) and Magento's default `base`.
WEBSITES = [
    {"id": 0, "code": "admin", "name": "Admin", "default_group_id": 0},
    {"id": 1, "code": "base", "name": "Main Website", "default_group_id": 1},
]
#: Store codes a REST path may carry: `all` is the admin (global) scope.
STORE_IDS = {"all": 0, "admin": 0, "default": 1}
SOURCES = ("default",)


def source(code: str, name: str | None = None) -> dict:
    """An enabled MSI source as Magento_InventoryApi stores it (the fields its source form requires)."""
    return {
        "source_code": code,
        "name": name or ("Default Source" if code == "default" else code),
        "enabled": True,
        "country_id": "US",
        "postcode": "00000",
    }


DEFAULT_ATTRIBUTE_SET_ID = 4
CLOTHING_ATTRIBUTE_SET_ID = 9
ROOT_CATEGORY_ID = 1
DEFAULT_CATEGORY_ID = 2


class AttributeRow(NamedTuple):
    """A product attribute as the store is set up with it (see `state.attribute_record`)."""

    attribute_id: int
    code: str
    label: str
    frontend_input: str
    scope: str
    user_defined: bool
    required: bool
    #: (option id, label) pairs, for select and multiselect attributes.
    options: list[tuple[int, str]]


# (attribute_id, code, label, frontend_input, scope, is_user_defined, is_required, option labels and ids)
_ATTRIBUTE_ROWS: list[tuple[int, str, str, str, str, bool, bool, list[tuple[int, str]]]] = [
    (73, "name", "Product Name", "text", "store", False, True, []),
    (74, "sku", "SKU", "text", "global", False, True, []),
    (75, "description", "Description", "textarea", "store", False, False, []),
    (76, "short_description", "Short Description", "textarea", "store", False, False, []),
    (77, "price", "Price", "price", "global", False, True, []),
    (78, "special_price", "Special Price", "price", "global", False, False, []),
    (82, "weight", "Weight", "weight", "global", False, False, []),
    (84, "meta_title", "Meta Title", "text", "store", False, False, []),
    (86, "meta_description", "Meta Description", "textarea", "store", False, False, []),
    (97, "status", "Enable Product", "boolean", "website", False, False, []),
    (99, "visibility", "Visibility", "select", "store", False, False, []),
    (121, "url_key", "URL Key", "text", "store", False, False, []),
    (93, "color", "Color", "select", "global", True, False, [(49, "Black"), (50, "White"), (51, "Red"), (52, "Blue")]),
    (
        144,
        "size",
        "Size",
        "select",
        "global",
        True,
        False,
        [(166, "XS"), (167, "S"), (168, "M"), (169, "L"), (170, "XL")],
    ),
    (150, "material", "Material", "text", "store", True, False, []),
    (151, "brand", "Brand", "select", "global", True, False, [(200, "Acme"), (201, "Northwind")]),
    (
        152,
        "activity",
        "Activity",
        "multiselect",
        "store",
        True,
        False,
        [(210, "Running"), (211, "Yoga"), (212, "Hiking")],
    ),
    (153, "care_instructions", "Care Instructions", "textarea", "store", True, False, []),
]
ATTRIBUTES = [AttributeRow(*row) for row in _ATTRIBUTE_ROWS]
#: The first id given to an attribute option created through the API.
FIRST_NEW_OPTION_ID = 300

_DEFAULT_SET_CODES = [
    "name",
    "sku",
    "description",
    "short_description",
    "price",
    "special_price",
    "weight",
    "meta_title",
    "meta_description",
    "status",
    "visibility",
    "url_key",
    "color",
    "size",
    "material",
    "brand",
]
ATTRIBUTE_SETS = [
    (DEFAULT_ATTRIBUTE_SET_ID, "Default", _DEFAULT_SET_CODES),
    (CLOTHING_ATTRIBUTE_SET_ID, "Clothing", [*_DEFAULT_SET_CODES, "activity", "care_instructions"]),
]

CATEGORIES = [
    {"id": ROOT_CATEGORY_ID, "parent_id": 0, "name": "Root Catalog", "level": 0, "path": "1", "position": 0},
    {"id": DEFAULT_CATEGORY_ID, "parent_id": 1, "name": "Default Category", "level": 1, "path": "1/2", "position": 1},
]

CENT = Decimal("0.01")


def now() -> str:
    """The current UTC time the way Magento writes it: `YYYY-MM-DD HH:MM:SS`, no zone."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _money(value: Any) -> float:
    return float(Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP))


def customer(
    customer_id: int,
    email: str,
    firstname: str,
    lastname: str,
    *,
    created_at: str | None = None,
    updated_at: str | None = None,
    telephone: str | None = None,
) -> dict:
    """A customer as `GET /V1/customers/{id}` answers."""
    created_at = created_at or now()
    record: dict[str, Any] = {
        "id": customer_id,
        "group_id": 1,
        "created_at": created_at,
        "updated_at": updated_at or created_at,
        "created_in": "Default Store View",
        "email": email,
        "firstname": firstname,
        "lastname": lastname,
        "store_id": 1,
        "website_id": 1,
        "addresses": [],
        "disable_auto_group_change": 0,
        "extension_attributes": {"is_subscribed": False},
    }
    if telephone:
        record["addresses"] = [
            {
                "id": customer_id * 10,
                "customer_id": customer_id,
                "firstname": firstname,
                "lastname": lastname,
                "street": ["1 High Street"],
                "city": "Springfield",
                "postcode": "12345",
                "country_id": "US",
                "region": {"region_code": "IL", "region": "Illinois", "region_id": 23},
                "region_id": 23,
                "telephone": telephone,
                "default_billing": True,
                "default_shipping": True,
            }
        ]
        record["default_billing"] = record["default_shipping"] = str(customer_id * 10)
    return record


@dataclass(frozen=True)
class OrderOptions:
    """How `order()` builds an order beyond its lines: state, customer (None: a guest), amounts and dates."""

    state: str = "complete"
    status: str | None = None
    customer_record: dict | None = None
    guest_email: str = "guest@example.com"
    shipping: float = 5.0
    tax_rate: float = 0.0
    created_at: str | None = None
    updated_at: str | None = None
    increment_id: str | None = None
    #: The store view the order was placed in (`GET /V1/store/storeViews`); 1 is the default store view.
    store_id: int = 1
    #: Whether the order is invoiced; None: as its state implies (processing, complete and closed are).
    invoiced: bool | None = None


def order(entity_id: int, lines: list[dict], **options: Any) -> dict:
    """An order as `GET /V1/orders/{id}` answers; `options` are the fields of `OrderOptions`.

    `lines` are `{"sku", "name", "qty", "price"}` plus optional `"discount"` (a positive amount off the row)
    and `"parent_sku"`/`"parent_name"`: such a line is a configurable product's variant, stored the way
    Magento does it, as a configurable parent item (carrying the child's SKU and the price) and a simple child
    item with `parent_item_id` and price 0.
    """
    chosen = OrderOptions(**options)
    state, status, customer_record = chosen.state, chosen.status, chosen.customer_record
    guest_email, shipping, tax_rate = chosen.guest_email, chosen.shipping, chosen.tax_rate
    increment_id = chosen.increment_id
    invoiced = state in ("processing", "complete", "closed") if chosen.invoiced is None else chosen.invoiced
    created_at = chosen.created_at or now()
    updated_at = chosen.updated_at or created_at
    items: list[dict] = []
    subtotal = discount = tax = Decimal(0)
    qty_total = Decimal(0)
    next_item_id = entity_id * 100
    for line in lines:
        qty = Decimal(str(line["qty"]))
        price = Decimal(str(line["price"]))
        row = price * qty
        line_discount = Decimal(str(line.get("discount", 0)))
        line_tax = ((row - line_discount) * Decimal(str(tax_rate)) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        subtotal += row
        discount += line_discount
        tax += line_tax
        qty_total += qty
        next_item_id += 1
        priced = {
            "qty_ordered": float(qty),
            "qty_invoiced": float(qty) if invoiced else 0.0,
            "qty_shipped": float(qty) if state in ("complete", "closed") else 0.0,
            "qty_refunded": float(qty) if state == "closed" else 0.0,
            "qty_canceled": float(qty) if state == "canceled" else 0.0,
            "price": _money(price),
            "base_price": _money(price),
            "original_price": _money(price),
            "price_incl_tax": _money(price * (1 + Decimal(str(tax_rate)) / 100)),
            "row_total": _money(row),
            "base_row_total": _money(row),
            "row_total_incl_tax": _money(row + line_tax),
            "discount_amount": _money(line_discount),
            "base_discount_amount": _money(line_discount),
            "discount_percent": float((line_discount / row * 100).quantize(CENT)) if row else 0.0,
            "tax_amount": _money(line_tax),
            "base_tax_amount": _money(line_tax),
            "tax_percent": float(tax_rate),
        }
        common = {
            "order_id": entity_id,
            "store_id": chosen.store_id,
            "created_at": created_at,
            "updated_at": updated_at,
            "is_virtual": 0,
            "weight": 1.0,
        }
        product_id = zlib.crc32(line["sku"].encode()) % 100000
        if line.get("parent_sku"):
            parent = {
                "item_id": next_item_id,
                "sku": line["sku"],
                "name": line.get("parent_name", line["name"]),
                "product_id": product_id + 1,
                "product_type": "configurable",
                **priced,
                **common,
            }
            next_item_id += 1
            zeros = {
                k: 0.0 for k in priced if k.startswith(("price", "base_price", "original_price", "row_", "base_row"))
            }
            zeros.update({k: 0.0 for k in ("discount_amount", "base_discount_amount", "tax_amount", "base_tax_amount")})
            child = {
                "item_id": next_item_id,
                "sku": line["sku"],
                "name": line["name"],
                "product_id": product_id,
                "product_type": "simple",
                **priced,
                **zeros,
                "parent_item_id": parent["item_id"],
                "parent_item": dict(parent),
                **common,
            }
            items += [parent, child]
        else:
            items.append(
                {
                    "item_id": next_item_id,
                    "sku": line["sku"],
                    "name": line["name"],
                    "product_id": product_id,
                    "product_type": "simple",
                    **priced,
                    **common,
                }
            )
    grand_total = subtotal - discount + tax + Decimal(str(shipping))
    guest = customer_record is None
    email = guest_email if guest else customer_record["email"]
    first = "Guest" if guest else customer_record["firstname"]
    last = "Shopper" if guest else customer_record["lastname"]
    address = {
        "address_type": "billing",
        "entity_id": entity_id * 10,
        "parent_id": entity_id,
        "email": email,
        "firstname": first,
        "lastname": last,
        "street": ["1 High Street"],
        "city": "Springfield",
        "postcode": "12345",
        "country_id": "US",
        "region": "Illinois",
        "region_code": "IL",
        "telephone": "555-0100",
    }
    record = {
        "entity_id": entity_id,
        "increment_id": increment_id or f"{entity_id:09d}",
        "state": state,
        "status": status or state,
        "store_id": chosen.store_id,
        "store_name": "Main Website\nMain Website Store\nDefault Store View",
        "customer_id": None if guest else customer_record["id"],
        "customer_email": email,
        "customer_firstname": first,
        "customer_lastname": last,
        "customer_is_guest": 1 if guest else 0,
        "customer_group_id": 0 if guest else 1,
        "created_at": created_at,
        "updated_at": updated_at,
        "base_currency_code": "USD",
        "global_currency_code": "USD",
        "order_currency_code": "USD",
        "store_currency_code": "USD",
        "subtotal": _money(subtotal),
        "base_subtotal": _money(subtotal),
        "discount_amount": _money(-discount),
        "base_discount_amount": _money(-discount),
        "shipping_amount": _money(shipping),
        "base_shipping_amount": _money(shipping),
        "shipping_description": "Flat Rate - Fixed",
        "tax_amount": _money(tax),
        "base_tax_amount": _money(tax),
        "grand_total": _money(grand_total),
        "base_grand_total": _money(grand_total),
        "total_qty_ordered": float(qty_total),
        "total_item_count": len(lines),
        "total_paid": _money(grand_total) if invoiced else 0.0,
        "total_invoiced": _money(grand_total) if invoiced else 0.0,
        "total_refunded": _money(grand_total) if state == "closed" else 0.0,
        "total_due": 0.0 if invoiced else _money(grand_total),
        "is_virtual": 0,
        "weight": float(qty_total),
        "items": items,
        "billing_address": address,
        "billing_address_id": address["entity_id"],
        "payment": {
            "entity_id": entity_id,
            "parent_id": entity_id,
            "method": "checkmo",
            "amount_ordered": _money(grand_total),
            "base_amount_ordered": _money(grand_total),
            "amount_paid": _money(grand_total) if invoiced else 0.0,
            "additional_information": ["Check / Money order"],
        },
        "status_histories": [],
        "extension_attributes": {
            "shipping_assignments": [
                {
                    "shipping": {
                        "address": {**address, "address_type": "shipping", "entity_id": entity_id * 10 + 1},
                        "method": "flatrate_flatrate",
                        "total": {"shipping_amount": _money(shipping), "base_shipping_amount": _money(shipping)},
                    },
                    "items": items,
                }
            ]
        },
    }
    return record


def _document_items(order_record: dict, document_id: int, qty_key: str) -> list[dict]:
    lines = []
    for number, item in enumerate(order_record["items"], start=1):
        lines.append(
            {
                "entity_id": document_id * 100 + number,
                "parent_id": document_id,
                "order_item_id": item["item_id"],
                "product_id": item["product_id"],
                "sku": item["sku"],
                "name": item["name"],
                "qty": item[qty_key] or item["qty_ordered"],
                "price": item["price"],
                "base_price": item["base_price"],
                "price_incl_tax": item["price_incl_tax"],
                "row_total": item["row_total"],
                "base_row_total": item["base_row_total"],
                "row_total_incl_tax": item["row_total_incl_tax"],
                "discount_amount": item["discount_amount"],
                "tax_amount": item["tax_amount"],
            }
        )
    return lines


def _document(entity_id: int, order_record: dict, qty_key: str, created_at: str | None, updated_at: str | None):
    """What invoices and credit memos share: the order's totals and lines, ids and dates."""
    created_at = created_at or now()
    totals = (
        "subtotal",
        "base_subtotal",
        "discount_amount",
        "shipping_amount",
        "tax_amount",
        "grand_total",
        "base_grand_total",
    )
    return {
        "entity_id": entity_id,
        "increment_id": f"{entity_id:09d}",
        "order_id": order_record["entity_id"],
        "store_id": order_record.get("store_id", 1),
        "state": 2,
        "billing_address_id": order_record["billing_address_id"],
        "base_currency_code": "USD",
        "order_currency_code": "USD",
        **{name: order_record[name] for name in totals},
        "created_at": created_at,
        "updated_at": updated_at or created_at,
        "items": _document_items(order_record, entity_id, qty_key),
        "comments": [],
    }


def invoice(entity_id: int, order_record: dict, *, created_at: str | None = None, updated_at: str | None = None):
    """An invoice for the whole of `order_record`, as `GET /V1/invoices/{id}` answers."""
    record = _document(entity_id, order_record, "qty_invoiced", created_at, updated_at)
    record["total_qty"] = order_record["total_qty_ordered"]
    return record


def creditmemo(
    entity_id: int,
    order_record: dict,
    invoice_record: dict | None = None,
    *,
    created_at: str | None = None,
    updated_at: str | None = None,
) -> dict:
    """A credit memo refunding the whole of `order_record`, as `GET /V1/creditmemo/{id}` answers."""
    record = _document(entity_id, order_record, "qty_refunded", created_at, updated_at)
    record.update(
        invoice_id=invoice_record["entity_id"] if invoice_record else None,
        creditmemo_status=2,
        adjustment=0.0,
        adjustment_positive=0.0,
        adjustment_negative=0.0,
    )
    return record


def demo_sales() -> dict[str, list[dict]]:
    """A small consistent set sold from the demo shop `pos seed --demo` creates (its SKUs, prices and customers,
    so importing them into that POS works): 2 customers, 3 orders (one guest, one with a configurable
    variant), their invoices and one credit memo."""
    ada = customer(
        1, "ada.lovelace@example.com", "Ada", "Lovelace", created_at="2024-05-01 09:00:00", telephone="+44 20 7946 0001"
    )
    grace = customer(2, "grace.hopper@example.com", "Grace", "Hopper", created_at="2024-05-02 10:30:00")
    first = order(
        1,
        [
            {
                "sku": "TEE-CLASSIC-BLACK-M",
                "name": "Classic Cotton Tee",
                "qty": 2,
                "price": 18.0,
                "parent_sku": "TEE-CLASSIC",
                "parent_name": "Classic Cotton Tee",
            },
            {"sku": "HAT-BEANIE", "name": "Beanie Hat", "qty": 1, "price": 19.0, "discount": 2.0},
        ],
        customer_record=ada,
        tax_rate=10.0,
        created_at="2024-05-03 12:00:00",
        updated_at="2024-05-03 12:05:00",
    )
    second = order(
        2,
        [{"sku": "SCF-WOOL-CHECK", "name": "Wool Check Scarf", "qty": 1, "price": 39.0}],
        guest_email="guest@example.com",
        state="closed",
        created_at="2024-05-04 08:15:00",
    )
    third = order(
        3,
        [{"sku": "TOP-BRETON", "name": "Striped Breton Top", "qty": 3, "price": 35.0}],
        customer_record=grace,
        state="processing",
        created_at="2024-05-05 16:45:00",
    )
    invoices = [
        invoice(1, first, created_at="2024-05-03 12:01:00"),
        invoice(2, second, created_at="2024-05-04 08:16:00"),
        invoice(3, third, created_at="2024-05-05 16:46:00"),
    ]
    creditmemos = [creditmemo(1, second, invoices[1], created_at="2024-05-06 11:00:00")]
    return {
        "customers": [ada, grace],
        "orders": [first, second, third],
        "invoices": invoices,
        "creditmemos": creditmemos,
    }
