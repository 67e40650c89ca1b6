"""Credit notes and their refunds: a credit note is written with a refund of its total once refunded, follows an
open credit memo to refunded or canceled, and is linked to its invoice when that is written."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from syncapi.pos import models as m
from syncapi.pos import validation
from syncapi.pos.cancellation import CreditNoteLineIn
from syncapi.pos.gateway import CREDIT_NOTE_OPEN, CREDIT_NOTE_REFUNDED, CreditNote, CreditNoteIn, WriteResult
from syncapi.pos.models import utcnow
from syncapi.pos.sql import rows as r
from syncapi.pos.sql.cancellations import raise_stock
from syncapi.pos.sql.common import SqlGatewayBase
from syncapi.pos.sql.customers import ensure_customer_row
from syncapi.pos.sql.documents import CREDIT_NOTE_REFUNDS, document_with_sum, moved


class CreditNoteWrites(SqlGatewayBase):
    """The gateway's credit note read and write."""

    def find_credit_note(self, magento_creditmemo_id: int) -> CreditNote | None:
        """The credit note written for this Magento credit memo, with the sum refunded against it."""
        magento_creditmemo_id = validation.valid_magento_id(magento_creditmemo_id, "find credit note")
        row = document_with_sum(self.engine, CREDIT_NOTE_REFUNDS, magento_creditmemo_id, "find credit note")
        if row is None:
            return None
        return CreditNote(
            id=row.id,
            magento_creditmemo_id=row.magento_creditmemo_id,
            magento_order_id=row.magento_order_id,
            magento_invoice_id=row.magento_invoice_id,
            invoice_id=row.invoice_id,
            customer_id=row.customer_id,
            grand_total=row.grand_total,
            refunded=r.money(row.total),
            created_at=row.created_at,
            status=row.status,
            currency=row.currency,
            online=bool(row.online),
        )

    def write_credit_note(self, credit_note: CreditNoteIn) -> WriteResult:
        """Write the credit note and a refund of its total; linked to its invoice when that is written."""
        note = validation.valid_credit_note(credit_note)
        action = f"write credit note for Magento credit memo {note.magento_creditmemo_id}"

        def work(session: Session) -> WriteResult:
            existing = session.execute(
                select(m.CreditNote.id, m.CreditNote.customer_id, m.CreditNote.status).where(
                    m.CreditNote.magento_creditmemo_id == note.magento_creditmemo_id
                )
            ).first()
            if existing is not None:
                move_credit_note_on(session, existing, note)
                if note.magento_invoice_id is not None:
                    link_credit_notes_to_invoice(session, note.magento_invoice_id)
                return WriteResult(existing.id, False)
            invoice_query = select(m.Invoice.id, m.Invoice.customer_id)
            if note.magento_invoice_id is not None:
                invoice_query = invoice_query.where(m.Invoice.magento_invoice_id == note.magento_invoice_id)
            else:
                invoice_query = invoice_query.where(m.Invoice.magento_order_id == note.magento_order_id).order_by(
                    m.Invoice.id
                )
            invoice = session.execute(invoice_query.limit(1)).first()
            if invoice is not None:
                customer_id = invoice.customer_id
            else:
                sale_customer = session.scalar(
                    select(m.Sale.customer_id).where(m.Sale.magento_order_id == note.magento_order_id)
                )
                customer_id = sale_customer or ensure_customer_row(session, note.customer, link_strictly=False).pos_id
            row = m.CreditNote(
                magento_creditmemo_id=note.magento_creditmemo_id,
                magento_order_id=note.magento_order_id,
                magento_invoice_id=note.magento_invoice_id,
                invoice_id=invoice.id if invoice is not None else None,
                customer_id=customer_id,
                grand_total=note.grand_total,
                currency=note.currency,
                status=note.status,
                created_at=note.created_at or utcnow(),
            )
            session.add(row)
            session.flush()
            if note.status == CREDIT_NOTE_REFUNDED:  # an open credit memo refunds nothing yet, a canceled one never
                session.add(refund(row.id, customer_id, note))
            add_lines(session, row.id, note.lines, returning=note.status == CREDIT_NOTE_REFUNDED)
            return WriteResult(row.id, True)

        result = self._write(action, work)
        if result.created and note.magento_invoice_id is not None:
            # An invoice committed while this note was being written was not visible to it: link it now.
            self._write(action, lambda session: link_credit_notes_to_invoice(session, note.magento_invoice_id))
        return result


def refund(credit_note_id: int, customer_id: int, note: CreditNoteIn) -> m.Refund:
    return m.Refund(
        credit_note_id=credit_note_id,
        customer_id=customer_id,
        amount=note.grand_total,
        method=note.refund_method,
        online=note.refund_online,
    )


def credit_note_may_move(current: str, wanted: str) -> bool:
    return current == CREDIT_NOTE_OPEN and wanted != CREDIT_NOTE_OPEN


def move_credit_note_on(session: Session, existing: Any, note: CreditNoteIn) -> None:
    """Follow an open credit memo to refunded (records the refund) or canceled (records none); only the writer
    whose conditional update moved it records the refund."""
    status = moved(session, m.CreditNote.__table__, existing.id, existing.status, note.status, credit_note_may_move)
    if status is not None and note.status == CREDIT_NOTE_REFUNDED:
        session.add(refund(existing.id, existing.customer_id, note))
        # The lines written while it was open returned nothing; now refunded, they return what they carry.
        session.execute(delete(m.CreditNoteLine).where(m.CreditNoteLine.credit_note_id == existing.id))
        add_lines(session, existing.id, note.lines, returning=True)


def add_lines(session: Session, credit_note_id: int, lines: tuple[CreditNoteLineIn, ...], *, returning: bool) -> None:
    """Write the credit note's lines; when `returning`, what each returns goes back on hand at its location (not
    for a SKU the POS does not have: that line records 0 returned)."""
    skus = sorted({line.sku for line in lines if line.returned_qty})
    known = set(session.scalars(select(m.Product.sku).where(m.Product.sku.in_(skus)))) if returning and skus else set()
    returned: dict[tuple[str, str], Decimal] = {}
    for line in lines:
        back = returning and line.sku in known and line.returned_qty > 0 and line.location_code is not None
        session.add(
            m.CreditNoteLine(
                credit_note_id=credit_note_id,
                sku=line.sku,
                qty=line.qty,
                returned_qty=line.returned_qty if back else Decimal(0),
                location_code=line.location_code if back else None,
            )
        )
        if back:
            key = (line.sku, line.location_code)
            returned[key] = returned.get(key, Decimal(0)) + Decimal(line.returned_qty)
    for (sku, location_code), qty in sorted(returned.items()):  # in key order, so concurrent writers lock alike
        raise_stock(session, sku, qty, location_code)


def link_credit_notes(session: Session, magento_invoice_id: int, invoice_id: int) -> int:
    notes = m.CreditNote.__table__
    linked = session.execute(
        update(notes)
        .where(notes.c.magento_invoice_id == magento_invoice_id, notes.c.invoice_id.is_(None))
        .values(invoice_id=invoice_id)
    )
    return linked.rowcount or 0


def link_credit_notes_to_invoice(session: Session, magento_invoice_id: int) -> int:
    invoice_id = session.scalar(select(m.Invoice.id).where(m.Invoice.magento_invoice_id == magento_invoice_id))
    return 0 if invoice_id is None else link_credit_notes(session, magento_invoice_id, invoice_id)
