"""Which POS location a web order is written at (`ORDER_LOCATIONS`): the order's `store_id` names a store view,
whose store code, else whose website's code, is looked up in the setting; an order from a store with neither
mapped goes to `POS_LOCATION_CODE`, with a log line. Store views and websites come from `syncapi.magento.stores`,
read once per process (docs/sync.md#several-websites)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from syncapi.magento.stores import StoreDirectory

log = logging.getLogger(__name__)


class OrderLocations:
    """`ORDER_LOCATIONS` applied to orders."""

    def __init__(self, mapping: tuple[tuple[str, str], ...], directory: StoreDirectory, default: str):
        self.mapping = dict(mapping)
        self.directory = directory
        self.default = default

    def location_of(self, order: Mapping[str, Any]) -> str:
        """The POS location of `order`: its store view's code, else its website's code, else the default."""
        raw = order.get("store_id")
        store_id = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        if store_id is None and isinstance(raw, str) and raw.strip().isdigit():
            store_id = int(raw)
        codes = self.directory.codes(store_id) if store_id is not None else None
        store_code, website_code = codes or (None, None)
        for code in (store_code, website_code):
            if code is not None and code in self.mapping:
                return self.mapping[code]
        log.warning(
            "order from a store with no ORDER_LOCATIONS entry",
            extra={
                "magento_id": order.get("entity_id"),
                "store_id": raw,
                "store_code": store_code,
                "website_code": website_code,
                "location": self.default,
            },
        )
        return self.default
