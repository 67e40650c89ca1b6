"""Products as the API shows them (`GET /V1/products/{sku}`), and finding one by SKU."""

from __future__ import annotations

from typing import Any

from sandbox.errors import not_found_product
from sandbox.state import Product, SandboxState

#: Product-interface fields kept as attribute values; every other value is a custom attribute.
PRODUCT_FIELDS = ("name", "price", "status", "visibility", "weight")


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


def find_product(state: SandboxState, sku: str) -> Product:
    """The product with SKU `sku`, or Magento's 404."""
    product = state.products.get(sku)
    if product is None:
        raise not_found_product()
    return product
