"""Checks and normalises what the service writes to a POS, before any database work.

Text with a NUL character or a lone surrogate (which JSON can carry and no POS column stores faithfully) is a
problem like any other: the record is refused with the field named, never written and never retried.

Each function returns a normalised copy (exact 4-place decimals, lower-case email, UTC times) or raises
`PosValidationError` naming every problem found. Checks that need the database (unknown SKUs) are the gateway's.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from syncapi.pos.cancellation import CreditNoteLineIn
from syncapi.pos.errors import PosValidationError
from syncapi.pos.gateway import (
    CREDIT_NOTE_STATUSES,
    INVOICE_STATUSES,
    TENDER_WEB_ORDERS,
    CategoryIn,
    CreditNoteIn,
    CustomerIn,
    InvoiceIn,
    SaleIn,
    SaleLineIn,
    SaleTenderIn,
)
from syncapi.textcheck import text_problem

#: Decimal places kept for money and quantities (the columns are NUMERIC(12,4)).
PLACES = Decimal("0.0001")
#: Largest absolute amount a NUMERIC(12,4) column holds.
MAX_AMOUNT = Decimal("99999999.9999")
#: Longest text a name, code or phone column holds.
MAX_NAME_CHARS = 255
MAX_CODE_CHARS = 64
#: Longest location code (`locations.code`, `stock.location_code`).
MAX_LOCATION_CHARS = 32
#: Places of currency rates and tax percentages (the columns are NUMERIC(18,8)).
RATE_PLACES = Decimal("0.00000001")
CENT = Decimal("0.01")
HALF_CENT = Decimal("0.005")
#: Half of the last place a sale line's unit price keeps (`sale_lines.unit_price` holds 4 places).
UNIT_ROUNDING = Decimal("0.00005")


class _Problems:
    """Collects problems so one error can name them all."""

    def __init__(self, what: str):
        self.what = what
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_any(self) -> None:
        if self.items:
            raise PosValidationError(f"{self.what}: {'; '.join(self.items)}")


def _require_type(value: object, expected: type) -> None:
    if not isinstance(value, expected):
        raise PosValidationError(f"expected a {expected.__name__}, got {type(value).__name__}")


def _decimal(value: object, name: str, problems: _Problems, *, positive: bool = False) -> Decimal:
    """`value` as a 4-place Decimal; floats are taken by their shortest repr, never by their binary value."""
    try:
        if isinstance(value, bool) or value is None:
            raise TypeError
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError
            value = repr(value)
        number = Decimal(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
        if not number.is_finite():
            raise ValueError
    except (TypeError, ValueError, InvalidOperation):
        problems.add(f"{name} must be a number, got {value!r}")
        return Decimal(0)
    number = number.quantize(PLACES, rounding=ROUND_HALF_UP)
    if abs(number) > MAX_AMOUNT:
        problems.add(f"{name} {number} is larger than {MAX_AMOUNT}")
    elif positive and number <= 0:
        problems.add(f"{name} must be more than 0, got {number}")
    elif number < 0:
        problems.add(f"{name} must be 0 or more, got {number}")
    return number


def _optional_decimal(value: object, name: str, problems: _Problems) -> Decimal | None:
    return None if value is None else _decimal(value, name, problems)


def _rate(value: object, name: str, problems: _Problems) -> Decimal | None:
    """A currency rate or tax percentage: a number of 0 or more, kept to 8 places."""
    if value is None:
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        if not number.is_finite() or number < 0 or isinstance(value, bool):
            raise ValueError
    except (ValueError, InvalidOperation):
        problems.add(f"{name} must be a number of 0 or more, got {value!r}")
        return None
    return number.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def _currency(value: object, name: str, problems: _Problems) -> str | None:
    """An ISO 4217 code (three letters), upper-case; None stays None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
        problems.add(f"{name} must be a three-letter currency code, got {value!r}")
        return None
    return value.strip().upper()


