"""Catalog products: `/V1/products`. Paths and payload shapes only; the client does the HTTP.

A product save is an upsert by SKU. Traps: leave `media_gallery_entries` out of a save unless
the images are meant to change (`[]` deletes them all); a PUT cannot rename a SKU (magento2 #30143); two
products with the same name collide on the generated URL key (magento2 #8188), so send a unique `url_key`
custom attribute.
"""

from __future__ import annotations

from collections.abc import Iterator

from syncapi.magento import bulk
from syncapi.magento.client import MagentoClient, batches, path
from syncapi.magento.search import SearchCriteria
from syncapi.magento.writes import Batching, BulkWriter, Outcome, Write

PRODUCTS = "/V1/products"
PRODUCT = "/V1/products/{sku}"

STATUS_ENABLED = 1
STATUS_DISABLED = 2
VISIBILITY_NOT_VISIBLE = 1
VISIBILITY_CATALOG_SEARCH = 4
TYPE_SIMPLE = "simple"
TYPE_CONFIGURABLE = "configurable"


def get(client: MagentoClient, sku: str, *, store: str | None = None) -> dict:
    """The product `sku` (raises `MagentoNotFoundError` when there is none)."""
    return client.get(path(PRODUCT, sku=sku), store=store)


def save(client: MagentoClient, product: dict, *, store: str | None = None) -> dict:
    """Create or update `product` (a product-interface dict with its `sku`); the saved product."""
    # A save with the same body is an upsert by SKU, so repeating it after a timeout is harmless.
    return client.post(PRODUCTS, {"product": product}, store=store, idempotent=True)


def update(client: MagentoClient, sku: str, product: dict, *, store: str | None = None) -> dict:
    """Update the existing product `sku` with the fields in `product`; the saved product."""
    return client.put(path(PRODUCT, sku=sku), {"product": product}, store=store)


def search(client: MagentoClient, criteria: SearchCriteria | None = None, *, store: str | None = None) -> dict:
    """One page of products matching `criteria`."""
    return client.search(PRODUCTS, criteria, store=store)


def iterate(client: MagentoClient, criteria: SearchCriteria | None = None, *, store: str | None = None) -> Iterator:
    """Every product matching `criteria`, page by page."""
    return client.paginate(PRODUCTS, criteria, store=store)


def ids_by_sku(client: MagentoClient, skus: list[str], batching: Batching) -> dict[str, str]:
    """The Magento ids of those of `skus` Magento has: one search per `batching.size` SKUs, run through
    `batching.map`."""
    # A comma inside a SKU would split an `in` filter: such SKUs are looked up one by one.
    plain = [sku for sku in skus if "," not in sku]
    pages = [SearchCriteria().where("sku", chunk, "in").page(len(chunk)) for chunk in batches(plain, batching.size)]
    pages += [SearchCriteria().where("sku", sku).page(1) for sku in skus if "," in sku]
    answers = batching.map(lambda criteria: search(client, criteria), pages)
    wanted = set(skus)
    return {
        str(item["sku"]): str(item["id"])
        for answer in answers
        for item in (answer or {}).get("items") or []
        if str(item.get("sku")) in wanted
    }


def bulk_save(client: MagentoClient, products: list[dict], *, store: str | None = None, **wait_options: float):
    """Save `products` through the async bulk API; one `bulk.OperationResult` per product, in order."""
    return bulk.run(client, "POST", PRODUCTS, [{"product": p} for p in products], store=store, **wait_options)


def save_all(writer: BulkWriter, products: list[dict], *, store: str | None = None) -> list[Outcome]:
    """Save each product (an upsert by SKU) through `writer`, at the client's store code or `store` (a store
    view: the values sent become that view's own); one `Outcome` per product, in order (result: the saved
    product)."""
    client = writer.client
    store = store or client.store_code
    where = "" if store == client.store_code else f" in store view {store}"
    return writer.write(
        Write(
            "POST",
            PRODUCTS,
            lambda body: f"save product {body['product']['sku']}{where}",
            lambda body: update(client, body["product"]["sku"], body["product"], store=store),
            store=store,
        ),
        [{"product": product} for product in products],
    )
