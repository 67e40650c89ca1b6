"""`SqlPosGateway`: the POS gateway over the reference tables, on SQLite, PostgreSQL and other SQL servers.

Each module holds one part of what the gateway decides (the guarantees are `syncapi.pos.gateway.PosGateway`'s):

- `changes`: changed-since reads for the push (products, images, stock, prices, categories, customers), the
  cursor and checkpoint of each batch, and row counts.
- `lookups`: reads by key (products, styles, images, stock, prices, categories) and the sale of an order.
- `pricing`: sales that have ended, and price levels (tier prices) by SKU; `translations`: product
  translations by SKU.
- `sales`: writing a sale, the stock it lowers, and linking the order's invoices to it.
- `invoices`: invoices and their payments; `credit_notes`: credit notes and their refunds; `documents`: what
  the two share (the sum paid or refunded, the status that only moves forward).
- `customers`: customers and categories found, linked to their Magento ids, or created.
- `fulfilments`: what the shop shipped of web orders, and the Magento shipment each became.
- `times`: timestamps compared as moments on every backend, and cursor checks; `rows`: rows to the gateway's
  dataclasses; `common`: database errors, keys in chunks, and the write transaction that looks again when a
  concurrent writer's row clashes.
"""

from __future__ import annotations

from sqlalchemy import Engine

from syncapi.pos.errors import PosValidationError
from syncapi.pos.gateway import COMMIT_SETTLE_S
from syncapi.pos.sql.cancellations import SaleCancels
from syncapi.pos.sql.changes import ChangeReads
from syncapi.pos.sql.credit_notes import CreditNoteWrites
from syncapi.pos.sql.customers import CustomerWrites
from syncapi.pos.sql.fulfilments import FulfilmentReads
from syncapi.pos.sql.invoices import InvoiceWrites
from syncapi.pos.sql.lookups import KeyReads
from syncapi.pos.sql.pricing import PricingReads
from syncapi.pos.sql.sales import SaleWrites
from syncapi.pos.sql.translations import TranslationReads

__all__ = ["SqlPosGateway"]


class SqlPosGateway(
    FulfilmentReads,
    ChangeReads,
    KeyReads,
    PricingReads,
    TranslationReads,
    SaleWrites,
    SaleCancels,
    InvoiceWrites,
    CreditNoteWrites,
    CustomerWrites,
):
    """The POS gateway over the reference tables (see `syncapi.pos.gateway.PosGateway` for the guarantees)."""

    def __init__(self, engine: Engine, location_code: str, *, settle_s: float = COMMIT_SETTLE_S):
        if not location_code or not location_code.strip():
            raise PosValidationError("a POS location code is required (POS_LOCATION_CODE)")
        self.engine = engine
        self.location_code = location_code.strip()
        self.settle_s = settle_s

    def __repr__(self) -> str:
        return f"SqlPosGateway({self.engine.url.render_as_string(hide_password=True)!r}, {self.location_code!r})"
