"""Store views and websites: `/V1/store/storeViews`, `/V1/store/websites`."""

from __future__ import annotations

import threading

from syncapi.magento.client import MagentoClient

STORE_VIEWS = "/V1/store/storeViews"
WEBSITES = "/V1/store/websites"


def store_views(client: MagentoClient) -> list[dict]:
    """Every store view (`id`, `code`, `name`, `website_id`, ...), the admin one (`id` 0) included."""
    return client.get(STORE_VIEWS) or []


def websites(client: MagentoClient) -> list[dict]:
    """Every website (`id`, `code`, `name`, `default_group_id`), the admin one (`id` 0) included."""
    return client.get(WEBSITES) or []


class StoreDirectory:
    """The store code and website code of each store view, read from Magento once per process, and again when an
    order names a store view not seen yet (one added since)."""

    def __init__(self, client: MagentoClient):
        self.client = client
        self._lock = threading.Lock()
        self._views: dict[int, tuple[str, str | None]] | None = None

    def codes(self, store_id: int) -> tuple[str, str | None] | None:
        """`(store code, website code)` of store view `store_id`; None when Magento has no such store view."""
        with self._lock:
            if self._views is None or store_id not in self._views:
                self._views = self._read()
            return self._views.get(store_id)

    def _read(self) -> dict[int, tuple[str, str | None]]:
        sites = {int(site["id"]): str(site["code"]) for site in websites(self.client) if "id" in site}
        return {
            int(view["id"]): (str(view.get("code") or ""), sites.get(int(view.get("website_id") or 0)))
            for view in store_views(self.client)
            if "id" in view
        }
