"""The sandbox's catalog endpoints: products, images, configurable products, attributes and attribute sets,
categories, MSI source items, base and special prices.

They answer like Magento 2.4, traps included: an image POST adds an entry every time and a
re-posted file name gets `_1`; `media_gallery_entries: []` in a save deletes every image, leaving it out keeps
them; a duplicate URL key is refused; source items of unknown SKUs answer 200 and are not stored; a write through
a store view (`/rest/default/V1/...`, `/rest/V1/...`) stores store-view overrides next to the global values; a
PUT cannot rename a SKU; configurable children need distinct option values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import datetime
from typing import Any

from sandbox import search, seed
from sandbox.routing import (
    ACL_ATTRIBUTE_SETS,
    ACL_ATTRIBUTES,
    ACL_CATEGORIES,
    ACL_PRODUCTS,
    ACL_SOURCE_ITEMS,
    ROUTER,
    Call,
)
from sandbox.state import (
    Category,
    MagentoHttpError,
    Product,
    SandboxState,
    no_such_entity,
    not_found_product,
)

#: Product-interface fields kept as attribute values; every other value is a custom attribute.
PRODUCT_FIELDS = ("name", "price", "status", "visibility", "weight")
PRODUCT_TYPES = ("simple", "virtual", "configurable")
#: Types the efficient price APIs accept (a configurable's price comes from its children).
PRICED_TYPES = ("simple", "virtual")
CATEGORY_FIELDS = ("name", "is_active", "include_in_menu")
STORE_SCOPES = ("store", "website")
IMAGE_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
URL_KEY_EXISTS = "URL key for specified store already exists."
EMPTY_ATTRIBUTE = 'The "%1" attribute value is empty. Set the attribute and try again.'
INVALID_PRICE_ATTRIBUTE = "Invalid attribute %fieldName = %fieldValue."


def required_object(body: Any, key: str) -> dict:
    """`body[key]` as a dict, or Magento's 400 for a missing or malformed top-level parameter."""
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise MagentoHttpError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": key})
    return body[key]


def required_list(body: Any, key: str) -> list:
    """`body[key]` as a list, or Magento's 400."""
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise MagentoHttpError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": key})
    return body[key]


