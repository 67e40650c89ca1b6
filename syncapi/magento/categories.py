"""Catalog categories: `/V1/categories`. Paths and payload shapes only."""

from __future__ import annotations

from syncapi.magento.client import MagentoClient, path

CATEGORIES = "/V1/categories"
CATEGORY = "/V1/categories/{category_id}"
#: Magento's invisible root; every store's root category (normally "Default Category", id 2) sits under it.
TREE_ROOT_ID = 1


def tree(client: MagentoClient, root_id: int | None = None, depth: int | None = None, *, store: str | None = None):
    """The category tree (`id`, `name`, `children_data`, ...) from `root_id` (default: the store's root)."""
    params = {}
    if root_id is not None:
        params["rootCategoryId"] = str(root_id)
    if depth is not None:
        params["depth"] = str(depth)
    return client.get(CATEGORIES, params=params or None, store=store)


def get(client: MagentoClient, category_id: int, *, store: str | None = None) -> dict:
    """The category `category_id`."""
    return client.get(path(CATEGORY, category_id=category_id), store=store)


def create(client: MagentoClient, category: dict, *, store: str | None = None) -> dict:
    """Create `category` (`parent_id`, `name`, `is_active`, ...); the saved category with its `id`."""
    return client.post(CATEGORIES, {"category": category}, store=store)


def update(client: MagentoClient, category_id: int, category: dict, *, store: str | None = None) -> dict:
    """Update category `category_id` with the fields in `category`; the saved category."""
    return client.put(path(CATEGORY, category_id=category_id), {"category": category}, store=store)
