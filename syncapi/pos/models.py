"""The reference POS database: the tables a retailer's own POS stands in for
(docs/pos-gateway.md#the-reference-pos-database).

Money and quantities are exact decimals (NUMERIC(12,4)). Times are UTC: `UtcDateTime` hands out timezone-aware
datetimes on every backend and stores naive UTC where the database has no time zones (SQLite).
`updated_at` is set on insert and on every ORM update and is indexed, because changed-since reads use it;
rows written by other tools get the database's current time on insert (the server default) and must set it
themselves on update.

A sale's `customer_id` is required: a guest order gets a POS customer found or created by its email.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
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
    false,
    text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from syncapi.db import NAMING_CONVENTION
from syncapi.pos.gateway import CREDIT_NOTE_REFUNDED, INVOICE_PAID, SALE_COMPLETED, TENDER_WEB_ORDERS

#: Digits and decimal places of money and quantity columns.
MONEY_PRECISION = 12
MONEY_SCALE = 4
#: Largest image a row holds, in bytes (sizes the BLOB type on MySQL/MariaDB).
IMAGE_MAX_BYTES = 16 * 1024 * 1024 - 1

SKU_LENGTH = 64
LOCATION_LENGTH = 32
NAME_LENGTH = 255
CODE_LENGTH = 64
CURRENCY_LENGTH = 3
STATUS_LENGTH = 16
#: Currency rates keep more places than money (Magento stores `base_to_order_rate` as decimal(20,4) and up).
RATE_PRECISION = 18
RATE_SCALE = 8

#: The tier-price group that means every customer group, as Magento's tier-price API names it.
ALL_GROUPS = "ALL GROUPS"


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


def Rate() -> Numeric:
    """An exact decimal column for currency rates and tax percentages."""
    return Numeric(RATE_PRECISION, RATE_SCALE, asdecimal=True)


def _zero() -> Mapped[Decimal]:
    """A NOT NULL amount that is 0 unless given, in the ORM and for plain-SQL inserts alike."""
    return mapped_column(Money(), nullable=False, default=Decimal(0), server_default=text("0"))


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
    #: When `sale_price` starts and stops applying (null: open-ended).
    sale_price_from: Mapped[date | None] = mapped_column(Date)
    sale_price_to: Mapped[date | None] = mapped_column(Date)
    attribute_set: Mapped[str] = mapped_column(
        String(CODE_LENGTH), nullable=False, default="Default", server_default="Default"
    )
    internet_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class ProductImage(PosBase):
    """An image of a product, its bytes included; `position` 0 is the main image."""

    __tablename__ = "product_images"
    __table_args__ = (UniqueConstraint("sku", "position"), Index(None, "updated_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default=text("0"))
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
    on_hand: Mapped[Decimal] = _zero()
    updated_at: Mapped[datetime] = _updated_at()


class Customer(PosBase):
    """A customer account; `email` is stored lower-case and is unique, `magento_id` links the Magento customer."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("email"), UniqueConstraint("magento_id"), Index(None, "updated_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    first_name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False, default="", server_default="")
    last_name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False, default="", server_default="")
    phone: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    magento_id: Mapped[int | None] = mapped_column(BigInteger)
    #: Magento customer group code (null: the default group).
    customer_group: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    #: What did not fit a column, in full (e.g. a telephone longer than `phone` holds).
    note: Mapped[str | None] = mapped_column(Text)
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
    tender_type: Mapped[str] = mapped_column(
        String(CODE_LENGTH), nullable=False, default=TENDER_WEB_ORDERS, server_default=TENDER_WEB_ORDERS
    )
    subtotal: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    discount: Mapped[Decimal] = _zero()
    shipping: Mapped[Decimal] = _zero()
    tax: Mapped[Decimal] = _zero()
    grand_total: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    #: ISO code of the amounts above: Magento's base currency (null on rows written before it was recorded).
    currency: Mapped[str | None] = mapped_column(String(CURRENCY_LENGTH))
    #: The currency the customer saw, its grand total, and Magento's base-to-order rate.
    order_currency: Mapped[str | None] = mapped_column(String(CURRENCY_LENGTH))
    order_grand_total: Mapped[Decimal | None] = mapped_column(Money())
    base_to_order_rate: Mapped[Decimal | None] = mapped_column(Rate())
    status: Mapped[str] = mapped_column(
        String(STATUS_LENGTH), nullable=False, default=SALE_COMPLETED, server_default=SALE_COMPLETED
    )
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: What did not fit a column, in full.
    note: Mapped[str | None] = mapped_column(Text)
    #: When the sale was made (the Magento order's creation time for web orders).
    created_at: Mapped[datetime] = _created_at()
    #: When the sale was written into the POS.
    recorded_at: Mapped[datetime] = _created_at()


