"""Cancelling a web order's sale: voided and kept, or partly taken back line by line, with the stock it had
lowered put back at the sale's own location, once however often and in whatever order the cancellations come.

The sale's row is locked first (`SELECT ... FOR UPDATE`; on SQLite the write transaction holds the database), so
concurrent cancellations of one order queue up; each reads what the one before it took back (`canceled_qty`,
`status`) and puts back only the rest. Quantities only ever grow: a stale order body that shows less canceled
than the POS already took back changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from syncapi.pos import models as m
from syncapi.pos import validation
from syncapi.pos.cancellation import SaleCancellation
from syncapi.pos.gateway import SALE_VOIDED
from syncapi.pos.models import utcnow
from syncapi.pos.sql.common import SqlGatewayBase


class SaleCancels(SqlGatewayBase):
    """The gateway's sale cancellations."""

    def cancel_sale(self, magento_order_id: int, sold: Mapping[str, Decimal] | None) -> SaleCancellation | None:
        """Void the sale (`sold=None`) or bring each SKU down to `sold`, putting the stock back; None: no sale."""
        magento_order_id = validation.valid_magento_id(magento_order_id, "magento_order_id")
        action = f"cancel sale for Magento order {magento_order_id}"

        def work(session: Session) -> SaleCancellation | None:
            sale = session.scalars(
                select(m.Sale).where(m.Sale.magento_order_id == magento_order_id).with_for_update()
            ).first()
            if sale is None:
                return None
            if sale.status == SALE_VOIDED:
                return SaleCancellation(sale.id, sale.location_code, voided=False, already_voided=True)
            lines = session.scalars(
                select(m.SaleLine).where(m.SaleLine.sale_id == sale.id).order_by(m.SaleLine.line_no)
            ).all()
            returned = _take_back(lines, sold)
            for sku in sorted(returned):  # SKU order, as sales lower them, so concurrent writers lock alike
                raise_stock(session, sku, returned[sku], sale.location_code)
            if sold is None:
                sale.status = SALE_VOIDED
                sale.voided_at = utcnow()
            return SaleCancellation(
                sale.id, sale.location_code, voided=sold is None, already_voided=False, returned=returned
            )

        return self._write(action, work)


def raise_stock(session: Session, sku: str, qty: Decimal, location_code: str) -> None:
    """Put `qty` of `sku` back on hand at `location_code` (a stock row created there when it has none)."""
    stock = m.Stock.__table__
    raised = session.execute(
        update(stock)
        .where(stock.c.sku == sku, stock.c.location_code == location_code)
        .values(on_hand=stock.c.on_hand + qty, updated_at=utcnow())
    )
    if raised.rowcount == 0:
        session.add(m.Stock(sku=sku, location_code=location_code, on_hand=qty))
        session.flush()


def _take_back(lines: list[m.SaleLine], sold: Mapping[str, Decimal] | None) -> dict[str, Decimal]:
    """Raise each line's `canceled_qty` so that what stays sold of each SKU is `sold[sku]` (0 for all when the
    order is canceled); the stock to put back by SKU, for the lines that lowered it."""
    returned: dict[str, Decimal] = {}
    kept: dict[str, Decimal] = {}
    for line in lines:
        kept[line.sku] = kept.get(line.sku, Decimal(0)) + Decimal(line.qty) - Decimal(line.canceled_qty)
    for sku, now_kept in kept.items():
        wanted = Decimal(0) if sold is None else max(Decimal(sold.get(sku, 0)), Decimal(0))
        excess = now_kept - wanted
        for line in (line for line in lines if line.sku == sku):
            if excess <= 0:
                break
            take = min(excess, Decimal(line.qty) - Decimal(line.canceled_qty))
            if take <= 0:
                continue
            line.canceled_qty = Decimal(line.canceled_qty) + take
            excess -= take
            if line.lowers_stock:
                returned[sku] = returned.get(sku, Decimal(0)) + take
    return returned
