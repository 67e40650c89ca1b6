"""Customers and categories: found by Magento id, else by email (a customer) or by parent and name (a category),
linking the Magento id, else created; and the Magento ids the push records for them."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from syncapi.pos import models as m
from syncapi.pos import validation
from syncapi.pos.errors import PosConflictError, PosValidationError
from syncapi.pos.gateway import CategoryIn, Customer, CustomerIn, WriteResult
from syncapi.pos.sql import rows as r
from syncapi.pos.sql.common import SqlGatewayBase, database_errors


class CustomerWrites(SqlGatewayBase):
    """The gateway's customer and category lookups and writes."""

    def find_customer(self, *, email: str | None = None, magento_id: int | None = None) -> Customer | None:
        """The customer linked to `magento_id`, else the one with `email` (any case)."""
        customers = m.Customer.__table__
        if magento_id is not None:
            magento_id = validation.valid_magento_id(magento_id, "find customer")
        with database_errors("find customer"), self.engine.connect() as connection:
            if magento_id is not None:
                row = connection.execute(select(customers).where(customers.c.magento_id == magento_id)).first()
                if row is not None:
                    return r.customer(row)
            if email:
                row = by_email(connection, select(customers), email)
                if row is not None:
                    return r.customer(row)
        return None

    def ensure_customer(self, customer: CustomerIn) -> WriteResult:
        """Find the customer by Magento id, else by email (linking the Magento id), else create it."""
        customer = validation.valid_customer(customer)
        return self._write(
            # Named by Magento id, never by email: this label ends up in logs and stored errors (docs/personal-data.md).
            f"ensure customer (Magento id {customer.magento_id or 'none: a guest'})",
            lambda session: ensure_customer_row(session, customer, link_strictly=True),
        )

    def ensure_category(self, category: CategoryIn) -> WriteResult:
        """Find the category by Magento id, else by parent and name (linking the Magento id), else create it.

        A parent the POS does not know (e.g. Magento's root "Default Category") puts the category at the top.
        """
        category = validation.valid_category(category)

        def work(session: Session) -> WriteResult:
            existing = session.scalar(select(m.Category.id).where(m.Category.magento_id == category.magento_id))
            if existing is not None:
                return WriteResult(existing, False)
            parent_id = None
            if category.parent_magento_id is not None:
                parent_id = session.scalar(
                    select(m.Category.id).where(m.Category.magento_id == category.parent_magento_id)
                )
            same_name = session.scalar(
                select(m.Category.id)
                .where(
                    m.Category.name == category.name,
                    m.Category.parent_id.is_(None) if parent_id is None else m.Category.parent_id == parent_id,
                    m.Category.magento_id.is_(None),
                )
                .order_by(m.Category.id)
                .limit(1)
            )
            if same_name is not None:
                set_magento_id(session, m.Category, same_name, category.magento_id)
                return WriteResult(same_name, False)
            row = m.Category(name=category.name, parent_id=parent_id, magento_id=category.magento_id)
            session.add(row)
            session.flush()
            return WriteResult(row.id, True)

        return self._write(f"ensure category for Magento category {category.magento_id}", work)

    def set_category_magento_id(self, category_id: int, magento_id: int) -> None:
        """Record the Magento id of a pushed category (its `updated_at` is left alone: not a POS change)."""
        magento_id = validation.valid_magento_id(magento_id, f"Magento id of category {category_id}")
        self._write(
            f"link category {category_id} to Magento category {magento_id}",
            lambda session: set_magento_id(session, m.Category, category_id, magento_id),
        )

    def set_customer_magento_id(self, customer_id: int, magento_id: int) -> None:
        """Record the Magento id of a pushed customer (its `updated_at` is left alone: not a POS change)."""
        magento_id = validation.valid_magento_id(magento_id, f"Magento id of customer {customer_id}")
        self._write(
            f"link customer {customer_id} to Magento customer {magento_id}",
            lambda session: set_magento_id(session, m.Customer, customer_id, magento_id),
        )


def ensure_customer_row(session: Session, customer: CustomerIn, *, link_strictly: bool) -> WriteResult:
    """Find or create `customer` (already validated). With `link_strictly`, an email already linked to another
    Magento customer is a conflict; otherwise (a sale's buyer) the customer with that email is used as it is."""
    if customer.magento_id is not None:
        linked = session.scalar(select(m.Customer.id).where(m.Customer.magento_id == customer.magento_id))
        if linked is not None:
            return WriteResult(linked, False)
    found = by_email(session, select(m.Customer.id, m.Customer.magento_id), customer.email)
    if found is not None:
        if customer.magento_id is not None and found.magento_id is None:
            set_magento_id(session, m.Customer, found.id, customer.magento_id)
        elif customer.magento_id is not None and found.magento_id != customer.magento_id and link_strictly:
            raise PosConflictError(
                f"POS customer {found.id} (same email) is linked to Magento customer {found.magento_id},"
                f" not {customer.magento_id}"
            )
        return WriteResult(found.id, False)
    row = m.Customer(
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        phone=customer.phone,
        magento_id=customer.magento_id,
        note=customer.note,
    )
    session.add(row)
    session.flush()  # a concurrent writer of the same email or Magento id makes this fail: the write looks again
    return WriteResult(row.id, True)


def by_email(connection: Connection | Session, query, email: str):
    """The first row of `query` (over `customers`) whose email is `email` in any case, as Magento matches emails.

    The service stores emails lower-case, but a till may have typed "Ada@Example.com": the exact (indexed) match
    is tried first, then one ignoring case, the oldest customer first."""
    email = email.strip().lower()
    table = m.Customer.__table__
    row = connection.execute(query.where(table.c.email == email)).first()
    if row is None:
        row = connection.execute(query.where(func.lower(table.c.email) == email).order_by(table.c.id)).first()
    return row


def set_magento_id(session: Session, model: type[m.Category] | type[m.Customer], pos_id: int, magento_id: int) -> None:
    table = model.__table__
    current = session.execute(select(table.c.id, table.c.magento_id).where(table.c.id == pos_id)).first()
    what = "customer" if model is m.Customer else "category"
    if current is None:
        raise PosValidationError(f"there is no POS {what} {pos_id}")
    if current.magento_id == magento_id:
        return
    other = session.scalar(select(table.c.id).where(table.c.magento_id == magento_id))
    if other is not None:
        raise PosConflictError(f"Magento id {magento_id} is already linked to POS {what} {other}, not {pos_id}")
    # Setting updated_at to itself keeps the ORM's onupdate away: a link is not a change to push back.
    session.execute(
        update(table).where(table.c.id == pos_id).values(magento_id=magento_id, updated_at=table.c.updated_at)
    )
