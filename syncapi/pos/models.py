"""The reference POS database: the tables a retailer's own POS stands in for (CONTRACT §5).

Money and quantities are exact decimals (NUMERIC(12,4)). Times are UTC: `UtcDateTime` hands out timezone-aware
datetimes on every backend and stores naive UTC where the database has no time zones (SQLite).
`updated_at` is set on insert and on every ORM update and is indexed, because changed-since reads use it;
rows written by other tools get the database's current time on insert (the server default) and must set it
themselves on update.

A sale's `customer_id` is required: a guest order gets a POS customer found or created by its email.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from syncapi.db import NAMING_CONVENTION
from syncapi.pos.gateway import TENDER_WEB_ORDERS

#: Digits and decimal places of money and quantity columns.
MONEY_PRECISION = 12
MONEY_SCALE = 4
#: Largest image a row holds, in bytes (sizes the BLOB type on MySQL/MariaDB).
IMAGE_MAX_BYTES = 16 * 1024 * 1024 - 1

SKU_LENGTH = 64
LOCATION_LENGTH = 32
NAME_LENGTH = 255
CODE_LENGTH = 64


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """A timestamp that is always UTC and timezone-aware in Python; naive values are taken to be UTC."""

    impl = DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if dialect.name in ("sqlite", "mysql", "mariadb"):
            # These store no zone: keep naive UTC so text and value comparisons order correctly.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def Money() -> Numeric:
    """An exact decimal column for amounts and quantities."""
    return Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True)


class PosBase(DeclarativeBase):
    """Declarative base of the reference POS tables; its metadata is what the POS migrations manage."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class utc_now(FunctionElement):
    """The database's current UTC time, written the way `UtcDateTime` stores times on each backend."""

    type = UtcDateTime()
    inherit_cache = True


@compiles(utc_now)
def _utc_now_default(_element, _compiler, **_kw) -> str:
    return "CURRENT_TIMESTAMP"


@compiles(utc_now, "sqlite")
def _utc_now_sqlite(_element, _compiler, **_kw) -> str:
    # The same text the application writes (microseconds included): same-second rows must compare as equal.
    return "(strftime('%Y-%m-%d %H:%M:%f000', 'now'))"


@compiles(utc_now, "mysql")
@compiles(utc_now, "mariadb")
def _utc_now_mysql(_element, _compiler, **_kw) -> str:
    return "(UTC_TIMESTAMP(6))"


def _updated_at() -> Mapped[datetime]:
    return mapped_column(UtcDateTime(), nullable=False, default=utcnow, onupdate=utcnow, server_default=utc_now())


def _created_at() -> Mapped[datetime]:
    return mapped_column(UtcDateTime(), nullable=False, default=utcnow, server_default=utc_now())


