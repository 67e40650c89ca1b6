"""The POS gateway: everything the sync jobs read from and write to a POS, and nothing else.

A retailer with their own POS implements `PosGateway` over it; `syncapi.pos.sql.SqlPosGateway` is the
implementation for the reference tables. Only the plain frozen dataclasses below cross the interface.

What every implementation must guarantee:

- **Changed-since reads** (`changed_*`) return rows in a stable order, `(updated_at, key)` ascending, at most
  `limit` at a time, starting strictly after the `Cursor` given (None: from the beginning, which is how a full
  run reads everything). Rows sharing an `updated_at` are never skipped, whatever the batch boundaries, because
  the cursor holds the key of the last row as well as its time. Each `Batch` says whether more rows follow and
  carries two cursors: `cursor`, to read the next batch of this run, and `checkpoint`, to store for the next run.
  The checkpoint trails the newest rows by `COMMIT_SETTLE_S`, so a row whose transaction committed after a later
  row had been read (its `updated_at` being older) is read again next run instead of being missed. Readers must
  therefore tolerate seeing a row again; the push jobs skip unchanged records anyway.
- **Counts** (`count_*`) say how many rows a changed-since read from the beginning returns; a full push
  compares them with what it read and fails when it read fewer (`PosIncompleteReadError`).
- **Reads by key** (`get_*`) return the rows found, in key order; keys not in the POS are left out.
- **Writes are keyed on Magento ids and idempotent.** Writing a Magento record the POS already holds returns the
  existing POS id with `created=False` and changes nothing, however many times or however concurrently it is
  delivered. A sale and the stock it lowers are written in one transaction: either both land or neither does.
- **Errors** (`syncapi.pos.errors`): `PosValidationError` / `PosConflictError` for bad or clashing data
  (permanent: nothing was written, do not retry); `PosUnavailableError` when the POS cannot be reached
  (transient: nothing was written, retry later).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Generic, Protocol, TypeVar, runtime_checkable

from syncapi.pos.cancellation import SaleCancellation
from syncapi.pos.errors import PosValidationError
from syncapi.pos.pricing import PricingReads
from syncapi.pos.translations import TranslationReads
from syncapi.pos.written import (  # noqa: F401 - re-exported: the gateway's interface names them
    CREDIT_NOTE_CANCELED,
    CREDIT_NOTE_OPEN,
    CREDIT_NOTE_REFUNDED,
    CREDIT_NOTE_STATUSES,
    DEFAULT_PAYMENT_METHOD,
    GIFT_WRAPPING_SKU,
    INVOICE_CANCELED,
    INVOICE_OPEN,
    INVOICE_PAID,
    INVOICE_STATUSES,
    SALE_COMPLETED,
    SALE_VOIDED,
    SERVICE_SKUS,
    TENDER_GIFT_CARD,
    TENDER_REWARD_POINTS,
    TENDER_STORE_CREDIT,
    TENDER_WEB_ORDERS,
    CategoryIn,
    CreditNoteIn,
    CustomerIn,
    InvoiceIn,
    Number,
    SaleIn,
    SaleLineIn,
    SaleTenderIn,
    WriteResult,
)

#: Rows per batch of a changed-since read when the caller does not say.
DEFAULT_BATCH_SIZE = 500
#: Seconds by which a batch's checkpoint trails the newest row it read: longer than any POS write transaction
#: (plus clock differences between the machines writing the POS), so late commits are read next run.
COMMIT_SETTLE_S = 60.0
T = TypeVar("T")


# --- cursors and batches -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A position in a changed-since read: after the row with this `updated_at` and `key`.

    `key` None means "from the first row with this `updated_at`" (inclusive): the form checkpoints take.
    """

    updated_at: datetime
    key: str | int | None = None

    def __post_init__(self) -> None:
        moment = self.updated_at
        object.__setattr__(
            self, "updated_at", moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        )

    def encode(self) -> str:
        """The cursor as a short string, for storing as a watermark."""
        return json.dumps({"updated_at": self.updated_at.isoformat(), "key": self.key}, separators=(",", ":"))

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """The cursor `encode()` gave; raises `PosValidationError` on anything else."""
        try:
            data = json.loads(token)
            key = data["key"]
            if key is not None and (isinstance(key, bool) or not isinstance(key, str | int)):
                raise TypeError(f"key {key!r}")
            return cls(datetime.fromisoformat(data["updated_at"]), key)
        except (ValueError, KeyError, TypeError) as exc:
            raise PosValidationError(f"not a POS cursor: {token!r} ({exc})") from None