def slug(text: str) -> str:
    """Magento's URL key for a name: lower case, runs of other characters as one `-`."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def _scope_of(state: SandboxState, code: str) -> str:
    attribute = state.attributes.get(code)
    return attribute["scope"] if attribute else "global"


def _split_by_scope(state: SandboxState, values: dict[str, Any]) -> tuple[dict, dict]:
    global_values = {c: v for c, v in values.items() if _scope_of(state, c) not in STORE_SCOPES}
    store_values = {c: v for c, v in values.items() if _scope_of(state, c) in STORE_SCOPES}
    return global_values, store_values


def _write_scoped(state: SandboxState, values_by_scope: dict, incoming: dict, store: str, creating: bool) -> None:
    """Store `incoming` the way Magento does for a save through `store`.

    Through `all` every value is global. Through a store view, values of store- and website-scope attributes
    become that view's overrides (magento2 #9186, #31083); on creation they are the global values as well.
    """
    if store == "all" or creating:
        values_by_scope["all"].update(incoming)
    if store != "all":
        global_values, store_values = _split_by_scope(state, incoming)
        values_by_scope["all"].update(global_values)
        if store_values:
            values_by_scope.setdefault(store, {}).update(store_values)


# --- rendering ---------------------------------------------------------------------------------------


def render_media(entry: dict) -> dict:
    """A gallery entry as the API shows it."""
    return {key: entry[key] for key in ("id", "media_type", "label", "position", "disabled", "types", "file")}


def render_product(state: SandboxState, product: Product, store: str) -> dict:
    """A product as `GET /V1/products/{sku}` answers, values as seen from `store`."""
    values = product.effective(store)
    out: dict[str, Any] = {"id": product.id, "sku": product.sku}
    for name in ("name", "attribute_set_id", "price", "status", "visibility", "type_id"):
        value = product.attribute_set_id if name == "attribute_set_id" else values.get(name)
        if name == "type_id":
            value = product.type_id
        if value is not None:
            out[name] = value
    out["created_at"], out["updated_at"] = product.created_at, product.updated_at
    if values.get("weight") is not None:
        out["weight"] = values["weight"]
    source = state.source_items.get((product.sku, "default"))
    quantity = source["quantity"] if source else (product.stock_item or {}).get("qty", 0)
    extension: dict[str, Any] = {
        "website_ids": list(product.website_ids),
        "category_links": [dict(link) for link in product.category_links],
        "stock_item": {
            "item_id": product.id,
            "product_id": product.id,
            "stock_id": 1,
            "qty": quantity,
            "is_in_stock": bool(source["status"]) if source else bool((product.stock_item or {}).get("is_in_stock")),
        },
    }
    if product.type_id == "configurable":
        extension["configurable_product_options"] = [dict(o) for o in product.configurable_options]
        extension["configurable_product_links"] = [
            state.products[sku].id for sku in product.children if sku in state.products
        ]
    out["extension_attributes"] = extension
    out["product_links"] = []
    out["options"] = []
    out["media_gallery_entries"] = [render_media(entry) for entry in product.media]
    out["tier_prices"] = []
    out["custom_attributes"] = [
        {"attribute_code": code, "value": value}
        for code, value in values.items()
        if code not in PRODUCT_FIELDS and value is not None
    ]
    return out


def _product(state: SandboxState, sku: str) -> Product:
    product = state.products.get(sku)
    if product is None:
        raise not_found_product()
    return product


# --- products ----------------------------------------------------------------------------------------


def _incoming_values(payload: dict) -> dict[str, Any]:
    values = {name: payload[name] for name in PRODUCT_FIELDS if name in payload}
    for item in payload.get("custom_attributes") or []:
        if isinstance(item, dict) and item.get("attribute_code"):
            values[item["attribute_code"]] = item.get("value")
    return values


def _check_option_values(state: SandboxState, values: dict[str, Any]) -> None:
    for code, value in values.items():
        attribute = state.attributes.get(code)
        if not attribute or attribute["frontend_input"] not in ("select", "multiselect") or value in (None, ""):
            continue
        if code == "visibility":
            continue
        known = {option["value"] for option in attribute["options"]}
        parts = str(value).split(",") if attribute["frontend_input"] == "multiselect" else [str(value)]
        for part in parts:
            if part.strip() not in known:
                raise MagentoHttpError(
                    400,
                    'Invalid value of "%value" provided for the %fieldName field.',
                    {"value": str(value), "fieldName": code},
                )


URL_KEY_STORES = ("all", "default")


def _url_keys(product: Product | None) -> dict[str, str | None]:
    if product is None:
        return {}
    return {store: product.effective(store).get("url_key") for store in URL_KEY_STORES}


def _check_url_key(state: SandboxState, sku: str, url_keys: dict[str, str | None]) -> None:
    """Refuse a URL key another product already has in the same store (magento2 #8188)."""
    for store, key in url_keys.items():
        owner = state.url_keys.get((store, key)) if key else None
        if owner is not None and owner != sku:
            raise MagentoHttpError(400, URL_KEY_EXISTS)


def _index_url_keys(state: SandboxState, sku: str, before: dict[str, str | None], after: dict[str, str | None]):
    for store, key in before.items():
        if key and state.url_keys.get((store, key)) == sku:
            del state.url_keys[(store, key)]
    for store, key in after.items():
        if key:
            state.url_keys[(store, key)] = sku


def save_product(state: SandboxState, call: Call, path_sku: str | None = None) -> dict:
    """Create or update a product from `{"product": {...}}`; what `POST /V1/products` and PUT do."""
    payload = required_object(call.body, "product")
    # A PUT cannot rename: the SKU in the path wins over the body's, silently (magento2 #30143).
    sku = path_sku if path_sku is not None else payload.get("sku")
    if not sku or not isinstance(sku, str):
        raise MagentoHttpError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "sku"})
    existing = state.products.get(sku)
    creating = existing is None
    type_id = payload.get("type_id") or (existing.type_id if existing else "simple")
    if type_id not in PRODUCT_TYPES:
        raise MagentoHttpError(
            400,
            'Invalid value of "%value" provided for the %fieldName field.',
            {"value": str(type_id), "fieldName": "type_id"},
        )
    set_id = payload.get("attribute_set_id") or (
        existing.attribute_set_id if existing else seed.DEFAULT_ATTRIBUTE_SET_ID
    )
    if set_id not in state.attribute_sets:
        raise no_such_entity("attributeSetId", set_id)
    incoming = _incoming_values(payload)
    allowed = set(state.attribute_sets[set_id]["attributes"])
    # Values of attributes outside the product's attribute set are not saved.
    incoming = {code: value for code, value in incoming.items() if code in allowed}
    _check_option_values(state, incoming)
    for field_name in ("status", "visibility"):
        if field_name in incoming and incoming[field_name] not in (None, 1, 2, 3, 4):
            raise MagentoHttpError(
                400,
                'Invalid value of "%value" provided for the %fieldName field.',
                {"value": str(incoming[field_name]), "fieldName": field_name},
            )
    if creating:
        if not incoming.get("name"):
            raise MagentoHttpError(400, EMPTY_ATTRIBUTE, ["Product Name"])
        if type_id in PRICED_TYPES and incoming.get("price") is None:
            raise MagentoHttpError(400, EMPTY_ATTRIBUTE, ["Price"])
        incoming.setdefault("status", 1)
        incoming.setdefault("visibility", 4)
        # Without a url_key Magento derives one from the name, so two products named alike collide.
        if not incoming.get("url_key"):
            incoming["url_key"] = slug(incoming["name"])
        stamp = seed.now()
        product = Product(state.counters["product"] + 1, sku, type_id, set_id, stamp, stamp)
    else:
        product = _copy_product(existing)
        product.type_id = type_id
        product.attribute_set_id = set_id
    _write_scoped(state, product.values, incoming, call.store, creating)
    _check_url_key(state, sku, _url_keys(product))
    extension = payload.get("extension_attributes") or {}
    if "website_ids" in extension:
        product.website_ids = [int(w) for w in extension["website_ids"] or []]
    if "category_links" in extension:
        for link in extension["category_links"] or []:
            if int(link.get("category_id", 0)) not in state.categories:
                raise MagentoHttpError(
                    400,
                    'Could not save product "%1" with position %2 to category %3',
                    [str(product.id), str(link.get("position", 0)), str(link.get("category_id"))],
                )
        product.category_links = [
            {"position": int(link.get("position", 0)), "category_id": str(link["category_id"])}
            for link in extension["category_links"] or []
        ]
    if "stock_item" in extension and isinstance(extension["stock_item"], dict):
        product.stock_item = {
            "qty": extension["stock_item"].get("qty", 0),
            "is_in_stock": bool(extension["stock_item"].get("is_in_stock", False)),
        }
    if product.type_id == "configurable":
        if "configurable_product_options" in extension:
            options = extension["configurable_product_options"] or []
            product.configurable_options = [_configurable_option(state, product, option) for option in options]
        if "configurable_product_links" in extension:
            children = []
            for child_id in extension["configurable_product_links"] or []:
                child = state.product_by_id(int(child_id))
                if child is None:
                    raise not_found_product()
                children.append(child.sku)
            _check_distinct_children(state, product, children)
            product.children = children
    if "media_gallery_entries" in payload:
        # `[]` deletes every image; leaving the key out keeps them. Last, as it is the one step that stores files.
        product.media = _replace_gallery(state, product, payload.get("media_gallery_entries") or [])
    if creating:
        state.next_id("product")
    product.updated_at = seed.now()
    _index_url_keys(state, sku, _url_keys(existing), _url_keys(product))
    state.products[sku] = product
    return render_product(state, product, call.store)


