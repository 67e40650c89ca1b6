"""The sandbox's catalog endpoints, like Magento_Catalog and Magento_ConfigurableProduct: products, images,
configurable products, attributes and attribute sets, categories, base and special prices.

They answer like Magento 2.4, traps included: an image POST adds an entry every time and a re-posted file name
gets `_1`; `media_gallery_entries: []` in a save deletes every image, leaving it out keeps them; a duplicate URL
key is refused; a write through a store view (`/rest/default/V1/...`, `/rest/V1/...`) stores store-view overrides
next to the global values; a PUT cannot rename a SKU; configurable children need distinct option values.
"""

from __future__ import annotations

# Imported in this order on purpose: of two routes that can match one path, the router tries the one registered
# first (`GET /V1/products/{sku}/media` before `GET /V1/products/attributes/{attributeCode}`).
# isort: off
from sandbox.catalog import media, configurable, products, attributes, categories, prices, tier_prices
# isort: on

__all__ = ["attributes", "categories", "configurable", "media", "prices", "products", "tier_prices"]
