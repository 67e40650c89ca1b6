"""Configurable products: `/V1/configurable-products/{sku}/...`. Paths and payload shapes only.

The parent is saved with `type_id: configurable`; then one option per attribute (global scope only) and one
child link per variant. Children need distinct option values (magento2 #39534).
"""

from __future__ import annotations

from collections.abc import Iterable

from syncapi.magento.client import MagentoClient, path

OPTIONS = "/V1/configurable-products/{sku}/options"
OPTIONS_ALL = "/V1/configurable-products/{sku}/options/all"
CHILD = "/V1/configurable-products/{sku}/child"
CHILDREN = "/V1/configurable-products/{sku}/children"
CHILD_LINK = "/V1/configurable-products/{sku}/children/{child_sku}"


def options(client: MagentoClient, sku: str, *, store: str | None = None) -> list[dict]:
    """The parent's configurable options (attribute id, label, values)."""
    return client.get(path(OPTIONS_ALL, sku=sku), store=store) or []


def add_option(
    client: MagentoClient,
    sku: str,
    attribute_id: int,
    label: str,
    value_indexes: Iterable[int],
    *,
    position: int = 0,
    store: str | None = None,
) -> int:
    """Make attribute `attribute_id` a configurable option of `sku`; the option id."""
    option = {
        "attribute_id": str(attribute_id),
        "label": label,
        "position": position,
        "is_use_default": True,
        "values": [{"value_index": int(v)} for v in value_indexes],
    }
    return int(client.post(path(OPTIONS, sku=sku), {"option": option}, store=store))


def children(client: MagentoClient, sku: str, *, store: str | None = None) -> list[dict]:
    """The parent's child products."""
    return client.get(path(CHILDREN, sku=sku), store=store) or []


def add_child(client: MagentoClient, sku: str, child_sku: str, *, store: str | None = None) -> bool:
    """Link `child_sku` under the parent `sku`."""
    return bool(client.post(path(CHILD, sku=sku), {"childSku": child_sku}, store=store))


def remove_child(client: MagentoClient, sku: str, child_sku: str, *, store: str | None = None) -> bool:
    """Unlink `child_sku` from the parent `sku` (the child product stays)."""
    return bool(client.delete(path(CHILD_LINK, sku=sku, child_sku=child_sku), store=store))