def _copy_product(product: Product) -> Product:
    """A working copy, so a refused save changes nothing."""
    return Product(
        product.id,
        product.sku,
        product.type_id,
        product.attribute_set_id,
        product.created_at,
        product.updated_at,
        {scope: dict(values) for scope, values in product.values.items()},
        [dict(entry) for entry in product.media],
        list(product.website_ids),
        [dict(link) for link in product.category_links],
        dict(product.stock_item) if product.stock_item else None,
        [dict(option) for option in product.configurable_options],
        list(product.children),
    )


@ROUTER.route("GET", "/V1/products/{sku}", ACL_PRODUCTS)
def get_product(state: SandboxState, call: Call):
    return render_product(state, _product(state, call.params["sku"]), call.store)


@ROUTER.route("POST", "/V1/products", ACL_PRODUCTS)
def post_product(state: SandboxState, call: Call):
    return save_product(state, call)


@ROUTER.route("PUT", "/V1/products/{sku}", ACL_PRODUCTS)
def put_product(state: SandboxState, call: Call):
    return save_product(state, call, path_sku=call.params["sku"])


@ROUTER.route("GET", "/V1/products", ACL_PRODUCTS)
def search_products(state: SandboxState, call: Call):
    criteria = search.parse(call.query)
    rendered = [render_product(state, p, call.store) for p in _candidates(state, criteria)]

    def value(item: dict, name: str):
        if name in ("entity_id",):
            return item["id"]
        if name in item:
            return item[name]
        return next((a["value"] for a in item["custom_attributes"] if a["attribute_code"] == name), None)

    return search.apply(rendered, criteria, value)


def _candidates(state: SandboxState, criteria: dict) -> list[Product]:
    """The products a search can match: only those named when a filter group is SKUs alone (`eq`/`in`), so a
    lookup of a page of SKUs does not render the whole catalog."""
    for group in criteria["filter_groups"]:
        filters = group["filters"]
        if filters and all(f["field"] == "sku" and f["condition_type"] in ("eq", "in") for f in filters):
            named = set()
            for f in filters:
                value = str(f.get("value", ""))
                named.update(value.split(",") if f["condition_type"] == "in" else [value])
            return sorted((state.products[sku] for sku in named if sku in state.products), key=lambda p: p.id)
    return list(state.products.values())


# --- media -------------------------------------------------------------------------------------------