@dataclass(frozen=True)
class Batch(Generic[T]):
    """One batch of a changed-since read."""

    items: tuple[T, ...]
    #: Where the next batch of this run starts (the input cursor when nothing was read).
    cursor: Cursor | None
    #: What to store for the next run: `cursor`, moved back to `COMMIT_SETTLE_S` before the read when newer.
    checkpoint: Cursor | None
    #: True when rows after `cursor` were already there at read time.
    has_more: bool


def iter_batches(
    read: Callable[[Cursor | None, int], Batch[T]], after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE
) -> Iterator[Batch[T]]:
    """Every batch of `read` (e.g. `gateway.changed_products`) after `after`, until none is left."""
    while True:
        batch = read(after, limit)
        yield batch
        if not batch.has_more:
            return
        after = batch.cursor


# --- what the POS hands out ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductAttribute:
    """A dynamic attribute of a product: a Magento attribute code and its value."""

    code: str
    value: str


@dataclass(frozen=True)
class Product:
    """A product as the POS holds it. Variants of one style share `parent_sku` (None for a plain product)."""

    sku: str
    parent_sku: str | None
    name: str
    description: str | None
    long_description_html: str | None
    category_id: int | None
    colour: str | None
    size: str | None
    retail_price: Decimal
    sale_price: Decimal | None
    attribute_set: str
    internet_active: bool
    #: The product's dynamic attributes, by code.
    attributes: tuple[ProductAttribute, ...]
    #: The later of the product's and its attributes' last change.
    updated_at: datetime

    def attribute_values(self) -> dict[str, str]:
        """The dynamic attributes as `{code: value}`."""
        return {attribute.code: attribute.value for attribute in self.attributes}


@dataclass(frozen=True)
class ProductImage:
    """An image of a product with its bytes; `position` 0 is the main image."""

    id: int
    sku: str
    position: int
    filename: str
    content: bytes = field(repr=False)
    updated_at: datetime

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes: what tells a changed image from one already uploaded."""
        return hashlib.sha256(self.content).hexdigest()

    @property
    def media_type(self) -> str:
        """The MIME type implied by the file name (`image/png`, `image/jpeg`, ...)."""
        return mimetypes.guess_type(self.filename)[0] or "application/octet-stream"


@dataclass(frozen=True)
class StockLevel:
    """Units on hand of a product at a location."""

    sku: str
    location_code: str
    on_hand: Decimal
    updated_at: datetime


@dataclass(frozen=True)
class Price:
    """A product's prices; `sale_price` None: no sale price (remove any); its days inclusive, None: open."""

    sku: str
    parent_sku: str | None
    retail_price: Decimal
    sale_price: Decimal | None
    internet_active: bool
    updated_at: datetime
    sale_price_from: date | None = None
    sale_price_to: date | None = None


@dataclass(frozen=True)
class Category:
    """A POS category; `magento_id` is None until it has been pushed to or imported from Magento."""

    id: int
    parent_id: int | None
    name: str
    magento_id: int | None
    updated_at: datetime


@dataclass(frozen=True)
class Customer:
    """A POS customer; `email` is lower-case; `magento_id` None until linked to a Magento customer."""

    id: int
    email: str
    first_name: str
    last_name: str
    phone: str | None
    magento_id: int | None
    updated_at: datetime
    customer_group: str | None = None  # a Magento group code; None: Magento's group is left as it is


