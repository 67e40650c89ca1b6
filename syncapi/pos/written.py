"""What the service writes into a POS through the gateway (`syncapi.pos.gateway.PosGateway`): plain frozen
dataclasses, checked when they are built, and the values they use (tenders, document states).

`syncapi.pos.gateway` re-exports every name here, so implementations import them from either module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from syncapi.pos.cancellation import CreditNoteLineIn

#: What a web order's sale is tendered as (docs/pos-gateway.md#the-reference-pos-database).
TENDER_WEB_ORDERS = "web orders"
#: Payment and refund method when the caller gives none.
DEFAULT_PAYMENT_METHOD = "web"
#: What else a web order can be paid with, besides what the customer paid (`sale_tenders`; docs/money.md).
TENDER_STORE_CREDIT = "store credit"
TENDER_GIFT_CARD = "gift card"
TENDER_REWARD_POINTS = "reward points"
#: Document states, as the POS records them.
SALE_COMPLETED = "completed"
SALE_VOIDED = "voided"
INVOICE_OPEN = "open"
INVOICE_PAID = "paid"
INVOICE_CANCELED = "canceled"
INVOICE_STATUSES = (INVOICE_OPEN, INVOICE_PAID, INVOICE_CANCELED)
CREDIT_NOTE_OPEN = "open"
CREDIT_NOTE_REFUNDED = "refunded"
CREDIT_NOTE_CANCELED = "canceled"
CREDIT_NOTE_STATUSES = (CREDIT_NOTE_OPEN, CREDIT_NOTE_REFUNDED, CREDIT_NOTE_CANCELED)

#: A money amount or quantity as accepted by the writes: exact decimals, integers or decimal strings.
Number = Decimal | int | str


# --- what the service writes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerIn:
    """A customer to find or create. `email` is required; `magento_id` is None for a guest."""

    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str | None = None
    magento_id: int | None = None
    #: Kept on a new customer's `note`; validation adds the full value of any field cut to fit its column.
    note: str | None = None


@dataclass(frozen=True)
class CategoryIn:
    """A Magento category to find or create in the POS, under the POS category linked to `parent_magento_id`."""

    magento_id: int
    name: str
    parent_magento_id: int | None = None


#: The SKU of the sale line carrying an order's Adobe Commerce gift wrapping (docs/money.md): a service the POS
#: sells but does not stock. The POS product of that SKU is created on the first sale that needs it, not
#: internet-active, with no stock row.
GIFT_WRAPPING_SKU = "GIFT-WRAPPING"
#: Service lines (SKU: product name) a sale may carry without the POS knowing the SKU beforehand; they must
#: lower no stock (`SaleLineIn.stock` False).
SERVICE_SKUS = {GIFT_WRAPPING_SKU: "Gift wrapping"}


@dataclass(frozen=True)
class SaleLineIn:
    """One line of a sale. Amounts are positive: give Magento's negative `discount_amount` as its absolute value.

    `line_total` is what the customer paid for the line, tax included: qty x unit_price - discount + tax (+ the
    discount tax compensation of tax-inclusive catalogues). `stock` False: a virtual or downloadable item, or a
    service line (`SERVICE_SKUS`, e.g. gift wrapping), which lowers no stock.
    """

    sku: str
    qty: Number
    unit_price: Number
    line_total: Number
    discount: Number = 0
    tax: Number = 0
    tax_percent: Number = 0
    stock: bool = True


@dataclass(frozen=True)
class SaleTenderIn:
    """Part of what the customer owed, paid with one tender (`web orders`, `store credit`, ...)."""

    tender_type: str
    amount: Number


@dataclass(frozen=True)
class SaleIn:
    """A Magento order to write as a POS sale at `location_code` (None: the gateway's location); `created_at` naive
    means UTC."""

    magento_order_id: int
    customer: CustomerIn
    lines: tuple[SaleLineIn, ...]
    subtotal: Number
    #: What the customer owed, in `currency`: the sum of `tenders` (all of it `web orders` when none given).
    grand_total: Number
    discount: Number = 0
    shipping: Number = 0
    tax: Number = 0
    magento_increment_id: str | None = None
    created_at: datetime | None = None
    tender_type: str = TENDER_WEB_ORDERS
    currency: str | None = None
    order_currency: str | None = None
    order_grand_total: Number | None = None
    base_to_order_rate: Number | None = None
    tenders: tuple[SaleTenderIn, ...] = ()
    note: str | None = None
    #: The POS location the sale is written at and its stock taken from (`ORDER_LOCATIONS`).
    location_code: str | None = None


@dataclass(frozen=True)
class InvoiceIn:
    """A Magento invoice to write as a POS invoice plus a payment of `grand_total` on the customer's account."""

    magento_invoice_id: int
    magento_order_id: int
    customer: CustomerIn
    grand_total: Number
    payment_method: str = DEFAULT_PAYMENT_METHOD
    created_at: datetime | None = None
    #: `paid` records a payment; `open` none yet; `canceled` none, and voids one recorded earlier.
    status: str = INVOICE_PAID
    currency: str | None = None
    order_currency: str | None = None
    order_grand_total: Number | None = None


@dataclass(frozen=True)
class CreditNoteIn:
    """A Magento credit memo to write as a POS credit note plus a refund of `grand_total`."""

    magento_creditmemo_id: int
    magento_order_id: int
    customer: CustomerIn
    grand_total: Number
    magento_invoice_id: int | None = None
    refund_method: str = DEFAULT_PAYMENT_METHOD
    created_at: datetime | None = None
    #: `refunded` records a refund; `open` none yet; `canceled` none.
    status: str = CREDIT_NOTE_REFUNDED
    currency: str | None = None
    #: True when the money went back through the payment gateway.
    refund_online: bool = False
    lines: tuple[CreditNoteLineIn, ...] = ()


@dataclass(frozen=True)
class WriteResult:
    """Where a write landed: the POS id, and whether this call created it (False: it was already there)."""

    pos_id: int
    created: bool