def _decode_image(entry: Any) -> tuple[bytes, str]:
    """The bytes and the cleaned file name of an uploaded image, or Magento's 400 (nothing stored)."""
    content = entry.get("content") if isinstance(entry, dict) else None
    if not isinstance(content, dict) or not content.get("base64_encoded_data"):
        raise MagentoHttpError(400, "The image content is invalid. Verify the content and try again.")
    try:
        data = base64.b64decode(content["base64_encoded_data"], validate=True)
    except (binascii.Error, ValueError):
        raise MagentoHttpError(400, "The image content must be valid base64 encoded data.") from None
    mime = content.get("type")
    if mime not in IMAGE_SIGNATURES:
        raise MagentoHttpError(400, "The image MIME type is not valid or not supported.")
    if not data.startswith(IMAGE_SIGNATURES[mime]):
        raise MagentoHttpError(400, "The image content is invalid. Verify the content and try again.")
    name = re.sub(r"[^a-z0-9_.-]+", "_", str(content.get("name") or "").lower())
    if "." not in name.strip("."):
        raise MagentoHttpError(400, "Provided image name contains forbidden characters.")
    return data, name


def _store_image(state: SandboxState, product: Product, entry: dict, data: bytes, name: str) -> dict:
    """Store one checked image; the new entry (not yet in the product's gallery)."""
    stem, extension = name.rsplit(".", 1)
    folder = f"/{(stem + '__')[0]}/{(stem + '__')[1]}/"
    candidate, copy_number = f"{folder}{stem}.{extension}", 0
    # Files live in one shared media folder: a name already used gets `_1`, `_2`, ... (magento2 #39349).
    while candidate in state.media_files:
        copy_number += 1
        candidate = f"{folder}{stem}_{copy_number}.{extension}"
    state.media_files.add(candidate)
    positions = [e.get("position") or 0 for e in product.media]
    return {
        "id": state.next_id("media"),
        "media_type": entry.get("media_type") or "image",
        "label": entry.get("label") or "",
        "position": entry.get("position") if entry.get("position") is not None else max(positions, default=0) + 1,
        "disabled": bool(entry.get("disabled", False)),
        "types": list(entry.get("types") or []),
        "file": candidate,
        "content_sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }


def _take_roles(gallery: list[dict], entry: dict) -> None:
    """An image role (image, small_image, thumbnail) belongs to one entry: the newest one takes it."""
    for other in gallery:
        if other is not entry:
            other["types"] = [role for role in other["types"] if role not in entry["types"]]


def _replace_gallery(state: SandboxState, product: Product, entries: list) -> list[dict]:
    by_id = {e["id"]: e for e in product.media}
    by_file = {e["file"]: e for e in product.media}
    entries = [entry for entry in entries if isinstance(entry, dict)]
    uploads = {index: _decode_image(entry) for index, entry in enumerate(entries) if entry.get("content")}
    gallery: list[dict] = []
    for index, entry in enumerate(entries):
        if index in uploads:
            gallery.append(_store_image(state, product, entry, *uploads[index]))
            continue
        kept = by_id.get(_int_or_none(entry.get("id"))) or by_file.get(entry.get("file"))
        if kept is not None:
            kept = dict(kept)
            for key in ("label", "position", "disabled", "types"):
                if key in entry:
                    kept[key] = entry[key]
            gallery.append(kept)
    for entry in gallery:
        if entry["types"]:
            _take_roles(gallery, entry)
    return gallery


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@ROUTER.route("GET", "/V1/products/{sku}/media", ACL_PRODUCTS)
def list_media(state: SandboxState, call: Call):
    return [render_media(entry) for entry in _product(state, call.params["sku"]).media]


@ROUTER.route("GET", "/V1/products/{sku}/media/{entryId}", ACL_PRODUCTS)
def get_media(state: SandboxState, call: Call):
    product = _product(state, call.params["sku"])
    entry = next((e for e in product.media if str(e["id"]) == call.params["entryId"]), None)
    if entry is None:
        raise MagentoHttpError(404, "The image doesn't exist. Verify and try again.")
    return render_media(entry)


@ROUTER.route("POST", "/V1/products/{sku}/media", ACL_PRODUCTS)
def add_media(state: SandboxState, call: Call):
    product = _product(state, call.params["sku"])
    entry = required_object(call.body, "entry")
    stored = _store_image(state, product, entry, *_decode_image(entry))
    # Every POST adds an entry, even for an image the product already has (magento2 #13723).
    product.media.append(stored)
    if stored["types"]:
        _take_roles(product.media, stored)
    product.updated_at = seed.now()
    return stored["id"]


@ROUTER.route("DELETE", "/V1/products/{sku}/media/{entryId}", ACL_PRODUCTS)
def delete_media(state: SandboxState, call: Call):
    product = _product(state, call.params["sku"])
    remaining = [e for e in product.media if str(e["id"]) != call.params["entryId"]]
    if len(remaining) == len(product.media):
        raise MagentoHttpError(404, "No image with the provided ID was found. Verify the ID and try again.")
    product.media = remaining
    product.updated_at = seed.now()
    return True


# --- configurable products -------------------------------------------------------------------------


def _configurable_parent(state: SandboxState, sku: str) -> Product:
    product = _product(state, sku)
    if product.type_id != "configurable":
        raise MagentoHttpError(400, 'The product with the "%1" SKU isn\'t a configurable product.', [sku])
    return product


def _attribute_by_id(state: SandboxState, attribute_id: Any) -> dict:
    attribute = next((a for a in state.attributes.values() if str(a["attribute_id"]) == str(attribute_id)), None)
    if attribute is None:
        raise no_such_entity("attribute_id", attribute_id)
    return attribute


def _configurable_option(state: SandboxState, product: Product, option: dict) -> dict:
    attribute = _attribute_by_id(state, option.get("attribute_id"))
    if attribute["scope"] != "global" or attribute["frontend_input"] != "select":
        raise MagentoHttpError(
            400,
            'The "%1" attribute can\'t be a configurable option: it must be a global-scope dropdown.',
            [attribute["attribute_code"]],
        )
    known = {option_value["value"] for option_value in attribute["options"]}
    values = []
    for value in option.get("values") or []:
        if str(value.get("value_index")) not in known:
            raise MagentoHttpError(
                400,
                'Invalid value of "%value" provided for the %fieldName field.',
                {"value": str(value.get("value_index")), "fieldName": attribute["attribute_code"]},
            )
        values.append({"value_index": int(value["value_index"])})
    return {
        "id": _int_or_none(option.get("id")) or state.next_id("configurable_option"),
        "attribute_id": str(attribute["attribute_id"]),
        "label": option.get("label") or attribute["default_frontend_label"],
        "position": int(option.get("position") or 0),
        "values": values,
        "product_id": product.id,
    }


def _option_codes(state: SandboxState, parent: Product) -> list[str]:
    return [_attribute_by_id(state, o["attribute_id"])["attribute_code"] for o in parent.configurable_options]


def _check_distinct_children(state: SandboxState, parent: Product, children: list[str]) -> None:
    """Children of one parent need distinct combinations of the option values (magento2 #39534)."""
    codes = _option_codes(state, parent)
    seen: dict[tuple, Product] = {}
    for sku in children:
        child = state.products[sku]
        for code in codes:
            if not child.value(code):
                raise MagentoHttpError(
                    400,
                    'The child product doesn\'t have the "%1" attribute value. Verify the value and try again.',
                    [code],
                )
        combination = tuple(str(child.value(code)) for code in codes)
        if combination in seen:
            raise MagentoHttpError(
                400,
                'Products "%1" and "%2" have the same set of attribute values.',
                [str(child.id), str(seen[combination].id)],
            )
        seen[combination] = child


@ROUTER.route("GET", "/V1/configurable-products/{sku}/options/all", ACL_PRODUCTS)
def list_configurable_options(state: SandboxState, call: Call):
    return [dict(o) for o in _product(state, call.params["sku"]).configurable_options]


@ROUTER.route("POST", "/V1/configurable-products/{sku}/options", ACL_PRODUCTS)
def add_configurable_option(state: SandboxState, call: Call):
    parent = _configurable_parent(state, call.params["sku"])
    option = _configurable_option(state, parent, required_object(call.body, "option"))
    if any(o["attribute_id"] == option["attribute_id"] for o in parent.configurable_options):
        raise MagentoHttpError(400, "Something went wrong while saving option.")
    parent.configurable_options.append(option)
    parent.updated_at = seed.now()
    return option["id"]


@ROUTER.route("GET", "/V1/configurable-products/{sku}/children", ACL_PRODUCTS)
def list_children(state: SandboxState, call: Call):
    parent = _product(state, call.params["sku"])
    return [render_product(state, state.products[sku], call.store) for sku in parent.children if sku in state.products]


@ROUTER.route("POST", "/V1/configurable-products/{sku}/child", ACL_PRODUCTS)
def add_child(state: SandboxState, call: Call):
    if not isinstance(call.body, dict) or not isinstance(call.body.get("childSku"), str):
        raise MagentoHttpError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "childSku"})
    parent = _product(state, call.params["sku"])
    child = _product(state, call.body["childSku"])
    if child.sku in parent.children:
        raise MagentoHttpError(400, "The product is already attached.")
    if not parent.configurable_options:
        raise MagentoHttpError(400, "The parent product doesn't have configurable product options.")
    _check_distinct_children(state, parent, [*parent.children, child.sku])
    parent.children.append(child.sku)
    parent.updated_at = seed.now()
    return True


