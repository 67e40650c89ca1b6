"""What the shop shipped of a web order: the records the fulfilment push reads, and the gateway part that reads
them and records the Magento shipment each became (docs/sync.md, "Shipments")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from syncapi.pos.gateway import DEFAULT_BATCH_SIZE, Batch, Cursor

#: How much of a web sale the shop's fulfilments shipped through Magento (the order's link status).
SHIPPED = "shipped"
PARTLY_SHIPPED = "partly_shipped"


@dataclass(frozen=True)
class FulfilmentLine:
    """A quantity of one SKU shipped."""

    sku: str
    qty: Decimal


@dataclass(frozen=True)
class Fulfilment:
    """One parcel of a web order's sale: its lines, carrier and tracking number, and the Magento shipment it
    became (None until the push records it)."""

    id: int
    sale_id: int
    #: The Magento order the sale was written for (None for a sale that did not come from Magento).
    magento_order_id: int | None
    #: The POS location the sale took its stock from: which Magento source the shipment deducts from.
    location_code: str
    carrier: str | None
    tracking_number: str | None
    magento_shipment_id: int | None
    lines: tuple[FulfilmentLine, ...]
    updated_at: datetime


@runtime_checkable
class FulfilmentGateway(Protocol):
    """The POS's fulfilments: read by change or id, and linked to their Magento shipments."""

    def changed_fulfilments(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[Fulfilment]:
        """Fulfilments changed after `after`, lines included."""
        ...

    def count_fulfilments(self) -> int:
        """How many fulfilments the POS holds."""
        ...

    def get_fulfilments(self, ids: Iterable[int]) -> list[Fulfilment]:
        """The fulfilments with these ids, lines included."""
        ...

    def web_sale_lines(self, skus: Iterable[str]) -> list[tuple[int, str, Decimal]]:
        """`(magento_order_id, sku, qty)` of the web sales at the location selling `skus` (voided ones left out)."""
        ...

    def shipping_status(self, sale_id: int) -> str | None:
        """`shipped` or `partly_shipped` by the sale's fulfilments that became shipments; None when none did."""
        ...

    def set_fulfilment_shipment(self, fulfilment_id: int, magento_shipment_id: int) -> None:
        """Record the Magento shipment a fulfilment became (once: a different id already recorded conflicts)."""
        ...
