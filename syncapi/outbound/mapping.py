"""POS records to Magento bodies: pure functions on plain data, no I/O.

The push modules look things up in Magento (attribute sets, option ids, category ids) and hand the answers to
these functions, which decide what is sent. What a function returns is also what gets hashed, so the same POS
record always maps to the same body and an unchanged record is recognised as unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from syncapi.magento import inventory, products
from syncapi.magento import prices as magento_prices
from syncapi.pos.gateway import Customer, Product

#: Bumped whenever what is sent for an unchanged POS record changes, so every record is sent once more.
MAPPING_VERSION = 1

#: Product-interface fields that travel outside `custom_attributes`.
TOP_LEVEL_FIELDS = ("name", "price", "status", "visibility", "weight")
#: Of those, the ones that are numbers (custom attribute values are always strings).
NUMERIC_TOP_LEVEL = frozenset({"price", "weight"})
#: Magento codes of the POS columns (docs/sync.md#product-data-ownership): colour goes to Magento's `color`.
CODE_NAME = "name"
CODE_SHORT_DESCRIPTION = "short_description"
CODE_DESCRIPTION = "description"
CODE_COLOR = "color"
CODE_SIZE = "size"
CODE_URL_KEY = "url_key"
CODE_WEIGHT = "weight"
CODE_PRICE = "price"
#: The codes a configurable product's variants differ by, in the order their options are created.
CONFIGURABLE_CODES = (CODE_COLOR, CODE_SIZE)
#: Pseudo-codes for the parts of a product body that are not attribute values.
FIELD_CATEGORY = "category_links"
FIELD_ATTRIBUTE_SET = "attribute_set_id"

#: PRODUCT_CREATE_ONLY_FIELDS names: POS field names (left) and the Magento code each becomes. Any other name
#: is taken as a Magento attribute code (a dynamic attribute such as `material`, or `short_description`).
POS_FIELD_CODES = {
    "name": CODE_NAME,
    "description": CODE_SHORT_DESCRIPTION,
    "long_description_html": CODE_DESCRIPTION,
    "colour": CODE_COLOR,
    "size": CODE_SIZE,
    "category_id": FIELD_CATEGORY,
    "category": FIELD_CATEGORY,
    "attribute_set": FIELD_ATTRIBUTE_SET,
    "retail_price": CODE_PRICE,
}
#: Names that can never be create-only: the product's identity and whether it is on sale.
NEVER_CREATE_ONLY = frozenset({"sku", "parent_sku", "internet_active", "status", "type_id", "visibility"})

#: Codes a POS dynamic attribute may not use: the POS columns, prices and stock own them, or Magento manages them.
RESERVED_CODES = frozenset(
    {
        "sku",
        CODE_NAME,
        CODE_PRICE,
        "special_price",
        "special_from_date",
        "special_to_date",
        "cost",
        "tier_price",
        "status",
        "visibility",
        CODE_URL_KEY,
        "url_path",
        CODE_DESCRIPTION,
        CODE_SHORT_DESCRIPTION,
        CODE_COLOR,
        CODE_SIZE,
        "category_ids",
        "media_gallery",
        "image",
        "small_image",
        "thumbnail",
        "swatch_image",
        "quantity_and_stock_status",
        "type_id",
        "attribute_set_id",
        "has_options",
        "required_options",
        "news_from_date",
        "news_to_date",
        "created_at",
        "updated_at",
    }
)

INPUT_SELECT = "select"
INPUT_MULTISELECT = "multiselect"
INPUT_BOOLEAN = "boolean"
NUMERIC_INPUTS = frozenset({"price", "weight"})
OPTION_INPUTS = frozenset({INPUT_SELECT, INPUT_MULTISELECT})
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off"})
#: Separator of several values of a multiselect attribute in the POS.
MULTI_VALUE_SEPARATOR = ","

#: Special prices are written with this start date, so the entry written is the entry later deleted.
SPECIAL_PRICE_FROM = "2000-01-01 00:00:00"

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


# --- small helpers ------------------------------------------------------------------------------------------


def slug(text: str) -> str:
    """`text` as a URL key: ASCII lower case, every run of other characters one `-`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")