@ROUTER.route("DELETE", "/V1/configurable-products/{sku}/children/{childSku}", ACL_PRODUCTS)
def remove_child(state: SandboxState, call: Call):
    parent = _configurable_parent(state, call.params["sku"])
    if call.params["childSku"] not in parent.children:
        raise MagentoHttpError(404, "The option that was requested doesn't exist. Verify the entity and try again.")
    parent.children.remove(call.params["childSku"])
    parent.updated_at = seed.now()
    return True


# --- attributes and attribute sets ------------------------------------------------------------------


def _attribute(state: SandboxState, code: str) -> dict:
    attribute = state.attributes.get(code)
    if attribute is None:
        raise MagentoHttpError(
            404,
            'The attribute with a "%1" attributeCode doesn\'t exist. Verify the attribute and try again.',
            [code],
        )
    return attribute


@ROUTER.route("GET", "/V1/products/attributes/{attributeCode}", ACL_ATTRIBUTES)
def get_attribute(state: SandboxState, call: Call):
    return dict(_attribute(state, call.params["attributeCode"]))


@ROUTER.route("GET", "/V1/products/attributes/{attributeCode}/options", ACL_ATTRIBUTES)
def list_attribute_options(state: SandboxState, call: Call):
    attribute = _attribute(state, call.params["attributeCode"])
    if attribute["frontend_input"] not in ("select", "multiselect", "boolean"):
        return []
    # Magento lists the empty option first.
    return [{"label": " ", "value": ""}, *(dict(o) for o in attribute["options"])]


