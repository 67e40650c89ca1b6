"""What the product push reads from `product_translations`: a product's name and descriptions per store view."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Translation:
    """A product's values for the Magento store view `store_code`; None: not translated (the global value shows)."""

    sku: str
    store_code: str
    name: str | None
    description: str | None
    long_description_html: str | None


class TranslationReads(Protocol):
    """The gateway's translation reads (part of `PosGateway`)."""

    def get_translations(self, skus: Iterable[str]) -> list[Translation]:
        """The translations of these SKUs, by SKU and store code."""
        ...

    def translated_skus(self) -> list[str]:
        """Every SKU with at least one translation, by SKU."""
        ...
