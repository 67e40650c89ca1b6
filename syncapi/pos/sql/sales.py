"""Writing a sale: the order's lines and tenders, its customer, the stock it lowers, and the invoices that arrived
before it linked to it."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from syncapi.pos import models as m
from syncapi.pos import validation
from syncapi.pos.errors import PosValidationError
from syncapi.pos.gateway import SERVICE_SKUS, SaleIn, WriteResult
from syncapi.pos.models import utcnow
from syncapi.pos.sql.common import SqlGatewayBase
from syncapi.pos.sql.customers import ensure_customer_row


class SaleWrites(SqlGatewayBase):
    """The gateway's sale writes."""

    def write_sale(self, sale: SaleIn) -> WriteResult:
        """Write the order as a sale (customer found or created) and lower stock, in one transaction."""
        sale = validation.valid_sale(sale)
        action = f"write sale for Magento order {sale.magento_order_id}"
        location = sale.location_code or self.location_code

        def work(session: Session) -> WriteResult:
            existing = session.scalar(select(m.Sale.id).where(m.Sale.magento_order_id == sale.magento_order_id))
            if existing is not None:
                link_order_invoices(session, sale.magento_order_id, existing)
                return WriteResult(existing, False)
            quantities: dict[str, Decimal] = {}
            for line in sale.lines:
                if line.stock:  # virtual and downloadable items lower no stock
                    quantities[line.sku] = quantities.get(line.sku, Decimal(0)) + Decimal(line.qty)
            skus = sorted({line.sku for line in sale.lines})
            known = set(session.scalars(select(m.Product.sku).where(m.Product.sku.in_(skus))))
            # A service line (gift wrapping) needs no POS product beforehand; a SKU that lowers stock always does.
            services = {line.sku for line in sale.lines if line.sku in SERVICE_SKUS and not line.stock}
            stocked_services = {line.sku for line in sale.lines if line.sku in SERVICE_SKUS and line.stock}
            unknown = [sku for sku in skus if sku not in known and (sku not in services or sku in stocked_services)]
            if unknown:
                raise PosValidationError(
                    f"sale for Magento order {sale.magento_order_id}: unknown SKU "
                    f"{', '.join(repr(sku) for sku in unknown)}"
                )
            validation.check_reconciles(sale)  # a sale that does not add up is never written
            for sku in sorted(services - known):
                add_service_product(session, sku)
            customer_id = ensure_customer_row(session, sale.customer, link_strictly=False).pos_id
            row = m.Sale(
                magento_order_id=sale.magento_order_id,
                magento_increment_id=sale.magento_increment_id,
                customer_id=customer_id,
                location_code=location,
                tender_type=sale.tender_type,
                subtotal=sale.subtotal,
                discount=sale.discount,
                shipping=sale.shipping,
                tax=sale.tax,
                grand_total=sale.grand_total,
                currency=sale.currency,
                order_currency=sale.order_currency,
                order_grand_total=sale.order_grand_total,
                base_to_order_rate=sale.base_to_order_rate,
                note=sale.note,
                created_at=sale.created_at or utcnow(),
            )
            session.add(row)
            session.flush()  # a concurrent writer of the same order makes this fail on uq_sales_magento_order_id
            session.add_all(
                m.SaleLine(
                    sale_id=row.id,
                    line_no=number,
                    sku=line.sku,
                    qty=line.qty,
                    unit_price=line.unit_price,
                    discount=line.discount,
                    tax=line.tax,
                    tax_percent=line.tax_percent,
                    line_total=line.line_total,
                    lowers_stock=line.stock,
                )
                for number, line in enumerate(sale.lines, start=1)
            )
            session.add_all(
                m.SaleTender(sale_id=row.id, tender_type=tender.tender_type, amount=tender.amount)
                for tender in sale.tenders
            )
            for sku in sorted(quantities):  # always in SKU order, so concurrent sales lock stock rows in order
                self._lower_stock(session, sku, quantities[sku], location)
            link_order_invoices(session, sale.magento_order_id, row.id)
            return WriteResult(row.id, True)

        result = self._write(action, work)
        if result.created:
            # An invoice committed while this sale was being written was not visible to it: link it now.
            self.link_invoices_to_sale(sale.magento_order_id)
        return result

    def _lower_stock(self, session: Session, sku: str, qty: Decimal, location: str) -> None:
        stock = m.Stock.__table__
        lowered = session.execute(
            update(stock)
            .where(stock.c.sku == sku, stock.c.location_code == location)
            .values(on_hand=stock.c.on_hand - qty, updated_at=utcnow())
        )
        if lowered.rowcount == 0:
            # Nothing counted in at this location yet: selling makes it negative, as at a till.
            session.add(m.Stock(sku=sku, location_code=location, on_hand=-qty))
            session.flush()

    def link_invoices_to_sale(self, magento_order_id: int) -> int:
        """Link the order's invoices written before its sale to the sale; the number linked."""
        magento_order_id = validation.valid_magento_id(magento_order_id, "magento_order_id")

        def work(session: Session) -> int:
            sale_id = session.scalar(select(m.Sale.id).where(m.Sale.magento_order_id == magento_order_id))
            return 0 if sale_id is None else link_order_invoices(session, magento_order_id, sale_id)

        return self._write(f"link invoices of Magento order {magento_order_id}", work)


def add_service_product(session: Session, sku: str) -> None:
    """The POS product of a service line (`SERVICE_SKUS`), created on the first sale that carries it: priced 0, not
    internet-active, with no stock row, so it is sold without being stocked or pushed to Magento. A writer that
    creates it at the same moment makes this sale's transaction fail on the unique SKU, and it is tried again."""
    session.add(m.Product(sku=sku, name=SERVICE_SKUS[sku], retail_price=Decimal(0), internet_active=False))
    session.flush()


def link_order_invoices(session: Session, magento_order_id: int, sale_id: int) -> int:
    invoices = m.Invoice.__table__
    linked = session.execute(
        update(invoices)
        .where(invoices.c.magento_order_id == magento_order_id, invoices.c.sale_id.is_(None))
        .values(sale_id=sale_id)
    )
    return linked.rowcount or 0
