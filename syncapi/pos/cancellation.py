"""What cancelling a web order did to its POS sale (docs/sync.md, "Cancelled orders"), and what a credit memo
puts back in stock (docs/sync.md, "Returns to stock")."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class SaleCancellation:
    """The outcome of `PosGateway.cancel_sale`: the sale, whether this call voided it, and the stock it put back
    at `location_code` by SKU (empty when an earlier delivery had already taken it all back)."""

    sale_id: int
    location_code: str
    voided: bool
    already_voided: bool
    returned: dict[str, Decimal] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """True when this call voided the sale or put any stock back."""
        return self.voided or bool(self.returned)


@dataclass(frozen=True)
class CreditNoteLineIn:
    """A credit memo's item as a credit note line: the SKU and quantity refunded, and how much of it goes back into
    stock at `location_code` (0 and None when nothing goes back: `MAGENTO_AUTO_RETURN` off, or a virtual item)."""

    sku: str
    qty: Decimal
    returned_qty: Decimal = Decimal(0)
    location_code: str | None = None