@ROUTER.route("POST", "/V1/products/attributes/{attributeCode}/options", ACL_ATTRIBUTES)
def add_attribute_option(state: SandboxState, call: Call):
    attribute = _attribute(state, call.params["attributeCode"])
    option = required_object(call.body, "option")
    if attribute["frontend_input"] not in ("select", "multiselect"):
        raise MagentoHttpError(400, 'The "%1" attribute doesn\'t work with options.', [attribute["attribute_code"]])
    label = str(option.get("label") or "").strip()
    if not label:
        raise MagentoHttpError(400, "The attribute option label is empty. Enter the value and try again.")
    if any(existing["label"] == label for existing in attribute["options"]):
        raise MagentoHttpError(400, "Admin store attribute option label '%1' is already exists.", [label])
    option_id = state.next_id("option")
    attribute["options"].append({"label": label, "value": str(option_id)})
    return str(option_id)


@ROUTER.route("GET", "/V1/products/attribute-sets/sets/list", ACL_ATTRIBUTE_SETS)
def list_attribute_sets(state: SandboxState, call: Call):
    criteria = search.parse(call.query)
    sets = [{k: v for k, v in s.items() if k != "attributes"} for s in state.attribute_sets.values()]
    return search.apply(sets, criteria)


@ROUTER.route("GET", "/V1/products/attribute-sets/{attributeSetId}/attributes", ACL_ATTRIBUTE_SETS)
def list_set_attributes(state: SandboxState, call: Call):
    set_id = _int_or_none(call.params["attributeSetId"])
    attribute_set = state.attribute_sets.get(set_id) if set_id is not None else None
    if attribute_set is None:
        raise no_such_entity("id", call.params["attributeSetId"])
    return [dict(state.attributes[code]) for code in attribute_set["attributes"] if code in state.attributes]


# --- categories --------------------------------------------------------------------------------------


def _category(state: SandboxState, category_id: Any) -> Category:
    category = state.categories.get(_int_or_none(category_id))
    if category is None:
        raise no_such_entity("id", category_id)
    return category


def _children_of(state: SandboxState, category_id: int) -> list[Category]:
    return sorted((c for c in state.categories.values() if c.parent_id == category_id), key=lambda c: c.position)


def render_category(state: SandboxState, category: Category, store: str) -> dict:
    """A category as `GET /V1/categories/{id}` answers."""
    values = category.effective(store)
    return {
        "id": category.id,
        "parent_id": category.parent_id,
        "name": values.get("name"),
        "is_active": bool(values.get("is_active", True)),
        "position": category.position,
        "level": category.level,
        "children": ",".join(str(c.id) for c in _children_of(state, category.id)),
        "created_at": category.created_at,
        "updated_at": category.updated_at,
        "path": category.path,
        "available_sort_by": [],
        "include_in_menu": bool(values.get("include_in_menu", True)),
        "custom_attributes": [
            {"attribute_code": code, "value": value}
            for code, value in values.items()
            if code not in CATEGORY_FIELDS and value is not None
        ],
    }


def _tree(state: SandboxState, category: Category, store: str, depth: int | None) -> dict:
    values = category.effective(store)
    children = [] if depth == 0 else _children_of(state, category.id)
    return {
        "id": category.id,
        "parent_id": category.parent_id,
        "name": values.get("name"),
        "is_active": bool(values.get("is_active", True)),
        "position": category.position,
        "level": category.level,
        "product_count": sum(
            1
            for p in state.products.values()
            if any(str(link["category_id"]) == str(category.id) for link in p.category_links)
        ),
        "children_data": [_tree(state, c, store, None if depth is None else depth - 1) for c in children],
    }


