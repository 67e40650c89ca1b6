"""Invoices and their payments: an invoice is written with a payment of its total once paid, follows Magento's
later state (paid records the payment, canceled voids it, never back), and is linked to its order's sale."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from syncapi.pos import models as m
from syncapi.pos import validation
from syncapi.pos.gateway import INVOICE_CANCELED, INVOICE_OPEN, INVOICE_PAID, Invoice, InvoiceIn, WriteResult
from syncapi.pos.models import utcnow
from syncapi.pos.sql import rows as r
from syncapi.pos.sql.common import SqlGatewayBase
from syncapi.pos.sql.credit_notes import link_credit_notes
from syncapi.pos.sql.customers import ensure_customer_row
from syncapi.pos.sql.documents import INVOICE_PAYMENTS, document_with_sum, moved


class InvoiceWrites(SqlGatewayBase):
    """The gateway's invoice read and write."""

    def find_invoice(self, magento_invoice_id: int) -> Invoice | None:
        """The invoice written for this Magento invoice, with the sum paid against it."""
        magento_invoice_id = validation.valid_magento_id(magento_invoice_id, "find invoice")
        row = document_with_sum(self.engine, INVOICE_PAYMENTS, magento_invoice_id, "find invoice")
        if row is None:
            return None
        return Invoice(
            id=row.id,
            magento_invoice_id=row.magento_invoice_id,
            magento_order_id=row.magento_order_id,
            sale_id=row.sale_id,
            customer_id=row.customer_id,
            grand_total=row.grand_total,
            paid=r.money(row.total),
            created_at=row.created_at,
            status=row.status,
            currency=row.currency,
            order_currency=row.order_currency,
            order_grand_total=row.order_grand_total,
        )

    def write_invoice(self, invoice: InvoiceIn) -> WriteResult:
        """Write the invoice and a payment of its total; linked to the order's sale when that is written."""
        invoice = validation.valid_invoice(invoice)
        action = f"write invoice for Magento invoice {invoice.magento_invoice_id}"

        def work(session: Session) -> tuple[WriteResult, bool]:
            existing = session.execute(
                select(m.Invoice.id, m.Invoice.sale_id, m.Invoice.customer_id, m.Invoice.status).where(
                    m.Invoice.magento_invoice_id == invoice.magento_invoice_id
                )
            ).first()
            if existing is not None:
                move_invoice_on(session, existing, invoice)
                return WriteResult(existing.id, False), existing.sale_id is None
            sale = session.execute(
                select(m.Sale.id, m.Sale.customer_id).where(m.Sale.magento_order_id == invoice.magento_order_id)
            ).first()
            if sale is not None:
                customer_id = sale.customer_id
            else:
                customer_id = ensure_customer_row(session, invoice.customer, link_strictly=False).pos_id
            row = m.Invoice(
                magento_invoice_id=invoice.magento_invoice_id,
                magento_order_id=invoice.magento_order_id,
                sale_id=sale.id if sale is not None else None,
                customer_id=customer_id,
                grand_total=invoice.grand_total,
                currency=invoice.currency,
                order_currency=invoice.order_currency,
                order_grand_total=invoice.order_grand_total,
                status=invoice.status,
                created_at=invoice.created_at or utcnow(),
            )
            session.add(row)
            session.flush()
            if invoice.status == INVOICE_PAID:  # an open invoice is not paid yet, a canceled one never will be
                session.add(payment(row.id, customer_id, invoice))
            link_credit_notes(session, invoice.magento_invoice_id, row.id)
            return WriteResult(row.id, True), sale is None

        result, unlinked = self._write(action, work)
        if unlinked:  # `SaleWrites.link_invoices_to_sale`, a part of the same gateway
            self.link_invoices_to_sale(invoice.magento_order_id)
        if result.created:
            self._write(action, lambda session: link_credit_notes(session, invoice.magento_invoice_id, result.pos_id))
        return result


def payment(invoice_id: int, customer_id: int, invoice: InvoiceIn) -> m.Payment:
    return m.Payment(
        invoice_id=invoice_id, customer_id=customer_id, amount=invoice.grand_total, method=invoice.payment_method
    )


def move_invoice_on(session: Session, existing: Any, invoice: InvoiceIn) -> None:
    """Follow the invoice's later state: paid records the payment, canceled voids it. Never back.

    The status moves by a conditional update from the status last read; only the writer whose update changed
    the row records the payment, so two writers moving the same invoice at once pay it once.
    """
    status = moved(session, m.Invoice.__table__, existing.id, existing.status, invoice.status, invoice_may_move)
    if status is None:
        return
    if invoice.status == INVOICE_PAID:
        session.add(payment(existing.id, existing.customer_id, invoice))
    else:  # canceled: what was paid against it no longer counts
        payments = m.Payment.__table__
        session.execute(
            update(payments)
            .where(payments.c.invoice_id == existing.id, payments.c.voided_at.is_(None))
            .values(voided_at=utcnow())
        )


def invoice_may_move(current: str, wanted: str) -> bool:
    return current != wanted and current != INVOICE_CANCELED and wanted != INVOICE_OPEN
