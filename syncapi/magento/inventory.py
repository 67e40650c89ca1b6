"""MSI source items: `/V1/inventory/source-items`. Paths and payload shapes only.

Magento answers 200 for source items of SKUs it does not have and stores nothing (magento2 #38154): make sure
the products exist, or read back with `source_items`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from syncapi.magento.client import MagentoClient
from syncapi.magento.search import SearchCriteria
from syncapi.magento.writes import Batching, send_entries

SOURCE_ITEMS = "/V1/inventory/source-items"
STATUS_OUT_OF_STOCK = 0
STATUS_IN_STOCK = 1


def source_item(sku: str, source_code: str, quantity: float) -> dict:
    """A source item for `sku` at `source_code`, in stock when `quantity` is above zero."""
    return {
        "sku": sku,
        "source_code": source_code,
        "quantity": quantity,
        "status": STATUS_IN_STOCK if quantity > 0 else STATUS_OUT_OF_STOCK,
    }


def save(client: MagentoClient, items: Iterable[dict], *, batch_size: int | None = None) -> None:
    """Write source items (see `source_item`) in batches."""
    client.send_in_batches(SOURCE_ITEMS, "sourceItems", items, batch_size=batch_size)


def write_source_items(client: MagentoClient, entries: list[dict], batching: Batching) -> dict[str, str]:
    """Write source items (see `source_item`) batch by batch; the SKUs that failed, with why."""
    return send_entries(client, SOURCE_ITEMS, "sourceItems", entries, "write stock", batching)


def source_items(client: MagentoClient, skus: Iterable[str], source_code: str | None = None) -> Iterator[dict]:
    """The stored source items of `skus` (at `source_code` when given)."""
    criteria = SearchCriteria().where("sku", list(skus), "in")
    if source_code is not None:
        criteria.where("source_code", source_code)
    return client.paginate(SOURCE_ITEMS, criteria)


SOURCES = "/V1/inventory/sources"


def source_codes(client: MagentoClient) -> set[str]:
    """The codes of every MSI source the store has."""
    return {str(source.get("source_code")) for source in client.paginate(SOURCES, SearchCriteria())}


def source_items_at(client: MagentoClient, skus: Iterable[str], source_codes: Iterable[str]) -> Iterator[dict]:
    """The stored source items of `skus` at any of `source_codes` (one search, paginated)."""
    criteria = SearchCriteria().where("sku", list(skus), "in").where("source_code", list(source_codes), "in")
    return client.paginate(SOURCE_ITEMS, criteria)