def url_key(name: str, sku: str) -> str:
    """A URL key unique per product: name and SKU, so two products named alike never collide (magento2 #8188)."""
    return slug(f"{name} {sku}") or slug(sku) or "product"


def number(value: Decimal | int | float) -> int | float:
    """A decimal as a JSON number: whole values as integers, so `10` and `10.0000` hash the same."""
    decimal = Decimal(str(value))
    return int(decimal) if decimal == decimal.to_integral_value() else float(decimal)


def option_key(label: str) -> str:
    """How option labels are compared: Magento's are case-insensitive and trimmed."""
    return " ".join(str(label).split()).casefold()


def create_only_codes(names: Iterable[str]) -> tuple[frozenset[str], list[str]]:
    """The Magento codes behind PRODUCT_CREATE_ONLY_FIELDS names, and the names refused (identity, status)."""
    codes: set[str] = set()
    refused: list[str] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name in NEVER_CREATE_ONLY:
            refused.append(name)
            continue
        codes.add(POS_FIELD_CODES.get(name, name))
    return frozenset(codes), refused


# --- Magento's attribute metadata, as the push modules hand it over ------------------------------------------


@dataclass(frozen=True)
class AttributeInfo:
    """A product attribute of an attribute set: its input type and its options (label key -> option id)."""

    code: str
    frontend_input: str
    options: Mapping[str, str] = field(default_factory=dict)
    attribute_id: int | None = None
    label: str = ""

    @property
    def takes_options(self) -> bool:
        """True for select and multiselect attributes, whose values are option ids."""
        return self.frontend_input in OPTION_INPUTS


@dataclass(frozen=True)
class ValueProblem:
    """Why a POS attribute value was not sent (reported once per run, never failing the product)."""

    code: str
    message: str


def attribute_labels(info: AttributeInfo, value: str) -> list[str]:
    """The option labels a POS value names (several for a multiselect)."""
    if info.frontend_input == INPUT_MULTISELECT:
        return [part.strip() for part in value.split(MULTI_VALUE_SEPARATOR) if part.strip()]
    return [value.strip()] if value.strip() else []


def attribute_value(info: AttributeInfo, value: str, option_ids: Mapping[str, str]) -> str | None:
    """The value Magento takes for POS `value` of attribute `info` (custom attribute values are strings, numbers
    written canonically: `12.50` -> `12.5`); None when it cannot be sent.

    `option_ids` maps option label keys to ids and must hold every label of a select or multiselect value.
    """
    text = value.strip()
    if info.takes_options:
        labels = attribute_labels(info, text)
        ids = [option_ids.get(option_key(label)) for label in labels]
        if any(option_id is None for option_id in ids):
            return None
        return MULTI_VALUE_SEPARATOR.join(dict.fromkeys(ids)) if ids else ""
    if info.frontend_input == INPUT_BOOLEAN:
        lowered = text.lower()
        if lowered in TRUE_WORDS:
            return "1"
        if lowered in FALSE_WORDS or not lowered:
            return "0"
        return None
    if info.frontend_input in NUMERIC_INPUTS:
        if not text:
            return ""
        try:
            return str(number(Decimal(text)))
        except ArithmeticError:
            return None
    return value


def value_problem(info: AttributeInfo, value: str) -> str:
    """Why `value` cannot be a value of `info` (for the run's errors)."""
    if info.frontend_input == INPUT_BOOLEAN:
        return f"{value!r} is not yes/no (1, 0, true, false, yes, no)"
    if info.frontend_input in NUMERIC_INPUTS:
        return f"{value!r} is not a number"
    return f"{value!r} has no option in Magento"


# --- products ----------------------------------------------------------------------------------------------


def pos_values(product: Product) -> dict[str, str | None]:
    """The POS columns of `product` that become Magento attribute values, by Magento code (None = empty)."""
    return {
        CODE_NAME: product.name,
        CODE_SHORT_DESCRIPTION: product.description,
        CODE_DESCRIPTION: product.long_description_html,
        CODE_COLOR: product.colour,
        CODE_SIZE: product.size,
    }


