"""Store views: `/V1/store/storeViews`."""

from __future__ import annotations

from syncapi.magento.client import MagentoClient

STORE_VIEWS = "/V1/store/storeViews"


def store_views(client: MagentoClient) -> list[dict]:
    """Every store view (`id`, `code`, `name`, `website_id`, ...), the admin one (`id` 0) included."""
    return client.get(STORE_VIEWS) or []
