"""Reads by key: products, styles, images, stock, prices and categories by SKU or id, and the sale written for an
order (what the push re-reads for a retried record, and what an import checks before it writes)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from syncapi.pos import models as m
from syncapi.pos import validation
from syncapi.pos.errors import PosValidationError
from syncapi.pos.gateway import Category, Customer, Price, Product, ProductImage, Sale, SaleLine, SaleTender, StockLevel
from syncapi.pos.sql import rows as r
from syncapi.pos.sql.common import SqlGatewayBase, chunks, database_errors
from syncapi.pos.sql.times import comparable_time, later


class KeyReads(SqlGatewayBase):
    """The gateway's reads by key."""

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
        with database_errors(read), self.engine.connect() as connection:
            for chunk in chunks(keys):
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
            changed_at = later(latest.c.at, comparable_time(products.c.updated_at))
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
        found = self._by_keys("read products", skus, str, query, r.products_from)
        return sorted(found, key=lambda product: product.sku)

    def get_style(self, parent_skus: Iterable[str]) -> list[Product]:
        """Every variant of these styles, by SKU."""
        products = m.Product.__table__
        query = self._product_query(lambda chunk: products.c.parent_sku.in_(chunk))
        found = self._by_keys("read styles", parent_skus, str, query, r.products_from)
        return sorted(found, key=lambda product: product.sku)

    def get_images(self, skus: Iterable[str]) -> list[ProductImage]:
        """All images of these products, by SKU then position."""
        images = m.ProductImage.__table__
        found = self._by_keys(
            "read images",
            skus,
            str,
            lambda chunk: select(images).where(images.c.sku.in_(chunk)),
            lambda _connection, rows: [r.image(row) for row in rows],
        )
        return sorted(found, key=lambda image: (image.sku, image.position))

    def get_stock(self, skus: Iterable[str], *, locations: Iterable[str] | None = None) -> list[StockLevel]:
        """Stock of these SKUs at `locations` (default: this gateway's location), by SKU then location."""
        stock = m.Stock.__table__
        at = self.stock_locations(locations)
        found = self._by_keys(
            "read stock",
            skus,
            str,
            lambda chunk: select(stock).where(stock.c.sku.in_(chunk), stock.c.location_code.in_(at)),
            lambda _connection, rows: [r.stock(row) for row in rows],
        )
        return sorted(found, key=lambda level: (level.sku, level.location_code))

    def get_prices(self, skus: Iterable[str]) -> list[Price]:
        """Prices of these SKUs, by SKU."""
        products = m.Product.__table__
        found = self._by_keys(
            "read prices",
            skus,
            str,
            lambda chunk: select(*r.PRICE_COLUMNS).where(products.c.sku.in_(chunk)),
            lambda _connection, rows: [r.price(row) for row in rows],
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
            lambda _connection, rows: [r.category(row) for row in rows],
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
            lambda _connection, rows: [r.customer(row) for row in rows],
        )
        return sorted(found, key=lambda customer: customer.id)

    def find_sale(self, magento_order_id: int) -> Sale | None:
        """The sale written for this Magento order, with its lines."""
        sales = m.Sale.__table__
        lines = m.SaleLine.__table__
        magento_order_id = validation.valid_magento_id(magento_order_id, "find sale")
        with database_errors("find sale"), self.engine.connect() as connection:
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
