"""Products: create, update (`POST`/`PUT /V1/products`), read and search; a save checks attribute sets, option
values, URL keys, categories, configurable options and links, and stores images last."""

from __future__ import annotations

from typing import Any

from sandbox import search, seed
from sandbox.catalog.configurable import check_distinct_children, configurable_option
from sandbox.catalog.media import replace_gallery
from sandbox.catalog.render import PRODUCT_FIELDS, find_product, render_product
from sandbox.catalog.values import EMPTY_ATTRIBUTE, URL_KEY_EXISTS, slug, write_scoped
from sandbox.errors import MagentoHttpError, no_such_entity, not_found_product
from sandbox.routing import ACL_PRODUCTS, ROUTER, Call, required_object
from sandbox.state import Product, SandboxState

PRODUCT_TYPES = ("simple", "virtual", "configurable")
#: Types the efficient price APIs accept (a configurable's price comes from its children).
PRICED_TYPES = ("simple", "virtual")


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


def _url_keys(state: SandboxState, product: Product | None) -> dict[str, str | None]:
    """The product's URL key as each store view (and the global scope) sees it."""
    if product is None:
        return {}
    stores = ["all", *(view["code"] for view in state.store_views if view["id"] != 0)]
    return {store: product.effective(store).get("url_key") for store in stores}


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
        from_name = state.config.url_key_from_store_name
        if from_name and call.store != "all" and incoming.get("name") and not incoming.get("url_key"):
            # A new name saved at a store view without a URL key: Magento makes the view's key from the name
            # alone, which collides with another product's key in that view (magento2 #40055).
            incoming["url_key"] = slug(incoming["name"])
    write_scoped(state, product.values, incoming, call.store, creating)
    _check_url_key(state, sku, _url_keys(state, product))
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
            product.configurable_options = [configurable_option(state, product, option) for option in options]
        if "configurable_product_links" in extension:
            children = []
            for child_id in extension["configurable_product_links"] or []:
                child = state.product_by_id(int(child_id))
                if child is None:
                    raise not_found_product()
                children.append(child.sku)
            check_distinct_children(state, product, children)
            product.children = children
    if "media_gallery_entries" in payload:
        # `[]` deletes every image; leaving the key out keeps them. Last, as it is the one step that stores files.
        product.media = replace_gallery(state, product, payload.get("media_gallery_entries") or [])
    if creating:
        state.next_id("product")
    product.updated_at = seed.now()
    _index_url_keys(state, sku, _url_keys(state, existing), _url_keys(state, product))
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
    return render_product(state, find_product(state, call.params["sku"]), call.store)


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