@dataclass(frozen=True)
class SaleLine:
    """A line of a written sale; `line_total` includes its tax (docs/money.md)."""

    sku: str
    qty: Decimal
    unit_price: Decimal
    discount: Decimal
    tax: Decimal
    line_total: Decimal
    tax_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class SaleTender:
    """How much of a sale was paid with one tender (`web orders`, `store credit`, ...)."""

    tender_type: str
    amount: Decimal


@dataclass(frozen=True)
class Sale:
    """A sale written to the POS."""

    id: int
    magento_order_id: int | None
    magento_increment_id: str | None
    customer_id: int
    location_code: str
    tender_type: str
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    tax: Decimal
    grand_total: Decimal
    created_at: datetime
    lines: tuple[SaleLine, ...]
    currency: str | None = None
    order_currency: str | None = None
    order_grand_total: Decimal | None = None
    base_to_order_rate: Decimal | None = None
    status: str = SALE_COMPLETED
    note: str | None = None
    tenders: tuple[SaleTender, ...] = ()


@dataclass(frozen=True)
class Invoice:
    """An invoice written to the POS, with what was paid against it."""

    id: int
    magento_invoice_id: int | None
    magento_order_id: int | None
    sale_id: int | None
    customer_id: int
    grand_total: Decimal
    #: What was paid against it, voided payments left out.
    paid: Decimal
    created_at: datetime
    status: str = INVOICE_PAID
    currency: str | None = None
    order_currency: str | None = None
    order_grand_total: Decimal | None = None


@dataclass(frozen=True)
class CreditNote:
    """A credit note written to the POS, with what was refunded against it."""

    id: int
    magento_creditmemo_id: int | None
    magento_order_id: int | None
    magento_invoice_id: int | None
    invoice_id: int | None
    customer_id: int
    grand_total: Decimal
    refunded: Decimal
    created_at: datetime
    status: str = CREDIT_NOTE_REFUNDED
    currency: str | None = None
    #: True when a refund of it went through the payment gateway.
    online: bool = False


# --- the interface ------------------------------------------------------------------------------------------