def dynamic_values(product: Product) -> dict[str, str]:
    """The product's dynamic attributes that may be sent (reserved codes left out), by code."""
    return {code: value for code, value in product.attribute_values().items() if code not in RESERVED_CODES}


@dataclass(frozen=True)
class ProductFields:
    """Everything the POS owns of one Magento product, resolved to Magento ids, ready to become a body."""

    sku: str
    type_id: str
    attribute_set_id: int
    status: int
    visibility: int
    #: Attribute values by code (name, descriptions, color/size option ids, dynamic attributes).
    values: Mapping[str, Any]
    #: Magento category ids the product is linked to.
    category_ids: tuple[int, ...] = ()
    #: Sent only when the product is created (Magento needs one; afterwards prices own it).
    price: int | float | None = None
    url_key: str | None = None


def product_body(fields: ProductFields, *, creating: bool, create_only: frozenset[str]) -> dict:
    """The product body to save: on update without `create_only` codes, price and URL key (owned elsewhere).

    Never carries `media_gallery_entries`: `[]` would delete every image and leaving it out keeps them
    (magento2 #13723). Attributes the POS does not own are left out, so Magento keeps its own values.
    """
    body: dict[str, Any] = {"sku": fields.sku}
    if creating or FIELD_ATTRIBUTE_SET not in create_only:
        body["attribute_set_id"] = fields.attribute_set_id
    body["type_id"] = fields.type_id
    body["status"] = fields.status
    body["visibility"] = fields.visibility
    custom: list[dict[str, Any]] = []
    for code in sorted(fields.values):
        if code in create_only and not creating:
            continue
        value = fields.values[code]
        if code in TOP_LEVEL_FIELDS:
            if value not in (None, ""):
                body[code] = number(Decimal(str(value))) if code in NUMERIC_TOP_LEVEL else value
            continue
        custom.append({"attribute_code": code, "value": "" if value is None else str(value)})
    if creating:
        if fields.price is not None:
            body["price"] = fields.price
        if fields.url_key:
            custom.append({"attribute_code": CODE_URL_KEY, "value": fields.url_key})
    if custom:
        body["custom_attributes"] = sorted(custom, key=lambda item: item["attribute_code"])
    if creating or FIELD_CATEGORY not in create_only:
        body["extension_attributes"] = {
            "category_links": [
                {"position": 0, "category_id": str(category_id)} for category_id in sorted(set(fields.category_ids))
            ]
        }
    return body


def disable_body(sku: str) -> dict:
    """The body that only disables a product (internet-active turned off): everything else stays as it is."""
    return {"sku": sku, "status": products.STATUS_DISABLED}


def product_hash_input(body: dict) -> dict:
    """What a product's hash covers: the update body and the mapping version."""
    return {"v": MAPPING_VERSION, "body": body}


def cleared_values(previous_codes: Iterable[str], current_codes: Iterable[str]) -> dict[str, str]:
    """Empty values for the dynamic attributes sent before that the POS no longer has, so Magento drops them."""
    current = set(current_codes)
    return {code: "" for code in sorted(set(previous_codes) - current)}


# --- images ------------------------------------------------------------------------------------------------


def image_roles(position: int, first_position: int) -> tuple[str, ...]:
    """The roles of an image: the product's first image is its base, small and thumbnail image."""
    return ("image", "small_image", "thumbnail") if position == first_position else ()


def image_hash_input(sha256: str, filename: str, roles: Iterable[str], position: int) -> dict:
    """What an image's hash covers: its bytes (by digest), file name, position and roles."""
    return {"v": MAPPING_VERSION, "sha256": sha256, "filename": filename, "roles": sorted(roles), "position": position}


def media_file_pattern(filename: str) -> re.Pattern:
    """Matches the file Magento stores for an upload of `filename` (cleaned, maybe with `_N`; magento2 #39349)."""
    cleaned = re.sub(r"[^a-z0-9_.-]+", "_", filename.lower())
    stem, dot, extension = cleaned.rpartition(".")
    if not dot:
        stem, extension = cleaned, ""
    suffix = rf"\.{re.escape(extension)}" if extension else ""
    return re.compile(rf"(?:^|/){re.escape(stem)}(?:_\d+)?{suffix}$", re.IGNORECASE)