def _category_values(payload: dict) -> dict[str, Any]:
    values = {name: payload[name] for name in CATEGORY_FIELDS if name in payload}
    for item in payload.get("custom_attributes") or []:
        if isinstance(item, dict) and item.get("attribute_code"):
            values[item["attribute_code"]] = item.get("value")
    return values


def _check_category_url_key(state: SandboxState, category: Category) -> None:
    for store in ("all", "default"):
        key = category.effective(store).get("url_key")
        for sibling in _children_of(state, category.parent_id):
            if sibling.id != category.id and sibling.effective(store).get("url_key") == key:
                raise MagentoHttpError(400, URL_KEY_EXISTS)


@ROUTER.route("GET", "/V1/categories", ACL_CATEGORIES)
def category_tree(state: SandboxState, call: Call):
    root_id = call.query.get("rootCategoryId")
    if root_id is None:
        root_id = seed.ROOT_CATEGORY_ID if call.store == "all" else seed.DEFAULT_CATEGORY_ID
    depth = _int_or_none(call.query.get("depth"))
    return _tree(state, _category(state, root_id), call.store, depth)


@ROUTER.route("GET", "/V1/categories/{categoryId}", ACL_CATEGORIES)
def get_category(state: SandboxState, call: Call):
    return render_category(state, _category(state, call.params["categoryId"]), call.store)


@ROUTER.route("POST", "/V1/categories", ACL_CATEGORIES)
def create_category(state: SandboxState, call: Call):
    payload = required_object(call.body, "category")
    parent = _category(state, payload.get("parent_id") or seed.DEFAULT_CATEGORY_ID)
    values = _category_values(payload)
    if not values.get("name"):
        raise MagentoHttpError(400, EMPTY_ATTRIBUTE, ["Name"])
    values.setdefault("is_active", True)
    values.setdefault("include_in_menu", True)
    if not values.get("url_key"):
        values["url_key"] = slug(values["name"])
    stamp = seed.now()
    category_id = state.counters["category"] + 1
    position = payload.get("position")
    if position is None:
        position = len(_children_of(state, parent.id)) + 1
    category = Category(
        category_id, parent.id, f"{parent.path}/{category_id}", parent.level + 1, int(position), stamp, stamp
    )
    _write_scoped(state, category.values, values, call.store, creating=True)
    _check_category_url_key(state, category)
    state.next_id("category")
    state.categories[category.id] = category
    return render_category(state, category, call.store)


@ROUTER.route("PUT", "/V1/categories/{id}", ACL_CATEGORIES)
def update_category(state: SandboxState, call: Call):
    payload = required_object(call.body, "category")
    existing = _category(state, call.params["id"])
    category = Category(
        existing.id,
        existing.parent_id,
        existing.path,
        existing.level,
        int(payload.get("position", existing.position)),
        existing.created_at,
        seed.now(),
        {scope: dict(values) for scope, values in existing.values.items()},
    )
    _write_scoped(state, category.values, _category_values(payload), call.store, creating=False)
    _check_category_url_key(state, category)
    state.categories[category.id] = category
    return render_category(state, category, call.store)


# --- MSI source items -------------------------------------------------------------------------------


@ROUTER.route("POST", "/V1/inventory/source-items", ACL_SOURCE_ITEMS)
def save_source_items(state: SandboxState, call: Call):
    items = required_list(call.body, "sourceItems")
    errors = []
    for item in items:
        if not isinstance(item, dict):
            errors.append({"message": '"%field" can not be empty.', "parameters": {"field": "sku"}})
            continue
        for field_name in ("sku", "source_code"):
            if not item.get(field_name):
                errors.append({"message": '"%field" can not be empty.', "parameters": {"field": field_name}})
        if item.get("source_code") and item["source_code"] not in state.sources:
            errors.append(
                {"message": 'Source with code "%code" does not exist.', "parameters": {"code": item["source_code"]}}
            )
        if item.get("status") not in (0, 1):
            errors.append({"message": '"%field" should be numeric.', "parameters": {"field": "status"}})
        if not isinstance(item.get("quantity"), int | float) or isinstance(item.get("quantity"), bool):
            errors.append({"message": '"%field" should be numeric.', "parameters": {"field": "quantity"}})
    if errors:
        raise MagentoHttpError(400, "Validation Failed", errors=errors)
    for item in items:
        # Unknown SKUs are answered 200 and silently not stored (magento2 #38154).
        if item["sku"] in state.products:
            state.source_items[(item["sku"], item["source_code"])] = {
                "sku": item["sku"],
                "source_code": item["source_code"],
                "quantity": item["quantity"],
                "status": item["status"],
            }
    return []


@ROUTER.route("GET", "/V1/inventory/source-items", ACL_SOURCE_ITEMS)
def search_source_items(state: SandboxState, call: Call):
    return search.apply([dict(i) for i in state.source_items.values()], search.parse(call.query))