@runtime_checkable
class PosGateway(PricingReads, TranslationReads, Protocol):
    """What the sync jobs need from a POS. See the module docstring for the guarantees behind each method."""

    #: The POS location whose stock is pushed and where web sales are written (`POS_LOCATION_CODE`).
    location_code: str

    # Changed-since reads: stable order (updated_at, key), `limit` rows at most, strictly after `after`.

    def changed_products(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[Product]:
        """Products changed after `after` (a change to a dynamic attribute counts), keyed by SKU."""
        ...

    def changed_images(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[ProductImage]:
        """Product images changed after `after`, content included, keyed by image id."""
        ...

    def changed_stock(
        self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE, *, locations: Iterable[str] | None = None
    ) -> Batch[StockLevel]:
        """Stock at `locations` (default: `location_code`) changed after `after`, keyed by SKU (a SKU changed at
        several locations at the same moment may come once)."""
        ...

    def changed_prices(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[Price]:
        """Prices of products changed after `after`, keyed by SKU."""
        ...

    def changed_categories(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[Category]:
        """Categories changed after `after`, keyed by id."""
        ...

    def changed_customers(self, after: Cursor | None = None, limit: int = DEFAULT_BATCH_SIZE) -> Batch[Customer]:
        """Customers changed after `after`, keyed by id."""
        ...

    # Row counts, to check that a read from the beginning found every row.

    def count_products(self) -> int:
        """How many products the POS holds (what a full `changed_products` or `changed_prices` read returns)."""
        ...

    def count_images(self) -> int:
        """How many product images the POS holds."""
        ...

    def count_stock(self, *, locations: Iterable[str] | None = None) -> int:
        """How many SKUs have a stock row at one of `locations` (default: `location_code`)."""
        ...

    def count_categories(self) -> int:
        """How many categories the POS holds."""
        ...

    def count_customers(self) -> int:
        """How many customers the POS holds."""
        ...

    # Reads by key, for pushes on demand: the rows found, in key order.

    def get_products(self, skus: Iterable[str]) -> list[Product]:
        """The products with these SKUs."""
        ...

    def get_style(self, parent_skus: Iterable[str]) -> list[Product]:
        """Every variant of these styles (products whose `parent_sku` is one of them), by SKU."""
        ...

    def get_images(self, skus: Iterable[str]) -> list[ProductImage]:
        """All images of these products, by SKU then position."""
        ...

    def get_stock(self, skus: Iterable[str], *, locations: Iterable[str] | None = None) -> list[StockLevel]:
        """Stock of these SKUs at `locations` (default: `location_code`), by SKU then location (a SKU with no
        stock row at a location is left out there: 0 on hand)."""
        ...

    def get_prices(self, skus: Iterable[str]) -> list[Price]:
        """Prices of these SKUs."""
        ...

    def get_categories(self, ids: Iterable[int]) -> list[Category]:
        """The categories with these POS ids."""
        ...

    def get_customers(self, ids: Iterable[int]) -> list[Customer]:
        """The customers with these POS ids."""
        ...

    def find_customer(self, *, email: str | None = None, magento_id: int | None = None) -> Customer | None:
        """The customer linked to `magento_id`, else the one with `email`; None when neither matches."""
        ...

    def find_sale(self, magento_order_id: int) -> Sale | None:
        """The sale written for this Magento order, with its lines."""
        ...

    def find_invoice(self, magento_invoice_id: int) -> Invoice | None:
        """The invoice written for this Magento invoice."""
        ...

    def find_credit_note(self, magento_creditmemo_id: int) -> CreditNote | None:
        """The credit note written for this Magento credit memo."""
        ...

    # Writes keyed on Magento ids: idempotent, all-or-nothing.

    def write_sale(self, sale: SaleIn) -> WriteResult:
        """Write the order as a sale with its lines, its customer found or created, lowering stock at
        `location_code` in the same transaction, and link invoices of the order written before it."""
        ...

    def write_invoice(self, invoice: InvoiceIn) -> WriteResult:
        """Write the invoice and its payment; linked to the order's sale if written (else when it is).

        Writing it again with a later status moves it on: `open` -> `paid` records the payment, -> `canceled`
        voids any payment recorded; a canceled invoice stays canceled."""
        ...

    def write_credit_note(self, credit_note: CreditNoteIn) -> WriteResult:
        """Write the credit note and its refund; linked to its invoice if written (else when it is).

        Writing it again with a later status moves it on: `open` -> `refunded` records the refund,
        `open` -> `canceled` records none."""
        ...

    def ensure_customer(self, customer: CustomerIn) -> WriteResult:
        """Find the customer by `magento_id`, else by email (linking `magento_id`), else create it."""
        ...

    def ensure_category(self, category: CategoryIn) -> WriteResult:
        """Find the category by `magento_id`, else by parent and name (linking `magento_id`), else create it."""
        ...

    def link_invoices_to_sale(self, magento_order_id: int) -> int:
        """Link the order's invoices written before its sale to the sale; the number linked."""
        ...

    def cancel_sale(self, magento_order_id: int, sold: Mapping[str, Decimal] | None) -> SaleCancellation | None:
        """Take back what a cancellation took off the order, once: `sold=None` voids the sale; else each SKU is
        brought down to what is `sold` now. Stock goes back at the sale's location; None when no sale."""
        ...

    def set_category_magento_id(self, category_id: int, magento_id: int) -> None:
        """Record the Magento id of a category pushed to Magento (not counted as a change of the category)."""
        ...

    def set_customer_magento_id(self, customer_id: int, magento_id: int) -> None:
        """Record the Magento id of a customer pushed to Magento (not counted as a change of the customer)."""
        ...