# --- prices and stock --------------------------------------------------------------------------------------


def base_price_entry(sku: str, retail_price: Decimal) -> dict:
    """A `base-prices` entry for the global price."""
    return magento_prices.base_price(sku, number(retail_price))


def special_price_entry(sku: str, sale_price: Decimal) -> dict:
    """A `special-price` entry for the global price, open-ended."""
    return magento_prices.special_price(sku, number(sale_price), SPECIAL_PRICE_FROM)


def price_hash_input(retail_price: Decimal, sale_price: Decimal | None) -> dict:
    """What a price's hash covers."""
    return {
        "v": MAPPING_VERSION,
        "price": number(retail_price),
        "special": None if sale_price is None else number(sale_price),
    }


def source_item_entry(sku: str, source_code: str, on_hand: Decimal) -> dict:
    """A source item with the POS's on-hand (never below 0: Magento keeps its own reservations, inventory #2725)."""
    quantity = number(max(Decimal(on_hand), Decimal(0)))
    return inventory.source_item(sku, source_code, quantity)


def stock_hash_input(entry: dict) -> dict:
    """What a stock level's hash covers: quantity and source."""
    return {"v": MAPPING_VERSION, "source": entry["source_code"], "quantity": entry["quantity"]}


# --- categories --------------------------------------------------------------------------------------------


def category_body(name: str, parent_magento_id: int, *, creating: bool) -> dict:
    """A category body: on creation active and in the menu; on update the name only (Magento owns the rest)."""
    body: dict[str, Any] = {"parent_id": parent_magento_id, "name": name}
    if creating:
        body.update(is_active=True, include_in_menu=True)
    return body


def category_hash_input(name: str, parent_magento_id: int) -> dict:
    """What a category's hash covers."""
    return {"v": MAPPING_VERSION, "name": name, "parent": parent_magento_id}


# --- customers ---------------------------------------------------------------------------------------------


def customer_hash_input(customer: Customer) -> dict:
    """What a customer's hash covers: the fields the POS owns."""
    return {
        "v": MAPPING_VERSION,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone": customer.phone,
    }


def new_customer_body(customer: Customer, *, website_id: int | None, store_id: int | None) -> dict:
    """The body that creates the customer in Magento (no address: the POS has none to give)."""
    body: dict[str, Any] = {
        "email": customer.email,
        "firstname": customer.first_name or "-",
        "lastname": customer.last_name or "-",
    }
    if website_id is not None:
        body["website_id"] = website_id
    if store_id is not None:
        body["store_id"] = store_id
    return body


#: Fields of Magento's customer record that are computed or read-only; they are not sent back on update.
CUSTOMER_READ_ONLY = ("created_at", "updated_at", "created_in")


def merged_customer(magento: Mapping[str, Any], customer: Customer) -> dict:
    """Magento's customer record with the POS-owned fields set: what a PUT (which replaces) must carry.

    Everything Magento holds that the POS does not own stays: addresses, group, custom attributes, ... The
    POS phone goes to the telephone of the default billing address when there is one; without an address the
    phone is not sent (an address needs a street, a city and a country the POS does not have).
    """
    merged = {key: value for key, value in magento.items() if key not in CUSTOMER_READ_ONLY}
    merged["email"] = customer.email
    if customer.first_name:
        merged["firstname"] = customer.first_name
    if customer.last_name:
        merged["lastname"] = customer.last_name
    if customer.phone and merged.get("addresses"):
        default_billing = str(merged.get("default_billing") or "")
        addresses = [dict(address) for address in merged["addresses"]]
        target = next((a for a in addresses if str(a.get("id")) == default_billing), None)
        if target is None:
            target = next((a for a in addresses if a.get("default_billing")), None)
        if target is not None:
            target["telephone"] = customer.phone
        merged["addresses"] = addresses
    return merged