# --- prices ------------------------------------------------------------------------------------------


def _price_failure(message: str, parameters: list) -> dict:
    return {"message": message, "parameters": [str(p) for p in parameters]}


def _check_price_entry(state: SandboxState, entry: dict, failures: list) -> bool:
    sku = entry.get("sku")
    product = state.products.get(sku) if isinstance(sku, str) else None
    ok = True
    if product is None or product.type_id not in PRICED_TYPES:
        failures.append(_price_failure(INVALID_PRICE_ATTRIBUTE, ["SKU", sku]))
        ok = False
    price = entry.get("price")
    if not isinstance(price, int | float) or isinstance(price, bool) or price < 0:
        failures.append(_price_failure(INVALID_PRICE_ATTRIBUTE, ["Price", price]))
        ok = False
    if entry.get("store_id") not in {view["id"] for view in state.store_views}:
        failures.append(
            _price_failure(
                "Requested store is not found. Row ID: SKU = %SKU, Store ID: %storeId.", [sku, entry.get("store_id")]
            )
        )
        ok = False
    return ok


@ROUTER.route("POST", "/V1/products/base-prices", ACL_PRODUCTS)
def update_base_prices(state: SandboxState, call: Call):
    failures: list[dict] = []
    for entry in required_list(call.body, "prices"):
        if isinstance(entry, dict) and _check_price_entry(state, entry, failures):
            product = state.products[entry["sku"]]
            # The price attribute has global scope by default: every store id writes the global value.
            product.values["all"]["price"] = entry["price"]
            state.base_prices[(entry["sku"], 0)] = entry["price"]
            product.updated_at = seed.now()
    return failures


def _valid_date(value: Any) -> bool:
    try:
        datetime.strptime(str(value), DATE_FORMAT)
    except ValueError:
        return False
    return True


def _sync_special_price(state: SandboxState, sku: str) -> None:
    entries = [e for e in state.special_prices if e["sku"] == sku]
    values = state.products[sku].values["all"]
    if entries:
        latest = entries[-1]
        values["special_price"] = latest["price"]
        values["special_from_date"] = latest["price_from"]
        values["special_to_date"] = latest.get("price_to")
    else:
        for code in ("special_price", "special_from_date", "special_to_date"):
            values.pop(code, None)


def _special_key(entry: dict) -> tuple:
    return (entry.get("sku"), entry.get("store_id"), entry.get("price_from"), entry.get("price_to"))


@ROUTER.route("POST", "/V1/products/special-price", ACL_PRODUCTS)
def update_special_prices(state: SandboxState, call: Call):
    failures: list[dict] = []
    for entry in required_list(call.body, "prices"):
        if not isinstance(entry, dict) or not _check_price_entry(state, entry, failures):
            continue
        dates_ok = True
        for name, label in (("price_from", "Price From"), ("price_to", "Price To")):
            if entry.get(name) not in (None, "") and not _valid_date(entry[name]):
                failures.append(_price_failure(INVALID_PRICE_ATTRIBUTE, [label, entry[name]]))
                dates_ok = False
        if entry.get("price_from") in (None, ""):
            failures.append(_price_failure(INVALID_PRICE_ATTRIBUTE, ["Price From", ""]))
            dates_ok = False
        if not dates_ok:
            continue
        stored = {
            "sku": entry["sku"],
            "store_id": entry["store_id"],
            "price": entry["price"],
            "price_from": entry["price_from"],
            "price_to": entry.get("price_to") or None,
        }
        state.special_prices = [e for e in state.special_prices if _special_key(e) != _special_key(stored)]
        state.special_prices.append(stored)
        _sync_special_price(state, entry["sku"])
    return failures


@ROUTER.route("POST", "/V1/products/special-price-delete", ACL_PRODUCTS)
def delete_special_prices(state: SandboxState, call: Call):
    failures: list[dict] = []
    for entry in required_list(call.body, "prices"):
        if not isinstance(entry, dict) or not _check_price_entry(state, entry, failures):
            continue
        key = (entry["sku"], entry["store_id"], entry.get("price_from"), entry.get("price_to") or None)
        state.special_prices = [e for e in state.special_prices if _special_key(e) != key]
        _sync_special_price(state, entry["sku"])
    return failures


@ROUTER.route("POST", "/V1/products/special-price-information", ACL_PRODUCTS)
def special_price_information(state: SandboxState, call: Call):
    skus = required_list(call.body, "skus")
    missing = [str(sku) for sku in skus if sku not in state.products]
    if missing:
        raise MagentoHttpError(404, "Requested products don't exist: %sku", {"sku": ", ".join(missing)})
    # Like Magento's output processor, leave out values that are not set (an open-ended `price_to`).
    return [{k: v for k, v in e.items() if v is not None} for e in state.special_prices if e["sku"] in skus]
