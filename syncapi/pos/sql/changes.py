"""Changed-since reads (what the push sends: products, images, stock, prices, categories, customers) and row
counts (what a full push checks its reads against).

Each read is one `BatchQuery` run by `ChangeReads._batch`: rows after the cursor in (changed_at, key) order, one
more than the limit to tell whether more follow, and a checkpoint held back by the commit settle time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic

from sqlalchemy import ColumnElement, Select, func, select, union

from syncapi.pos import models as m
from syncapi.pos.gateway import (
    DEFAULT_BATCH_SIZE,
    Batch,
    Category,
    Cursor,
    Customer,
    Price,
    Product,
    ProductImage,
    StockLevel,
)
from syncapi.pos.models import utcnow
from syncapi.pos.sql import rows as r
from syncapi.pos.sql.common import SqlGatewayBase, T, database_errors
from syncapi.pos.sql.times import after_cursor, check_cursor, check_limit, comparable_time, later, near


@dataclass(frozen=True)
class BatchQuery(Generic[T]):
    """One changed-since read: what it selects, how its rows are ordered, and how they become records."""

    #: The read's name, in errors.
    read: str
    statement: Select
    #: When a row changed (a `comparable_time`) and its key: the order, and the cursor's two parts.
    changed_at: ColumnElement
    key: ColumnElement
    #: The type a cursor's key must have for this read.
    key_type: type
    #: The records for a batch of rows, read on the same connection.
    build: Callable[[Any, list[Any]], list[T]]


class ChangeReads(SqlGatewayBase):
    """The gateway's changed-since reads and counts."""

    def _batch(self, query: BatchQuery[T], after: Cursor | None, limit: int) -> Batch[T]:
        check_limit(limit)
        check_cursor(after, query.key_type, query.read)
        started = utcnow()
        statement = (
            query.statement.add_columns(query.changed_at.label("changed_at"), query.key.label("cursor_key"))
            # A time the database cannot read (SQLite text that is no date) has no place in the order: such rows
            # are left out here and make a full push fail by its row count instead.
            .where(query.changed_at.is_not(None), after_cursor(query.changed_at, query.key, after))
            .order_by(query.changed_at, query.key)
            .limit(limit + 1)
        )
        with database_errors(query.read), self.engine.connect() as connection:
            rows = connection.execute(statement).all()
            has_more = len(rows) > limit
            rows = rows[:limit]
            items = query.build(connection, rows) if rows else []
        cursor = Cursor(rows[-1].changed_at, rows[-1].cursor_key) if rows else after
        return Batch(tuple(items), cursor, self._checkpoint(cursor, started), has_more)

    def _checkpoint(self, cursor: Cursor | None, started: datetime) -> Cursor | None:
        if cursor is None:
            return None
        settled = started - timedelta(seconds=self.settle_s)
        return cursor if cursor.updated_at < settled else Cursor(settled, None)

    def changed_products(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[Product]:
        """Products changed after `after`; a product changes when its row or one of its attributes does."""
        products = m.Product.__table__
        attributes = m.ProductAttribute.__table__
        latest = select(attributes.c.sku, func.max(comparable_time(attributes.c.updated_at)).label("at")).group_by(
            attributes.c.sku
        )
        statement = select(products)
        if after is not None:
            # Only rows touched near the cursor's time or later can be after it: narrow both tables by their
            # indexes (the exact comparison, on moments, is `after_cursor`'s).
            touched = union(
                select(products.c.sku).where(near(products.c.updated_at, after)),
                select(attributes.c.sku).where(near(attributes.c.updated_at, after)),
            ).subquery()
            latest = latest.where(attributes.c.sku.in_(select(touched.c.sku)))
            statement = statement.where(products.c.sku.in_(select(touched.c.sku)))
        latest_sq = latest.subquery()
        changed_at = later(latest_sq.c.at, comparable_time(products.c.updated_at))
        statement = statement.outerjoin(latest_sq, latest_sq.c.sku == products.c.sku)
        return self._batch(
            BatchQuery("read changed products", statement, changed_at, products.c.sku, str, r.products_from),
            after,
            limit,
        )

    def changed_images(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[ProductImage]:
        """Product images changed after `after`, content included."""
        images = m.ProductImage.__table__
        return self._batch(
            BatchQuery(
                "read changed images",
                select(images).where(near(images.c.updated_at, after)),
                comparable_time(images.c.updated_at),
                images.c.id,
                int,
                lambda _connection, rows: [r.image(row) for row in rows],
            ),
            after,
            limit,
        )

    def changed_stock(
        self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE, *, locations: Iterable[str] | None = None
    ) -> Batch[StockLevel]:
        """Stock at `locations` (default: this gateway's location) changed after `after`."""
        stock = m.Stock.__table__
        return self._batch(
            BatchQuery(
                "read changed stock",
                select(stock)
                .where(stock.c.location_code.in_(self.stock_locations(locations)))
                .where(near(stock.c.updated_at, after)),
                comparable_time(stock.c.updated_at),
                stock.c.sku,
                str,
                lambda _connection, rows: [r.stock(row) for row in rows],
            ),
            after,
            limit,
        )

    def changed_prices(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[Price]:
        """Prices of the products changed after `after`."""
        products = m.Product.__table__
        return self._batch(
            BatchQuery(
                "read changed prices",
                select(*r.PRICE_COLUMNS).where(near(products.c.updated_at, after)),
                comparable_time(products.c.updated_at),
                products.c.sku,
                str,
                lambda _connection, rows: [r.price(row) for row in rows],
            ),
            after,
            limit,
        )

    def changed_categories(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[Category]:
        """Categories changed after `after`."""
        categories = m.Category.__table__
        return self._batch(
            BatchQuery(
                "read changed categories",
                select(categories).where(near(categories.c.updated_at, after)),
                comparable_time(categories.c.updated_at),
                categories.c.id,
                int,
                lambda _connection, rows: [r.category(row) for row in rows],
            ),
            after,
            limit,
        )

    def changed_customers(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[Customer]:
        """Customers changed after `after`."""
        customers = m.Customer.__table__
        return self._batch(
            BatchQuery(
                "read changed customers",
                select(customers).where(near(customers.c.updated_at, after)),
                comparable_time(customers.c.updated_at),
                customers.c.id,
                int,
                lambda _connection, rows: [r.customer(row) for row in rows],
            ),
            after,
            limit,
        )

    # --- row counts --------------------------------------------------------------------------------------

    def _count(self, read: str, statement: Select) -> int:
        with database_errors(read), self.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def count_products(self) -> int:
        """How many products the POS holds."""
        return self._count("count products", select(func.count()).select_from(m.Product.__table__))

    def count_images(self) -> int:
        """How many product images the POS holds."""
        return self._count("count images", select(func.count()).select_from(m.ProductImage.__table__))

    def count_stock(self, *, locations: Iterable[str] | None = None) -> int:
        """How many SKUs have a stock row at one of `locations` (default: this gateway's location)."""
        stock = m.Stock.__table__
        return self._count(
            "count stock",
            select(func.count(func.distinct(stock.c.sku)))
            .select_from(stock)
            .where(stock.c.location_code.in_(self.stock_locations(locations))),
        )

    def count_categories(self) -> int:
        """How many categories the POS holds."""
        return self._count("count categories", select(func.count()).select_from(m.Category.__table__))

    def count_customers(self) -> int:
        """How many customers the POS holds."""
        return self._count("count customers", select(func.count()).select_from(m.Customer.__table__))