class SaleLine(PosBase):
    """One line of a sale: `line_total` = qty * unit_price - discount + tax (+ the discount's tax compensation
    on tax-inclusive catalogues): what the customer paid for the line (docs/money.md)."""

    __tablename__ = "sale_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id", ondelete="CASCADE"), nullable=False, index=True)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), nullable=False, index=True)
    qty: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    discount: Mapped[Decimal] = _zero()
    tax: Mapped[Decimal] = _zero()
    #: The line's tax rate in percent (8.25 for 8.25 %), for VAT returns.
    tax_percent: Mapped[Decimal] = mapped_column(Rate(), nullable=False, default=Decimal(0), server_default=text("0"))
    line_total: Mapped[Decimal] = mapped_column(Money(), nullable=False)


class SaleTender(PosBase):
    """How a sale was paid: `web orders` for what the customer paid, others for store credit, gift cards,
    reward points that Magento took instead."""

    __tablename__ = "sale_tenders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id", ondelete="CASCADE"), nullable=False, index=True)
    tender_type: Mapped[str] = mapped_column(
        String(CODE_LENGTH), nullable=False, default=TENDER_WEB_ORDERS, server_default=TENDER_WEB_ORDERS
    )
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)


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
    currency: Mapped[str | None] = mapped_column(String(CURRENCY_LENGTH))
    order_currency: Mapped[str | None] = mapped_column(String(CURRENCY_LENGTH))
    order_grand_total: Mapped[Decimal | None] = mapped_column(Money())
    status: Mapped[str] = mapped_column(
        String(STATUS_LENGTH), nullable=False, default=INVOICE_PAID, server_default=INVOICE_PAID
    )
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
    #: When the invoice it paid was canceled (the payment no longer counts).
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


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
    currency: Mapped[str | None] = mapped_column(String(CURRENCY_LENGTH))
    status: Mapped[str] = mapped_column(
        String(STATUS_LENGTH), nullable=False, default=CREDIT_NOTE_REFUNDED, server_default=CREDIT_NOTE_REFUNDED
    )
    created_at: Mapped[datetime] = _created_at()


class CreditNoteLine(PosBase):
    """A line of a credit note: what was refunded, and how much of it went back into stock where."""

    __tablename__ = "credit_note_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_note_id: Mapped[int] = mapped_column(
        ForeignKey("credit_notes.id", ondelete="CASCADE"), nullable=False, index=True
    )
    sku: Mapped[str] = mapped_column(String(SKU_LENGTH), nullable=False)
    qty: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    returned_qty: Mapped[Decimal] = _zero()
    location_code: Mapped[str | None] = mapped_column(String(LOCATION_LENGTH))


class Refund(PosBase):
    """Money paid back to a customer's account against a credit note."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_note_id: Mapped[int] = mapped_column(ForeignKey("credit_notes.id"), nullable=False, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    method: Mapped[str] = mapped_column(String(CODE_LENGTH), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    #: True when the money went back through the payment gateway, False when refunded offline.
    online: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())


class Fulfilment(PosBase):
    """What the shop shipped of a web order's sale; each becomes one Magento shipment."""

    __tablename__ = "fulfilments"
    __table_args__ = (UniqueConstraint("magento_shipment_id"), Index(None, "updated_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id"), nullable=False, index=True)
    carrier: Mapped[str | None] = mapped_column(String(CODE_LENGTH))
    tracking_number: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    magento_shipment_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()


class FulfilmentLine(PosBase):
    """A quantity of one SKU in a fulfilment."""

    __tablename__ = "fulfilment_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fulfilment_id: Mapped[int] = mapped_column(
        ForeignKey("fulfilments.id", ondelete="CASCADE"), nullable=False, index=True
    )
    sku: Mapped[str] = mapped_column(String(SKU_LENGTH), nullable=False)
    qty: Mapped[Decimal] = mapped_column(Money(), nullable=False)


class PriceLevel(PosBase):
    """A quantity or customer-group price of a product (a Magento tier price)."""

    __tablename__ = "price_levels"
    __table_args__ = (UniqueConstraint("sku", "customer_group", "min_qty"), Index(None, "updated_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku", ondelete="CASCADE"), nullable=False)
    customer_group: Mapped[str] = mapped_column(
        String(CODE_LENGTH), nullable=False, default=ALL_GROUPS, server_default=ALL_GROUPS
    )
    min_qty: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal(1), server_default=text("1"))
    price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    updated_at: Mapped[datetime] = _updated_at()


class ProductTranslation(PosBase):
    """A product's name and descriptions for one Magento store view."""

    __tablename__ = "product_translations"
    __table_args__ = (UniqueConstraint("sku", "store_code"), Index(None, "updated_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku", ondelete="CASCADE"), nullable=False)
    store_code: Mapped[str] = mapped_column(String(CODE_LENGTH), nullable=False)
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str | None] = mapped_column(Text)
    long_description_html: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = _updated_at()
