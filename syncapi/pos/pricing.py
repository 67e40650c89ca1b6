"""What the price push reads from the POS besides a product's own prices: the sales that have ended, and the
quantity and customer-group prices of `price_levels` (Magento's tier prices)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class PriceLevel:
    """A price for buyers of `customer_group` (a Magento group code, or `ALL GROUPS`) from `min_qty` units on."""

    sku: str
    customer_group: str
    min_qty: Decimal
    price: Decimal


class PricingReads(Protocol):
    """The gateway's pricing reads (part of `PosGateway`)."""

    def ended_sales(self, today: date) -> list[str]:
        """SKUs whose sale price's last day is before `today`, by SKU."""
        ...

    def get_price_levels(self, skus: Iterable[str]) -> list[PriceLevel]:
        """The price levels of these SKUs, by SKU, group and quantity."""
        ...

    def price_level_skus(self) -> list[str]:
        """Every SKU with at least one price level, by SKU."""
        ...
