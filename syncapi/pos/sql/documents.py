"""What invoices and credit notes share: the sum of the entries against a document (payments, refunds), and the
status that moves one way under concurrent writers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select, type_coerce, update
from sqlalchemy.orm import Session

from syncapi.pos import models as m
from syncapi.pos.sql.common import database_errors


@dataclass(frozen=True)
class DocumentEntries:
    """A document table and the table of entries that add up against it."""

    #: The document's model and its Magento-id column.
    document: type[m.PosBase]
    id_column: str
    #: The entries' model and the column that names their document.
    entries: type[m.PosBase]
    key_column: str


INVOICE_PAYMENTS = DocumentEntries(m.Invoice, "magento_invoice_id", m.Payment, "invoice_id")
CREDIT_NOTE_REFUNDS = DocumentEntries(m.CreditNote, "magento_creditmemo_id", m.Refund, "credit_note_id")


def document_with_sum(engine: Engine, kind: DocumentEntries, magento_id: int, action: str):
    """The `kind.document` row whose `kind.id_column` is `magento_id`, with `total`: the sum of the `amount` of its
    entries (payments of an invoice, refunds of a credit note), found by their `kind.key_column`; None if none."""
    documents = kind.document.__table__
    amounts = kind.entries.__table__
    key_column = kind.key_column
    counted = [amounts.c[key_column] == documents.c.id]
    if "voided_at" in amounts.c:  # a voided payment no longer counts
        counted.append(amounts.c.voided_at.is_(None))
    total = select(func.coalesce(func.sum(amounts.c.amount), 0)).where(*counted).scalar_subquery()
    online = None
    if "online" in amounts.c:
        online = (
            select(func.count())
            .where(amounts.c[key_column] == documents.c.id, amounts.c.online.is_(True))
            .scalar_subquery()
        )
    with database_errors(action), engine.connect() as connection:
        columns = [documents, type_coerce(total, m.Money()).label("total")]
        if online is not None:
            columns.append(online.label("online"))
        return connection.execute(select(*columns).where(documents.c[kind.id_column] == magento_id)).first()


def moved(
    session: Session, table: Any, row_id: int, current: str, wanted: str, may_move: Callable[[str, str], bool]
) -> str | None:
    """Move the document's status from `current` to `wanted` when `may_move` allows it, by an update that only
    changes the row while it still holds the status read; the status it was moved from, or None when it was not
    moved. A concurrent writer that moved it first is seen on the next read (PostgreSQL's update waits for
    its commit), so one of two writers moves it and the other finds it moved."""
    while may_move(current, wanted):
        changed = session.execute(
            update(table).where(table.c.id == row_id, table.c.status == current).values(status=wanted)
        ).rowcount
        if changed == 1:
            return current
        current = session.scalar(select(table.c.status).where(table.c.id == row_id))
        if current is None:
            return None
    return None
