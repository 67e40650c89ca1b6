"""`SqlPosGateway`: the POS gateway over the reference tables, on SQLite, PostgreSQL and other SQL servers.

Idempotency rests on the unique Magento-id columns: a write looks for the record first, and when a concurrent
writer inserts the same record between that look and its own insert, the insert fails on the unique constraint,
the whole transaction (stock decrement included) is rolled back, and the write looks again and answers with the
record that won. On SQLite every write transaction starts with `BEGIN IMMEDIATE`, so writers queue on the
database lock (up to the busy timeout) instead of failing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    and_,
    case,
    func,
    or_,
    select,
    true,
    type_coerce,
    union,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from syncapi.pos import models as m
from syncapi.pos import validation
from syncapi.pos.errors import PosConflictError, PosError, PosUnavailableError, PosValidationError
from syncapi.pos.gateway import (
    COMMIT_SETTLE_S,
    CREDIT_NOTE_OPEN,
    CREDIT_NOTE_REFUNDED,
    DEFAULT_BATCH_SIZE,
    INVOICE_CANCELED,
    INVOICE_OPEN,
    INVOICE_PAID,
    SERVICE_SKUS,
    Batch,
    Category,
    CategoryIn,
    CreditNote,
    CreditNoteIn,
    Cursor,
    Customer,
    CustomerIn,
    Invoice,
    InvoiceIn,
    Price,
    Product,
    ProductAttribute,
    ProductImage,
    Sale,
    SaleIn,
    SaleLine,
    SaleTender,
    StockLevel,
    WriteResult,
)
from syncapi.pos.migrate import lock_for_writing
from syncapi.pos.models import utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Times a write is tried when a concurrent writer keeps landing a clashing row first.
WRITE_ATTEMPTS = 5
#: Keys per `IN (...)` list, well under every backend's limit on bound parameters.
KEYS_PER_QUERY = 500
#: SQLSTATEs and SQLite messages that mean the POS tables are missing or older than this code.
_MISSING_SCHEMA_SQLSTATES = frozenset({"42P01", "42703", "42S02", "42S22"})
_MISSING_SCHEMA_MESSAGES = ("no such table", "no such column", "doesn't exist", "unknown column")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _missing_schema(exc: sa_exc.DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if sqlstate in _MISSING_SCHEMA_SQLSTATES:
        return True
    message = str(exc.orig).lower()
    return any(fragment in message for fragment in _MISSING_SCHEMA_MESSAGES)


@contextmanager
def _database_errors(action: str) -> Iterator[None]:
    """Turn the database's failures into the gateway's: unreachable or unmigrated → `PosUnavailableError`."""
    try:
        yield
    except PosError:
        raise
    except (sa_exc.OperationalError, sa_exc.ProgrammingError) as exc:
        if _missing_schema(exc):
            raise PosUnavailableError(
                f"{action}: the POS tables are missing or out of date; run `flask --app app pos init` "
                f"({_first_line(exc)})"
            ) from exc
        if isinstance(exc, sa_exc.ProgrammingError):
            raise
        raise PosUnavailableError(f"{action}: the POS database is unavailable: {_first_line(exc)}") from exc
    except (sa_exc.InterfaceError, sa_exc.TimeoutError, sa_exc.DisconnectionError) as exc:
        raise PosUnavailableError(f"{action}: the POS database is unavailable: {_first_line(exc)}") from exc
    except sa_exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise PosUnavailableError(f"{action}: the POS database connection was lost: {_first_line(exc)}") from exc
        raise


def _chunks(keys: Iterable[T]) -> Iterator[list[T]]:
    unique = sorted(set(keys))  # type: ignore[type-var]
    for start in range(0, len(unique), KEYS_PER_QUERY):
        yield unique[start : start + KEYS_PER_QUERY]


class comparable_time(FunctionElement):
    """A timestamp column as a value that compares and sorts by the moment it names, however it was written.

    PostgreSQL, MySQL and MariaDB store typed timestamps: the column as it is. SQLite stores text, and another
    program may write it in any form SQLite's date functions accept (`CURRENT_TIMESTAMP`'s
    `YYYY-MM-DD HH:MM:SS`, a `T` separator, 0 to 9 digits of fraction, a `Z` or `+HH:MM` suffix), which text
    comparison with the application's `YYYY-MM-DD HH:MM:SS.ffffff` orders wrongly. There the value is rewritten
    to that one form in UTC, microseconds kept (see docs/pos-gateway-reads.md).
    """

    type = m.UtcDateTime()
    inherit_cache = True


@compiles(comparable_time)
def _comparable_time_typed(element, compiler, **kw) -> str:
    return compiler.process(element.clauses.clauses[0], **kw)


@compiles(comparable_time, "sqlite")
def _comparable_time_sqlite(element, compiler, **kw) -> str:
    text = compiler.process(element.clauses.clauses[0], **kw)
    # The fraction's digits: what follows the '.' after the seconds, up to a zone suffix, padded to 6 places.
    fraction = f"(CASE WHEN substr({text}, 20, 1) = '.' THEN substr({text}, 21) ELSE '' END)"
    digits = f"substr({fraction}, 1, length({fraction}) - length(ltrim({fraction}, '0123456789')))"
    return f"(strftime('%Y-%m-%d %H:%M:%S', {text}) || '.' || substr({digits} || '000000', 1, 6))"


#: How far before a cursor an index-only pre-filter on a raw timestamp column starts: more than any time zone
#: offset a text timestamp may carry, so every row at or after the cursor passes it whatever its form.
RAW_TIME_SLACK = timedelta(days=1)


def _near(column: ColumnElement, after: Cursor | None) -> ColumnElement[bool]:
    """An index-friendly superset of the rows at or after `after` (the exact test is `_after`'s)."""
    if not isinstance(after, Cursor):
        return true()  # None, or not a cursor: `_batch` refuses the latter before running anything
    return column >= after.updated_at - RAW_TIME_SLACK


def _after(changed_at: ColumnElement, key: ColumnElement, after: Cursor | None) -> ColumnElement[bool]:
    """Rows strictly after `after` in (changed_at, key) order; written without row values for every backend.

    `changed_at` must be a `comparable_time`, so the comparison is on moments, not on how they were written.
    """
    if after is None:
        return true()
    if after.key is None:
        return changed_at >= after.updated_at
    return or_(changed_at > after.updated_at, and_(changed_at == after.updated_at, key > after.key))


def _later(attribute_at: ColumnElement, product_at: ColumnElement) -> ColumnElement:
    """The later of a product's and its attributes' latest change (both `comparable_time`s; the first may be
    NULL when the product has no attributes)."""
    return type_coerce(case((attribute_at > product_at, attribute_at), else_=product_at), m.UtcDateTime())


def _check_cursor(after: Cursor | None, key_type: type, read: str) -> None:
    if after is not None and not isinstance(after, Cursor):
        raise PosValidationError(f"{read}: expected a Cursor (see Cursor.decode), got {type(after).__name__}")
    if after is None or after.key is None:
        return
    if isinstance(after.key, bool) or not isinstance(after.key, key_type):
        raise PosValidationError(
            f"{read}: the cursor's key {after.key!r} is not a {key_type.__name__}; it belongs to another read"
        )


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise PosValidationError(f"batch limit must be a whole number of 1 or more, got {limit!r}")


class SqlPosGateway:
    """The POS gateway over the reference tables (see `syncapi.pos.gateway.PosGateway` for the guarantees)."""

    def __init__(self, engine: Engine, location_code: str, *, settle_s: float = COMMIT_SETTLE_S):
        if not location_code or not location_code.strip():
            raise PosValidationError("a POS location code is required (POS_LOCATION_CODE)")
        self.engine = engine
        self.location_code = location_code.strip()
        self.settle_s = settle_s

    def __repr__(self) -> str:
        return f"SqlPosGateway({self.engine.url.render_as_string(hide_password=True)!r}, {self.location_code!r})"

    # --- changed-since reads -----------------------------------------------------------------------------

    def _batch(
        self,
        read: str,
        statement: Select,
        changed_at: ColumnElement,
        key: ColumnElement,
        key_type: type,
        after: Cursor | None,
        limit: int,
        build: Callable[[Any, list[Any]], list[T]],
    ) -> Batch[T]:
        _check_limit(limit)
        _check_cursor(after, key_type, read)
        started = utcnow()
        statement = (
            statement.add_columns(changed_at.label("changed_at"), key.label("cursor_key"))
            # A time the database cannot read (SQLite text that is no date) has no place in the order: such rows
            # are left out here and make a full push fail by its row count instead.
            .where(changed_at.is_not(None), _after(changed_at, key, after))
            .order_by(changed_at, key)
            .limit(limit + 1)
        )
        with _database_errors(read), self.engine.connect() as connection:
            rows = connection.execute(statement).all()
            has_more = len(rows) > limit
            rows = rows[:limit]
            items = build(connection, rows) if rows else []
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
            # indexes (the exact comparison, on moments, is `_after`'s).
            touched = union(
                select(products.c.sku).where(_near(products.c.updated_at, after)),
                select(attributes.c.sku).where(_near(attributes.c.updated_at, after)),
            ).subquery()
            latest = latest.where(attributes.c.sku.in_(select(touched.c.sku)))
            statement = statement.where(products.c.sku.in_(select(touched.c.sku)))
        latest_sq = latest.subquery()
        changed_at = _later(latest_sq.c.at, comparable_time(products.c.updated_at))
        statement = statement.outerjoin(latest_sq, latest_sq.c.sku == products.c.sku)
        return self._batch(
            "read changed products", statement, changed_at, products.c.sku, str, after, limit, self._products_from
        )

    def changed_images(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[ProductImage]:
        """Product images changed after `after`, content included."""
        images = m.ProductImage.__table__
        return self._batch(
            "read changed images",
            select(images).where(_near(images.c.updated_at, after)),
            comparable_time(images.c.updated_at),
            images.c.id,
            int,
            after,
            limit,
            lambda _connection, rows: [_image(row) for row in rows],
        )

    def changed_stock(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[StockLevel]:
        """Stock at this gateway's location changed after `after`."""
        stock = m.Stock.__table__
        return self._batch(
            "read changed stock",
            select(stock).where(stock.c.location_code == self.location_code).where(_near(stock.c.updated_at, after)),
            comparable_time(stock.c.updated_at),
            stock.c.sku,
            str,
            after,
            limit,
            lambda _connection, rows: [_stock(row) for row in rows],
        )

    def changed_prices(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[Price]:
        """Prices of the products changed after `after`."""
        products = m.Product.__table__
        return self._batch(
            "read changed prices",
            select(*_PRICE_COLUMNS).where(_near(products.c.updated_at, after)),
            comparable_time(products.c.updated_at),
            products.c.sku,
            str,
            after,
            limit,
            lambda _connection, rows: [_price(row) for row in rows],
        )

    def changed_categories(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[Category]:
        """Categories changed after `after`."""
        categories = m.Category.__table__
        return self._batch(
            "read changed categories",
            select(categories).where(_near(categories.c.updated_at, after)),
            comparable_time(categories.c.updated_at),
            categories.c.id,
            int,
            after,
            limit,
            lambda _connection, rows: [_category(row) for row in rows],
        )

    def changed_customers(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[Customer]:
        """Customers changed after `after`."""
        customers = m.Customer.__table__
        return self._batch(
            "read changed customers",
            select(customers).where(_near(customers.c.updated_at, after)),
            comparable_time(customers.c.updated_at),
            customers.c.id,
            int,
            after,
            limit,
            lambda _connection, rows: [_customer(row) for row in rows],
        )

    def _products_from(self, connection, rows: Sequence[Any]) -> list[Product]:
        """Products for `rows` (with a `changed_at` column), their attributes loaded in one query per chunk."""
        attributes = m.ProductAttribute.__table__
        by_sku: dict[str, list[ProductAttribute]] = {}
        for chunk in _chunks(row.sku for row in rows):
            found = connection.execute(
                select(attributes.c.sku, attributes.c.code, attributes.c.value)
                .where(attributes.c.sku.in_(chunk))
                .order_by(attributes.c.sku, attributes.c.code)
            )
            for sku, code, value in found:
                by_sku.setdefault(sku, []).append(ProductAttribute(code, value))
        return [_product(row, tuple(by_sku.get(row.sku, ())), row.changed_at) for row in rows]

    # --- row counts --------------------------------------------------------------------------------------

    def _count(self, read: str, statement: Select) -> int:
        with _database_errors(read), self.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def count_products(self) -> int:
        """How many products the POS holds."""
        return self._count("count products", select(func.count()).select_from(m.Product.__table__))

    def count_images(self) -> int:
        """How many product images the POS holds."""
        return self._count("count images", select(func.count()).select_from(m.ProductImage.__table__))

    def count_stock(self) -> int:
        """How many stock rows the POS holds at this gateway's location."""
        stock = m.Stock.__table__
        return self._count(
            "count stock", select(func.count()).select_from(stock).where(stock.c.location_code == self.location_code)
        )

    def count_categories(self) -> int:
        """How many categories the POS holds."""
        return self._count("count categories", select(func.count()).select_from(m.Category.__table__))

    def count_customers(self) -> int:
        """How many customers the POS holds."""
        return self._count("count customers", select(func.count()).select_from(m.Customer.__table__))

    # --- reads by key ------------------------------------------------------------------------------------

    def _by_keys(
        self, read: str, keys: Iterable[Any], key_type: type, query: Callable[[list[Any]], Select], build
    ) -> list[Any]:
        if isinstance(keys, str | bytes):
            raise PosValidationError(f"{read}: give a list of keys, not the single string {keys!r}")
        keys = list(keys)
        if any(key is None for key in keys):
            raise PosValidationError(f"{read}: a key is missing (None)")
        wrong = [key for key in keys if isinstance(key, bool) or not isinstance(key, key_type)]
        if wrong:
            raise PosValidationError(f"{read}: keys must be {key_type.__name__}s, got {wrong[:5]!r}")
        found: list[Any] = []
        with _database_errors(read), self.engine.connect() as connection:
            for chunk in _chunks(keys):
                found.extend(build(connection, connection.execute(query(chunk)).all()))
        return found

    def _product_query(self, where: Callable[[Any], ColumnElement[bool]]) -> Callable[[list[Any]], Select]:
        products = m.Product.__table__
        attributes = m.ProductAttribute.__table__

        def query(chunk: list[Any]) -> Select:
            latest = (
                select(attributes.c.sku, func.max(comparable_time(attributes.c.updated_at)).label("at"))
                .where(attributes.c.sku.in_(select(products.c.sku).where(where(chunk))))
                .group_by(attributes.c.sku)
                .subquery()
            )
            changed_at = _later(latest.c.at, comparable_time(products.c.updated_at))
            return (
                select(products, changed_at.label("changed_at"))
                .outerjoin(latest, latest.c.sku == products.c.sku)
                .where(where(chunk))
                .order_by(products.c.sku)
            )

        return query

    def get_products(self, skus: Iterable[str]) -> list[Product]:
        """The products with these SKUs, by SKU."""
        products = m.Product.__table__
        query = self._product_query(lambda chunk: products.c.sku.in_(chunk))
        found = self._by_keys("read products", skus, str, query, self._products_from)
        return sorted(found, key=lambda product: product.sku)

    def get_style(self, parent_skus: Iterable[str]) -> list[Product]:
        """Every variant of these styles, by SKU."""
        products = m.Product.__table__
        query = self._product_query(lambda chunk: products.c.parent_sku.in_(chunk))
        found = self._by_keys("read styles", parent_skus, str, query, self._products_from)
        return sorted(found, key=lambda product: product.sku)

    def get_images(self, skus: Iterable[str]) -> list[ProductImage]:
        """All images of these products, by SKU then position."""
        images = m.ProductImage.__table__
        found = self._by_keys(
            "read images",
            skus,
            str,
            lambda chunk: select(images).where(images.c.sku.in_(chunk)),
            lambda _connection, rows: [_image(row) for row in rows],
        )
        return sorted(found, key=lambda image: (image.sku, image.position))

    def get_stock(self, skus: Iterable[str]) -> list[StockLevel]:
        """Stock of these SKUs at this gateway's location, by SKU."""
        stock = m.Stock.__table__
        found = self._by_keys(
            "read stock",
            skus,
            str,
            lambda chunk: select(stock).where(stock.c.sku.in_(chunk), stock.c.location_code == self.location_code),
            lambda _connection, rows: [_stock(row) for row in rows],
        )
        return sorted(found, key=lambda level: level.sku)

    def get_prices(self, skus: Iterable[str]) -> list[Price]:
        """Prices of these SKUs, by SKU."""
        products = m.Product.__table__
        found = self._by_keys(
            "read prices",
            skus,
            str,
            lambda chunk: select(*_PRICE_COLUMNS).where(products.c.sku.in_(chunk)),
            lambda _connection, rows: [_price(row) for row in rows],
        )
        return sorted(found, key=lambda price: price.sku)

    def get_categories(self, ids: Iterable[int]) -> list[Category]:
        """The categories with these ids, by id."""
        categories = m.Category.__table__
        found = self._by_keys(
            "read categories",
            ids,
            int,
            lambda chunk: select(categories).where(categories.c.id.in_(chunk)),
            lambda _connection, rows: [_category(row) for row in rows],
        )
        return sorted(found, key=lambda category: category.id)

    def get_customers(self, ids: Iterable[int]) -> list[Customer]:
        """The customers with these ids, by id."""
        customers = m.Customer.__table__
        found = self._by_keys(
            "read customers",
            ids,
            int,
            lambda chunk: select(customers).where(customers.c.id.in_(chunk)),
            lambda _connection, rows: [_customer(row) for row in rows],
        )
        return sorted(found, key=lambda customer: customer.id)

    def find_customer(self, *, email: str | None = None, magento_id: int | None = None) -> Customer | None:
        """The customer linked to `magento_id`, else the one with `email` (any case)."""
        customers = m.Customer.__table__
        if magento_id is not None:
            magento_id = validation.valid_magento_id(magento_id, "find customer")
        with _database_errors("find customer"), self.engine.connect() as connection:
            if magento_id is not None:
                row = connection.execute(select(customers).where(customers.c.magento_id == magento_id)).first()
                if row is not None:
                    return _customer(row)
            if email:
                row = connection.execute(select(customers).where(customers.c.email == email.strip().lower())).first()
                if row is not None:
                    return _customer(row)
        return None

    def find_sale(self, magento_order_id: int) -> Sale | None:
        """The sale written for this Magento order, with its lines."""
        sales = m.Sale.__table__
        lines = m.SaleLine.__table__
        magento_order_id = validation.valid_magento_id(magento_order_id, "find sale")
        with _database_errors("find sale"), self.engine.connect() as connection:
            row = connection.execute(select(sales).where(sales.c.magento_order_id == magento_order_id)).first()
            if row is None:
                return None
            line_rows = connection.execute(
                select(lines).where(lines.c.sale_id == row.id).order_by(lines.c.line_no)
            ).all()
            tenders = m.SaleTender.__table__
            tender_rows = connection.execute(
                select(tenders).where(tenders.c.sale_id == row.id).order_by(tenders.c.id)
            ).all()
        return Sale(
            id=row.id,
            magento_order_id=row.magento_order_id,
            magento_increment_id=row.magento_increment_id,
            customer_id=row.customer_id,
            location_code=row.location_code,
            tender_type=row.tender_type,
            subtotal=row.subtotal,
            discount=row.discount,
            shipping=row.shipping,
            tax=row.tax,
            grand_total=row.grand_total,
            created_at=row.created_at,
            lines=tuple(
                SaleLine(
                    line.sku, line.qty, line.unit_price, line.discount, line.tax, line.line_total, line.tax_percent
                )
                for line in line_rows
            ),
            currency=row.currency,
            order_currency=row.order_currency,
            order_grand_total=row.order_grand_total,
            base_to_order_rate=row.base_to_order_rate,
            status=row.status,
            note=row.note,
            tenders=tuple(SaleTender(tender.tender_type, tender.amount) for tender in tender_rows),
        )

    def find_invoice(self, magento_invoice_id: int) -> Invoice | None:
        """The invoice written for this Magento invoice, with the sum paid against it."""
        magento_invoice_id = validation.valid_magento_id(magento_invoice_id, "find invoice")
        row = self._document_with_sum(
            m.Invoice, "magento_invoice_id", magento_invoice_id, m.Payment, "invoice_id", "find invoice"
        )
        if row is None:
            return None
        return Invoice(
            id=row.id,
            magento_invoice_id=row.magento_invoice_id,
            magento_order_id=row.magento_order_id,
            sale_id=row.sale_id,
            customer_id=row.customer_id,
            grand_total=row.grand_total,
            paid=_money(row.total),
            created_at=row.created_at,
            status=row.status,
            currency=row.currency,
            order_currency=row.order_currency,
            order_grand_total=row.order_grand_total,
        )

    def find_credit_note(self, magento_creditmemo_id: int) -> CreditNote | None:
        """The credit note written for this Magento credit memo, with the sum refunded against it."""
        magento_creditmemo_id = validation.valid_magento_id(magento_creditmemo_id, "find credit note")
        row = self._document_with_sum(
            m.CreditNote, "magento_creditmemo_id", magento_creditmemo_id, m.Refund, "credit_note_id", "find credit note"
        )
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
            refunded=_money(row.total),
            created_at=row.created_at,
            status=row.status,
            currency=row.currency,
            online=bool(row.online),
        )

    def _document_with_sum(self, document, id_column: str, magento_id: int, entries, key_column: str, action: str):
        """The `document` row whose `id_column` is `magento_id`, with `total`: the sum of the `amount` of its
        `entries` (payments of an invoice, refunds of a credit note), found by their `key_column`; None if none."""
        documents = document.__table__
        amounts = entries.__table__
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
        with _database_errors(action), self.engine.connect() as connection:
            columns = [documents, type_coerce(total, m.Money()).label("total")]
            if online is not None:
                columns.append(online.label("online"))
            return connection.execute(select(*columns).where(documents.c[id_column] == magento_id)).first()

    # --- writes ------------------------------------------------------------------------------------------

    def _write(self, action: str, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction; when a concurrent writer's row clashes, roll back and look again."""
        last: sa_exc.IntegrityError | None = None
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with _database_errors(action), Session(self.engine, expire_on_commit=False) as session:
                    lock_for_writing(session.connection())
                    result = work(session)
                    session.commit()
                    return result
            except sa_exc.IntegrityError as exc:
                last = exc
                log.info(
                    "pos write clashed with a concurrent one; trying again",
                    extra={"action": action, "attempt": attempt},
                )
        detail = _first_line(last) if last is not None else "no attempt made"
        raise PosConflictError(f"{action}: clashes with rows the POS already holds ({detail})") from last

    def write_sale(self, sale: SaleIn) -> WriteResult:
        """Write the order as a sale (customer found or created) and lower stock, in one transaction."""
        sale = validation.valid_sale(sale)
        action = f"write sale for Magento order {sale.magento_order_id}"

        def work(session: Session) -> WriteResult:
            existing = session.scalar(select(m.Sale.id).where(m.Sale.magento_order_id == sale.magento_order_id))
            if existing is not None:
                _link_order_invoices(session, sale.magento_order_id, existing)
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
                _add_service_product(session, sku)
            customer_id = _ensure_customer(session, sale.customer, link_strictly=False).pos_id
            row = m.Sale(
                magento_order_id=sale.magento_order_id,
                magento_increment_id=sale.magento_increment_id,
                customer_id=customer_id,
                location_code=self.location_code,
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
                )
                for number, line in enumerate(sale.lines, start=1)
            )
            session.add_all(
                m.SaleTender(sale_id=row.id, tender_type=tender.tender_type, amount=tender.amount)
                for tender in sale.tenders
            )
            for sku in sorted(quantities):  # always in SKU order, so concurrent sales lock stock rows in order
                self._lower_stock(session, sku, quantities[sku])
            _link_order_invoices(session, sale.magento_order_id, row.id)
            return WriteResult(row.id, True)

        result = self._write(action, work)
        if result.created:
            # An invoice committed while this sale was being written was not visible to it: link it now.
            self.link_invoices_to_sale(sale.magento_order_id)
        return result

    def _lower_stock(self, session: Session, sku: str, qty: Decimal) -> None:
        stock = m.Stock.__table__
        lowered = session.execute(
            update(stock)
            .where(stock.c.sku == sku, stock.c.location_code == self.location_code)
            .values(on_hand=stock.c.on_hand - qty, updated_at=utcnow())
        )
        if lowered.rowcount == 0:
            # Nothing counted in at this location yet: selling makes it negative, as at a till.
            session.add(m.Stock(sku=sku, location_code=self.location_code, on_hand=-qty))
            session.flush()

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
                _move_invoice_on(session, existing, invoice)
                return WriteResult(existing.id, False), existing.sale_id is None
            sale = session.execute(
                select(m.Sale.id, m.Sale.customer_id).where(m.Sale.magento_order_id == invoice.magento_order_id)
            ).first()
            if sale is not None:
                customer_id = sale.customer_id
            else:
                customer_id = _ensure_customer(session, invoice.customer, link_strictly=False).pos_id
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
                session.add(_payment(row.id, customer_id, invoice))
            _link_credit_notes(session, invoice.magento_invoice_id, row.id)
            return WriteResult(row.id, True), sale is None

        result, unlinked = self._write(action, work)
        if unlinked:
            self.link_invoices_to_sale(invoice.magento_order_id)
        if result.created:
            self._write(action, lambda session: _link_credit_notes(session, invoice.magento_invoice_id, result.pos_id))
        return result

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
                _move_credit_note_on(session, existing, note)
                if note.magento_invoice_id is not None:
                    _link_credit_notes_to_invoice(session, note.magento_invoice_id)
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
                customer_id = sale_customer or _ensure_customer(session, note.customer, link_strictly=False).pos_id
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
                session.add(_refund(row.id, customer_id, note))
            return WriteResult(row.id, True)

        result = self._write(action, work)
        if result.created and note.magento_invoice_id is not None:
            # An invoice committed while this note was being written was not visible to it: link it now.
            self._write(action, lambda session: _link_credit_notes_to_invoice(session, note.magento_invoice_id))
        return result

    def ensure_customer(self, customer: CustomerIn) -> WriteResult:
        """Find the customer by Magento id, else by email (linking the Magento id), else create it."""
        customer = validation.valid_customer(customer)
        return self._write(
            # Named by Magento id, never by email: this label ends up in logs and stored errors (docs/personal-data.md).
            f"ensure customer (Magento id {customer.magento_id or 'none: a guest'})",
            lambda session: _ensure_customer(session, customer, link_strictly=True),
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
                _set_magento_id(session, m.Category, same_name, category.magento_id)
                return WriteResult(same_name, False)
            row = m.Category(name=category.name, parent_id=parent_id, magento_id=category.magento_id)
            session.add(row)
            session.flush()
            return WriteResult(row.id, True)

        return self._write(f"ensure category for Magento category {category.magento_id}", work)

    def link_invoices_to_sale(self, magento_order_id: int) -> int:
        """Link the order's invoices written before its sale to the sale; the number linked."""
        magento_order_id = validation.valid_magento_id(magento_order_id, "magento_order_id")

        def work(session: Session) -> int:
            sale_id = session.scalar(select(m.Sale.id).where(m.Sale.magento_order_id == magento_order_id))
            return 0 if sale_id is None else _link_order_invoices(session, magento_order_id, sale_id)

        return self._write(f"link invoices of Magento order {magento_order_id}", work)

    def set_category_magento_id(self, category_id: int, magento_id: int) -> None:
        """Record the Magento id of a pushed category (its `updated_at` is left alone: not a POS change)."""
        magento_id = validation.valid_magento_id(magento_id, f"Magento id of category {category_id}")
        self._write(
            f"link category {category_id} to Magento category {magento_id}",
            lambda session: _set_magento_id(session, m.Category, category_id, magento_id),
        )

    def set_customer_magento_id(self, customer_id: int, magento_id: int) -> None:
        """Record the Magento id of a pushed customer (its `updated_at` is left alone: not a POS change)."""
        magento_id = validation.valid_magento_id(magento_id, f"Magento id of customer {customer_id}")
        self._write(
            f"link customer {customer_id} to Magento customer {magento_id}",
            lambda session: _set_magento_id(session, m.Customer, customer_id, magento_id),
        )


# --- helpers inside a write transaction ----------------------------------------------------------------------


def _ensure_customer(session: Session, customer: CustomerIn, *, link_strictly: bool) -> WriteResult:
    """Find or create `customer` (already validated). With `link_strictly`, an email already linked to another
    Magento customer is a conflict; otherwise (a sale's buyer) the customer with that email is used as it is."""
    if customer.magento_id is not None:
        linked = session.scalar(select(m.Customer.id).where(m.Customer.magento_id == customer.magento_id))
        if linked is not None:
            return WriteResult(linked, False)
    found = session.execute(
        select(m.Customer.id, m.Customer.magento_id).where(m.Customer.email == customer.email)
    ).first()
    if found is not None:
        if customer.magento_id is not None and found.magento_id is None:
            _set_magento_id(session, m.Customer, found.id, customer.magento_id)
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


def _payment(invoice_id: int, customer_id: int, invoice: InvoiceIn) -> m.Payment:
    return m.Payment(
        invoice_id=invoice_id, customer_id=customer_id, amount=invoice.grand_total, method=invoice.payment_method
    )


def _refund(credit_note_id: int, customer_id: int, note: CreditNoteIn) -> m.Refund:
    return m.Refund(
        credit_note_id=credit_note_id,
        customer_id=customer_id,
        amount=note.grand_total,
        method=note.refund_method,
        online=note.refund_online,
    )


def _move_invoice_on(session: Session, existing: Any, invoice: InvoiceIn) -> None:
    """Follow the invoice's later state: paid records the payment, canceled voids it. Never back.

    The status moves by a conditional update from the status last read; only the writer whose update changed
    the row records the payment, so two writers moving the same invoice at once pay it once.
    """
    status = _moved(session, m.Invoice.__table__, existing.id, existing.status, invoice.status, _invoice_may_move)
    if status is None:
        return
    if invoice.status == INVOICE_PAID:
        session.add(_payment(existing.id, existing.customer_id, invoice))
    else:  # canceled: what was paid against it no longer counts
        payments = m.Payment.__table__
        session.execute(
            update(payments)
            .where(payments.c.invoice_id == existing.id, payments.c.voided_at.is_(None))
            .values(voided_at=utcnow())
        )


def _invoice_may_move(current: str, wanted: str) -> bool:
    return current != wanted and current != INVOICE_CANCELED and wanted != INVOICE_OPEN


def _credit_note_may_move(current: str, wanted: str) -> bool:
    return current == CREDIT_NOTE_OPEN and wanted != CREDIT_NOTE_OPEN


def _move_credit_note_on(session: Session, existing: Any, note: CreditNoteIn) -> None:
    """Follow an open credit memo to refunded (records the refund) or canceled (records none); only the writer
    whose conditional update moved it records the refund."""
    status = _moved(session, m.CreditNote.__table__, existing.id, existing.status, note.status, _credit_note_may_move)
    if status is not None and note.status == CREDIT_NOTE_REFUNDED:
        session.add(_refund(existing.id, existing.customer_id, note))


def _moved(
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


def _set_magento_id(session: Session, model: type[m.Category] | type[m.Customer], pos_id: int, magento_id: int) -> None:
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


def _link_order_invoices(session: Session, magento_order_id: int, sale_id: int) -> int:
    invoices = m.Invoice.__table__
    linked = session.execute(
        update(invoices)
        .where(invoices.c.magento_order_id == magento_order_id, invoices.c.sale_id.is_(None))
        .values(sale_id=sale_id)
    )
    return linked.rowcount or 0


def _link_credit_notes(session: Session, magento_invoice_id: int, invoice_id: int) -> int:
    notes = m.CreditNote.__table__
    linked = session.execute(
        update(notes)
        .where(notes.c.magento_invoice_id == magento_invoice_id, notes.c.invoice_id.is_(None))
        .values(invoice_id=invoice_id)
    )
    return linked.rowcount or 0


def _link_credit_notes_to_invoice(session: Session, magento_invoice_id: int) -> int:
    invoice_id = session.scalar(select(m.Invoice.id).where(m.Invoice.magento_invoice_id == magento_invoice_id))
    return 0 if invoice_id is None else _link_credit_notes(session, magento_invoice_id, invoice_id)


# --- rows to the gateway's dataclasses -----------------------------------------------------------------------

_PRICE_COLUMNS = (
    m.Product.__table__.c.sku,
    m.Product.__table__.c.parent_sku,
    m.Product.__table__.c.retail_price,
    m.Product.__table__.c.sale_price,
    m.Product.__table__.c.internet_active,
    m.Product.__table__.c.updated_at,
)


def _money(value: Any) -> Decimal:
    return Decimal(value).quantize(validation.PLACES) if value is not None else Decimal(0)


def _product(row: Any, attributes: tuple[ProductAttribute, ...], changed_at: datetime) -> Product:
    return Product(
        sku=row.sku,
        parent_sku=row.parent_sku,
        name=row.name,
        description=row.description,
        long_description_html=row.long_description_html,
        category_id=row.category_id,
        colour=row.colour,
        size=row.size,
        retail_price=row.retail_price,
        sale_price=row.sale_price,
        attribute_set=row.attribute_set,
        internet_active=bool(row.internet_active),
        attributes=attributes,
        updated_at=changed_at,
    )


def _image(row: Any) -> ProductImage:
    return ProductImage(row.id, row.sku, row.position, row.filename, bytes(row.content), row.updated_at)


def _add_service_product(session: Session, sku: str) -> None:
    """The POS product of a service line (`SERVICE_SKUS`), created on the first sale that carries it: priced 0, not
    internet-active, with no stock row, so it is sold without being stocked or pushed to Magento. A writer that
    creates it at the same moment makes this sale's transaction fail on the unique SKU, and it is tried again."""
    session.add(m.Product(sku=sku, name=SERVICE_SKUS[sku], retail_price=Decimal(0), internet_active=False))
    session.flush()


def _stock(row: Any) -> StockLevel:
    return StockLevel(row.sku, row.location_code, row.on_hand, row.updated_at)


def _price(row: Any) -> Price:
    return Price(row.sku, row.parent_sku, row.retail_price, row.sale_price, bool(row.internet_active), row.updated_at)


def _category(row: Any) -> Category:
    return Category(row.id, row.parent_id, row.name, row.magento_id, row.updated_at)


def _customer(row: Any) -> Customer:
    return Customer(row.id, row.email, row.first_name, row.last_name, row.phone, row.magento_id, row.updated_at)