def _status(value: object, name: str, allowed: tuple[str, ...], problems: _Problems) -> str:
    if value not in allowed:
        problems.add(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        return allowed[0]
    return value  # type: ignore[return-value]


def _magento_id(value: object, name: str, problems: _Problems, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        problems.add(f"{name} must be a positive whole number, got {value!r}")
        return None
    return value


def _text(value: object, name: str, problems: _Problems, *, max_chars: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        problems.add(f"{name} must be text, got {value!r}")
        return ""
    value = value.strip()
    problem = text_problem(value)
    if problem:
        problems.add(f"{name} {problem}")
    elif required and not value:
        problems.add(f"{name} is missing")
    elif len(value) > max_chars:
        problems.add(f"{name} is longer than {max_chars} characters")
    return value


def _fitted(value: object, name: str, problems: _Problems, *, max_chars: int, cut: list[str]) -> str:
    """Text cut to `max_chars`; when cut, `name: <full value>` is added to `cut` (kept in the record's note)."""
    text = _text(value, name, problems, max_chars=10**9)
    if len(text) > max_chars:
        cut.append(f"{name}: {text}")
        return text[:max_chars].rstrip()
    return text


def _moment(value: object, name: str, problems: _Problems) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        problems.add(f"{name} must be a datetime, got {value!r}")
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _customer_fields(customer: object, problems: _Problems, prefix: str = "") -> CustomerIn:
    if not isinstance(customer, CustomerIn):
        problems.add(f"{prefix}customer must be a CustomerIn, got {type(customer).__name__}")
        return CustomerIn(email="")
    email = _text(customer.email, f"{prefix}customer email", problems, max_chars=MAX_NAME_CHARS, required=True)
    if email and ("@" not in email or email.startswith("@") or email.endswith("@") or " " in email):
        problems.add(f"{prefix}customer email {email!r} is not an email address")
    # Names and phones longer than their columns are cut to fit, the full value kept in the customer's note:
    # a till's column width is no reason to refuse a customer.
    cut: list[str] = []
    first_name = _fitted(customer.first_name, "first name", problems, max_chars=MAX_NAME_CHARS, cut=cut)
    last_name = _fitted(customer.last_name, "last name", problems, max_chars=MAX_NAME_CHARS, cut=cut)
    phone = _fitted(customer.phone, "phone", problems, max_chars=MAX_CODE_CHARS, cut=cut) or None
    note = _text(customer.note, f"{prefix}customer note", problems, max_chars=10**6)
    return CustomerIn(
        email=email.lower(),
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        magento_id=_magento_id(customer.magento_id, f"{prefix}customer magento_id", problems, optional=True),
        note="\n".join([note, *cut] if note else cut) or None,
    )


def valid_customer(customer: CustomerIn) -> CustomerIn:
    """A normalised copy of `customer`: the email is required and stored lower-case."""
    _require_type(customer, CustomerIn)
    problems = _Problems(f"customer {getattr(customer, 'email', customer)!r}")
    normalised = _customer_fields(customer, problems)
    problems.raise_any()
    return normalised


def valid_category(category: CategoryIn) -> CategoryIn:
    """A normalised copy of `category`: a Magento id and a name are required."""
    _require_type(category, CategoryIn)
    problems = _Problems(f"category for Magento category {getattr(category, 'magento_id', '?')}")
    normalised = CategoryIn(
        magento_id=_magento_id(category.magento_id, "magento_id", problems),  # type: ignore[arg-type]
        name=_text(category.name, "name", problems, max_chars=MAX_NAME_CHARS, required=True),
        parent_magento_id=_magento_id(category.parent_magento_id, "parent_magento_id", problems, optional=True),
    )
    problems.raise_any()
    return normalised


def valid_sale(sale: SaleIn) -> SaleIn:
    """A normalised copy of `sale`: at least one line, SKUs given, quantities above 0, no negative amounts."""
    _require_type(sale, SaleIn)
    problems = _Problems(f"sale for Magento order {getattr(sale, 'magento_order_id', '?')}")
    lines = []
    if not sale.lines:
        problems.add("it has no lines")
    for number, line in enumerate(sale.lines or (), start=1):
        if not isinstance(line, SaleLineIn):
            problems.add(f"line {number} must be a SaleLineIn, got {type(line).__name__}")
            continue
        where = f"line {number}"
        lines.append(
            SaleLineIn(
                sku=_text(line.sku, f"{where} SKU", problems, max_chars=MAX_CODE_CHARS, required=True),
                qty=_decimal(line.qty, f"{where} qty", problems, positive=True),
                unit_price=_decimal(line.unit_price, f"{where} unit_price", problems),
                line_total=_decimal(line.line_total, f"{where} line_total", problems),
                discount=_decimal(line.discount, f"{where} discount", problems),
                tax=_decimal(line.tax, f"{where} tax", problems),
                tax_percent=_rate(line.tax_percent, f"{where} tax_percent", problems) or Decimal(0),
                stock=bool(line.stock),
            )
        )
    tenders = []
    for number, tender in enumerate(sale.tenders or (), start=1):
        if not isinstance(tender, SaleTenderIn):
            problems.add(f"tender {number} must be a SaleTenderIn, got {type(tender).__name__}")
            continue
        tenders.append(
            SaleTenderIn(
                tender_type=_text(
                    tender.tender_type, f"tender {number} type", problems, max_chars=MAX_CODE_CHARS, required=True
                ),
                amount=_decimal(tender.amount, f"tender {number} amount", problems),
            )
        )
    grand_total = _decimal(sale.grand_total, "grand_total", problems)
    tender_type = _text(sale.tender_type, "tender_type", problems, max_chars=MAX_CODE_CHARS, required=True)
    if not tenders:
        tenders.append(SaleTenderIn(tender_type or TENDER_WEB_ORDERS, grand_total))
    note_cut: list[str] = []
    increment_id = _fitted(sale.magento_increment_id, "magento_increment_id", problems, max_chars=64, cut=note_cut)
    note = _text(sale.note, "note", problems, max_chars=10**6)
    normalised = SaleIn(
        magento_order_id=_magento_id(sale.magento_order_id, "magento_order_id", problems),  # type: ignore[arg-type]
        customer=_customer_fields(sale.customer, problems),
        lines=tuple(lines),
        subtotal=_decimal(sale.subtotal, "subtotal", problems),
        grand_total=grand_total,
        discount=_decimal(sale.discount, "discount", problems),
        shipping=_decimal(sale.shipping, "shipping", problems),
        tax=_decimal(sale.tax, "tax", problems),
        magento_increment_id=increment_id or None,
        created_at=_moment(sale.created_at, "created_at", problems),
        tender_type=tender_type,
        currency=_currency(sale.currency, "currency", problems),
        order_currency=_currency(sale.order_currency, "order_currency", problems),
        order_grand_total=_optional_decimal(sale.order_grand_total, "order_grand_total", problems),
        base_to_order_rate=_rate(sale.base_to_order_rate, "base_to_order_rate", problems),
        tenders=tuple(tenders),
        note="\n".join([note, *note_cut] if note else note_cut) or None,
        location_code=_text(sale.location_code, "location_code", problems, max_chars=MAX_LOCATION_CHARS) or None,
    )
    problems.raise_any()
    return normalised


def check_reconciles(sale: SaleIn) -> None:
    """Raise `PosValidationError` with the figures when the (validated) sale's parts do not add up."""
    mismatch = sale_mismatch(sale)
    if mismatch is not None:
        raise PosValidationError(f"sale for Magento order {sale.magento_order_id}: {mismatch}")


def _cents(amount: Decimal) -> str:
    return str(Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP))


def sale_mismatch(sale: SaleIn) -> str | None:
    """Why the sale's parts do not add up to what the customer owed, in a sentence naming every figure; None
    when they do, to the cent (docs/money.md, "The reconcile rule").

    lines (tax included) + shipping + tax not in any line = grand_total = the tenders' sum; discount = the lines'
    discounts; subtotal = the lines' quantity x unit price (within the unit price's rounding).
    """
    lines = sum((Decimal(line.line_total) for line in sale.lines), Decimal(0))
    line_tax = sum((Decimal(line.tax) for line in sale.lines), Decimal(0))
    shipping = Decimal(sale.shipping)
    other_tax = Decimal(sale.tax) - line_tax
    parts = lines + shipping + other_tax
    owed = Decimal(sale.grand_total)
    currency = f" (base {sale.currency})" if sale.currency else ""
    if parts.quantize(CENT, rounding=ROUND_HALF_UP) != owed.quantize(CENT, rounding=ROUND_HALF_UP):
        return (
            f"lines {_cents(lines)} + shipping {_cents(shipping)} + tax not in lines {_cents(other_tax)}"
            f" = {_cents(parts)} ≠ owed {_cents(owed)}{currency}"
        )
    discounts = sum((Decimal(line.discount) for line in sale.lines), Decimal(0))
    if _cents(Decimal(sale.discount)) != _cents(discounts):
        return f"discount {_cents(Decimal(sale.discount))} ≠ lines' discounts {_cents(discounts)}{currency}"
    # A line keeps its unit price to 4 places: quantity x unit price may be off its row by half of the 4th place
    # per unit, beside the subtotal's own rounding to the cent.
    rows = sum((Decimal(line.qty) * Decimal(line.unit_price) for line in sale.lines), Decimal(0))
    slack = HALF_CENT + sum((abs(Decimal(line.qty)) * UNIT_ROUNDING for line in sale.lines), Decimal(0))
    if abs(Decimal(sale.subtotal) - rows) > slack:
        return f"subtotal {_cents(Decimal(sale.subtotal))} ≠ lines' quantity x unit price {_cents(rows)}{currency}"
    tendered = sum((Decimal(tender.amount) for tender in sale.tenders), Decimal(0))
    if sale.tenders and tendered.quantize(CENT) != owed.quantize(CENT):
        paid = " + ".join(f"{tender.tender_type} {_cents(Decimal(tender.amount))}" for tender in sale.tenders)
        return f"tenders {paid} = {_cents(tendered)} ≠ owed {_cents(owed)}{currency}"
    return None


def valid_invoice(invoice: InvoiceIn) -> InvoiceIn:
    """A normalised copy of `invoice`: Magento ids, a customer email and a total of 0 or more."""
    _require_type(invoice, InvoiceIn)
    problems = _Problems(f"invoice for Magento invoice {getattr(invoice, 'magento_invoice_id', '?')}")
    normalised = dataclasses.replace(
        invoice,
        magento_invoice_id=_magento_id(invoice.magento_invoice_id, "magento_invoice_id", problems),
        magento_order_id=_magento_id(invoice.magento_order_id, "magento_order_id", problems),
        customer=_customer_fields(invoice.customer, problems),
        grand_total=_decimal(invoice.grand_total, "grand_total", problems),
        payment_method=_text(
            invoice.payment_method, "payment_method", problems, max_chars=MAX_CODE_CHARS, required=True
        ),
        created_at=_moment(invoice.created_at, "created_at", problems),
        status=_status(invoice.status, "status", INVOICE_STATUSES, problems),
        currency=_currency(invoice.currency, "currency", problems),
        order_currency=_currency(invoice.order_currency, "order_currency", problems),
        order_grand_total=_optional_decimal(invoice.order_grand_total, "order_grand_total", problems),
    )
    problems.raise_any()
    return normalised


def valid_credit_note(credit_note: CreditNoteIn) -> CreditNoteIn:
    """A normalised copy of `credit_note`: Magento ids, a customer email and a total of 0 or more."""
    _require_type(credit_note, CreditNoteIn)
    problems = _Problems(f"credit note for Magento credit memo {getattr(credit_note, 'magento_creditmemo_id', '?')}")
    normalised = dataclasses.replace(
        credit_note,
        magento_creditmemo_id=_magento_id(credit_note.magento_creditmemo_id, "magento_creditmemo_id", problems),
        magento_order_id=_magento_id(credit_note.magento_order_id, "magento_order_id", problems),
        magento_invoice_id=_magento_id(credit_note.magento_invoice_id, "magento_invoice_id", problems, optional=True),
        customer=_customer_fields(credit_note.customer, problems),
        grand_total=_decimal(credit_note.grand_total, "grand_total", problems),
        refund_method=_text(
            credit_note.refund_method, "refund_method", problems, max_chars=MAX_CODE_CHARS, required=True
        ),
        created_at=_moment(credit_note.created_at, "created_at", problems),
        status=_status(credit_note.status, "status", CREDIT_NOTE_STATUSES, problems),
        currency=_currency(credit_note.currency, "currency", problems),
        refund_online=bool(credit_note.refund_online),
        lines=tuple(_credit_note_line(line, number, problems) for number, line in enumerate(credit_note.lines, 1)),
    )
    problems.raise_any()
    return normalised


def _credit_note_line(line: CreditNoteLineIn, number: int, problems: _Problems) -> CreditNoteLineIn:
    """A credit note line whose returned quantity is between 0 and its quantity, with a location when above 0."""
    where = f"line {number}"
    qty = _decimal(line.qty, f"{where} qty", problems)
    returned = _decimal(line.returned_qty, f"{where} returned_qty", problems)
    location = _text(line.location_code, f"{where} location_code", problems, max_chars=MAX_CODE_CHARS) or None
    if returned > qty:
        problems.add(f"{where} returned_qty {returned} is more than its qty {qty}")
    if returned and location is None:
        problems.add(f"{where} returns {returned} to stock but names no location_code")
    sku = _text(line.sku, f"{where} SKU", problems, max_chars=MAX_CODE_CHARS, required=True)
    return CreditNoteLineIn(sku=sku, qty=qty, returned_qty=returned, location_code=location)


def valid_magento_id(value: object, name: str) -> int:
    """`value` as a positive Magento id, or `PosValidationError`."""
    problems = _Problems(name)
    number = _magento_id(value, "magento id", problems)
    problems.raise_any()
    return number  # type: ignore[return-value]
