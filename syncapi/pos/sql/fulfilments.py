"""Fulfilments: read by change or id with their lines and their sale's order and location, and linked to the
Magento shipment each became."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from syncapi.pos import models as m
from syncapi.pos import validation
from syncapi.pos.errors import PosConflictError, PosValidationError
from syncapi.pos.fulfilments import PARTLY_SHIPPED, SHIPPED, Fulfilment, FulfilmentLine
from syncapi.pos.gateway import DEFAULT_BATCH_SIZE, SALE_VOIDED, Batch, Cursor
from syncapi.pos.sql.changes import BatchQuery, ChangeReads
from syncapi.pos.sql.common import chunks, database_errors
from syncapi.pos.sql.lookups import KeyReads
from syncapi.pos.sql.times import comparable_time, near


def _statement():
    fulfilments = m.Fulfilment.__table__
    sales = m.Sale.__table__
    return select(
        fulfilments, sales.c.magento_order_id.label("magento_order_id"), sales.c.location_code.label("location")
    ).join(sales, sales.c.id == fulfilments.c.sale_id)


def _build(connection, rows: list[Any]) -> list[Fulfilment]:
    lines_table = m.FulfilmentLine.__table__
    lines: dict[int, list[FulfilmentLine]] = {}
    for chunk in chunks([row.id for row in rows]):
        found = connection.execute(
            select(lines_table)
            .where(lines_table.c.fulfilment_id.in_(chunk))
            .order_by(lines_table.c.fulfilment_id, lines_table.c.id)
        ).all()
        for line in found:
            lines.setdefault(line.fulfilment_id, []).append(FulfilmentLine(line.sku, Decimal(str(line.qty))))
    return [
        Fulfilment(
            id=row.id,
            sale_id=row.sale_id,
            magento_order_id=row.magento_order_id,
            location_code=row.location,
            carrier=row.carrier,
            tracking_number=row.tracking_number,
            magento_shipment_id=row.magento_shipment_id,
            lines=tuple(lines.get(row.id, ())),
            updated_at=row.updated_at,
        )
        for row in rows
    ]


class FulfilmentReads(ChangeReads, KeyReads):
    """The gateway's fulfilments."""

    def changed_fulfilments(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[Fulfilment]:
        """Fulfilments changed after `after`, lines included."""
        fulfilments = m.Fulfilment.__table__
        return self._batch(
            BatchQuery(
                "read changed fulfilments",
                _statement().where(near(fulfilments.c.updated_at, after)),
                comparable_time(fulfilments.c.updated_at),
                fulfilments.c.id,
                int,
                _build,
            ),
            after,
            limit,
        )

    def count_fulfilments(self) -> int:
        """How many fulfilments the POS holds."""
        return self._count("count fulfilments", select(func.count()).select_from(m.Fulfilment.__table__))

    def get_fulfilments(self, ids: Iterable[int]) -> list[Fulfilment]:
        """The fulfilments with these ids, lines included, by id."""
        fulfilments = m.Fulfilment.__table__
        found = self._by_keys(
            "read fulfilments",
            ids,
            int,
            lambda chunk: _statement().where(fulfilments.c.id.in_(chunk)),
            lambda connection, rows: _build(connection, rows),
        )
        return sorted(found, key=lambda fulfilment: fulfilment.id)

    def web_sale_lines(self, skus: Iterable[str]) -> list[tuple[int, str, Decimal]]:
        """`(magento_order_id, sku, qty)` of the web sales at this gateway's location selling `skus`, voided ones
        left out: what Magento may still hold reserved until it ships."""
        sales = m.Sale.__table__
        lines = m.SaleLine.__table__
        statement = (
            select(sales.c.magento_order_id, lines.c.sku, func.sum(lines.c.qty))
            .join(sales, sales.c.id == lines.c.sale_id)
            .where(
                sales.c.magento_order_id.is_not(None),
                sales.c.location_code == self.location_code,
                sales.c.status != SALE_VOIDED,
            )
            .group_by(sales.c.magento_order_id, lines.c.sku)
        )
        found = self._by_keys(
            "read the web sales of SKUs",
            skus,
            str,
            lambda chunk: statement.where(lines.c.sku.in_(chunk)),
            lambda _connection, rows: [(int(row[0]), str(row[1]), Decimal(str(row[2]))) for row in rows],
        )
        return sorted(found)

    def shipping_status(self, sale_id: int) -> str | None:
        """`shipped` when the sale's fulfilments that became Magento shipments cover all its lines,
        `partly_shipped` when they cover some, None when none did."""
        lines = m.SaleLine.__table__
        fulfilments = m.Fulfilment.__table__
        shipped_lines = m.FulfilmentLine.__table__
        with database_errors(f"read the shipping of sale {sale_id}"), self.engine.connect() as connection:
            ordered = dict(
                connection.execute(
                    select(lines.c.sku, func.sum(lines.c.qty)).where(lines.c.sale_id == sale_id).group_by(lines.c.sku)
                ).all()
            )
            shipped = dict(
                connection.execute(
                    select(shipped_lines.c.sku, func.sum(shipped_lines.c.qty))
                    .join(fulfilments, fulfilments.c.id == shipped_lines.c.fulfilment_id)
                    .where(fulfilments.c.sale_id == sale_id, fulfilments.c.magento_shipment_id.is_not(None))
                    .group_by(shipped_lines.c.sku)
                ).all()
            )
        if not shipped:
            return None
        done = all(Decimal(str(shipped.get(sku) or 0)) >= Decimal(str(qty)) for sku, qty in ordered.items())
        return SHIPPED if done else PARTLY_SHIPPED

    def set_fulfilment_shipment(self, fulfilment_id: int, magento_shipment_id: int) -> None:
        """Record the Magento shipment a fulfilment became (its `updated_at` is left alone: not a POS change)."""
        what = f"Magento shipment of fulfilment {fulfilment_id}"
        shipment_id = validation.valid_magento_id(magento_shipment_id, what)
        self._write(
            f"link fulfilment {fulfilment_id} to Magento shipment {shipment_id}",
            lambda session: _set_shipment(session, fulfilment_id, shipment_id),
        )


def _set_shipment(session: Session, fulfilment_id: int, shipment_id: int) -> None:
    table = m.Fulfilment.__table__
    current = session.execute(select(table.c.magento_shipment_id).where(table.c.id == fulfilment_id)).first()
    if current is None:
        raise PosValidationError(f"there is no POS fulfilment {fulfilment_id}")
    if current.magento_shipment_id == shipment_id:
        return
    if current.magento_shipment_id is not None:
        raise PosConflictError(
            f"fulfilment {fulfilment_id} is already Magento shipment {current.magento_shipment_id}, not {shipment_id}"
        )
    other = session.scalar(select(table.c.id).where(table.c.magento_shipment_id == shipment_id))
    if other is not None:
        raise PosConflictError(f"Magento shipment {shipment_id} is already POS fulfilment {other}, not {fulfilment_id}")
    # Setting updated_at to itself keeps the ORM's onupdate away: a link is not a change to push back.
    session.execute(
        update(table)
        .where(table.c.id == fulfilment_id)
        .values(magento_shipment_id=shipment_id, updated_at=table.c.updated_at)
    )