class Category(PosBase):
    """A node of the POS category tree; `magento_id` links it to its Magento category once pushed or imported."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("magento_id"), Index(None, "updated_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    magento_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = _updated_at()


class Product(PosBase):
    """A sellable item; variants of one style share `parent_sku` and differ by `colour` and `size`."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("sku"), Index(None, "updated_at"), Index(None, "parent_sku"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(SKU_LENGTH), nullable=False)
    parent_sku: Mapped[str | None] = mapped_column(String(SKU_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    long_description_html: Mapped[str | None] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"), index=True)
    colour: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    size: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    retail_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    sale_price: Mapped[Decimal | None] = mapped_column(Money())
    attribute_set: Mapped[str] = mapped_column(String(CODE_LENGTH), nullable=False, default="Default")
    internet_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class ProductImage(PosBase):
    """An image of a product, its bytes included; `position` 0 is the main image."""

    __tablename__ = "product_images"
    __table_args__ = (UniqueConstraint("sku", "position"), Index(None, "updated_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    filename: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary(IMAGE_MAX_BYTES), nullable=False)
    updated_at: Mapped[datetime] = _updated_at()


class ProductAttribute(PosBase):
    """A dynamic attribute of a product: a Magento attribute code and its value (e.g. `material` = `wool`)."""

    __tablename__ = "product_attributes"
    __table_args__ = (UniqueConstraint("sku", "code"), Index(None, "updated_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku", ondelete="CASCADE"), nullable=False)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = _updated_at()


class Stock(PosBase):
    """Units on hand of a product at a location; negative when more was sold than was counted in."""

    __tablename__ = "stock"
    __table_args__ = (
        UniqueConstraint("sku", "location_code"),
        Index(None, "updated_at"),
        Index(None, "location_code", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku", ondelete="CASCADE"), nullable=False)
    location_code: Mapped[str] = mapped_column(String(LOCATION_LENGTH), nullable=False)
    on_hand: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal(0))
    updated_at: Mapped[datetime] = _updated_at()


class Customer(PosBase):
    """A customer account; `email` is stored lower-case and is unique, `magento_id` links the Magento customer."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("email"), UniqueConstraint("magento_id"), Index(None, "updated_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    first_name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False, default="")
    last_name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False, default="")
    phone: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    magento_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class Sale(PosBase):
    """A sale; web orders carry their Magento order id, which lands at most once (unique)."""

    __tablename__ = "sales"
    __table_args__ = (UniqueConstraint("magento_order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    magento_order_id: Mapped[int | None] = mapped_column(BigInteger)
    magento_increment_id: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    location_code: Mapped[str] = mapped_column(String(LOCATION_LENGTH), nullable=False)
    tender_type: Mapped[str] = mapped_column(String(CODE_LENGTH), nullable=False, default=TENDER_WEB_ORDERS)
    subtotal: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    discount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal(0))
    shipping: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal(0))
    tax: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal(0))
    grand_total: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    #: When the sale was made (the Magento order's creation time for web orders).
    created_at: Mapped[datetime] = _created_at()
    #: When the sale was written into the POS.
    recorded_at: Mapped[datetime] = _created_at()


class SaleLine(PosBase):
    """One line of a sale: `line_total` = qty * unit_price - discount (+ tax where the store adds it)."""

    __tablename__ = "sale_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id", ondelete="CASCADE"), nullable=False, index=True)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), nullable=False, index=True)
    qty: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    discount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal(0))
    tax: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal(0))
    line_total: Mapped[Decimal] = mapped_column(Money(), nullable=False)


class Invoice(PosBase):
    """An invoice of a web order; `sale_id` is null until the order's sale is written, then linked."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("magento_invoice_id"), Index(None, "magento_order_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    magento_invoice_id: Mapped[int | None] = mapped_column(BigInteger)
    magento_order_id: Mapped[int | None] = mapped_column(BigInteger)
    sale_id: Mapped[int | None] = mapped_column(ForeignKey("sales.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    grand_total: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class Payment(PosBase):
    """Money received on a customer's account against an invoice."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), nullable=False, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    method: Mapped[str] = mapped_column(String(CODE_LENGTH), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class CreditNote(PosBase):
    """A credit note of a web order's credit memo; `invoice_id` is null until its invoice is written."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        UniqueConstraint("magento_creditmemo_id"),
        Index(None, "magento_order_id"),
        Index(None, "magento_invoice_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    magento_creditmemo_id: Mapped[int | None] = mapped_column(BigInteger)
    magento_order_id: Mapped[int | None] = mapped_column(BigInteger)
    magento_invoice_id: Mapped[int | None] = mapped_column(BigInteger)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    grand_total: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class Refund(PosBase):
    """Money paid back to a customer's account against a credit note."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_note_id: Mapped[int] = mapped_column(ForeignKey("credit_notes.id"), nullable=False, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    method: Mapped[str] = mapped_column(String(CODE_LENGTH), nullable=False)
    created_at: Mapped[datetime] = _created_at()
