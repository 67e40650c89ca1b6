"""Rows of the reference tables → the gateway's dataclasses (`Product`, `StockLevel`, `Price`, …)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from syncapi.pos import models as m
from syncapi.pos import validation
from syncapi.pos.gateway import Category, Customer, Price, Product, ProductAttribute, ProductImage, StockLevel
from syncapi.pos.sql.common import chunks

PRICE_COLUMNS = (
    m.Product.__table__.c.sku,
    m.Product.__table__.c.parent_sku,
    m.Product.__table__.c.retail_price,
    m.Product.__table__.c.sale_price,
    m.Product.__table__.c.internet_active,
    m.Product.__table__.c.updated_at,
    m.Product.__table__.c.sale_price_from,
    m.Product.__table__.c.sale_price_to,
)


def money(value: Any) -> Decimal:
    return Decimal(value).quantize(validation.PLACES) if value is not None else Decimal(0)


def product(row: Any, attributes: tuple[ProductAttribute, ...], changed_at: datetime) -> Product:
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


def image(row: Any) -> ProductImage:
    return ProductImage(row.id, row.sku, row.position, row.filename, bytes(row.content), row.updated_at)


def products_from(connection, rows: Sequence[Any]) -> list[Product]:
    """Products for `rows` (with a `changed_at` column), their attributes loaded in one query per chunk."""
    attributes = m.ProductAttribute.__table__
    by_sku: dict[str, list[ProductAttribute]] = {}
    for chunk in chunks(row.sku for row in rows):
        found = connection.execute(
            select(attributes.c.sku, attributes.c.code, attributes.c.value)
            .where(attributes.c.sku.in_(chunk))
            .order_by(attributes.c.sku, attributes.c.code)
        )
        for sku, code, value in found:
            by_sku.setdefault(sku, []).append(ProductAttribute(code, value))
    return [product(row, tuple(by_sku.get(row.sku, ())), row.changed_at) for row in rows]


def stock(row: Any) -> StockLevel:
    return StockLevel(row.sku, row.location_code, row.on_hand, row.updated_at)


def price(row: Any) -> Price:
    return Price(
        row.sku,
        row.parent_sku,
        row.retail_price,
        row.sale_price,
        bool(row.internet_active),
        row.updated_at,
        row.sale_price_from,
        row.sale_price_to,
    )


def category(row: Any) -> Category:
    return Category(row.id, row.parent_id, row.name, row.magento_id, row.updated_at)


def customer(row: Any) -> Customer:
    return Customer(
        row.id,
        row.email,
        row.first_name,
        row.last_name,
        row.phone,
        row.magento_id,
        row.updated_at,
        row.customer_group,
    )
