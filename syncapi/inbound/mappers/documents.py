"""Invoices and credit memos → POS invoices and credit notes: their state, and their grand total checked against
its parts before anything is written (docs/money.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from syncapi.inbound.mappers.amounts import (
    base_amount,
    cents,
    check_currency,
    gift_wrapping,
    other_tenders,
    same_currency,
    unwritten,
)
from syncapi.inbound.mappers.customers import order_customer
from syncapi.inbound.mappers.orders import payment_method
from syncapi.inbound.mappers.values import (
    MappingError,
    item_key,
    magento_id,
    money,
    optional_id,
    parse_magento_time,
    text_of,
)
from syncapi.pos.gateway import (
    CREDIT_NOTE_CANCELED,
    CREDIT_NOTE_OPEN,
    CREDIT_NOTE_REFUNDED,
    INVOICE_CANCELED,
    INVOICE_OPEN,
    INVOICE_PAID,
    CreditNoteIn,
    InvoiceIn,
)

#: Magento's invoice states (`Magento\\Sales\\Model\\Order\\Invoice::STATE_*`) and credit memo states
#: (`Creditmemo::STATE_*`) as POS statuses.
INVOICE_STATES = {1: INVOICE_OPEN, 2: INVOICE_PAID, 3: INVOICE_CANCELED}
CREDITMEMO_STATES = {1: CREDIT_NOTE_OPEN, 2: CREDIT_NOTE_REFUNDED, 3: CREDIT_NOTE_CANCELED}


def _state(record: Mapping[str, Any], names: Sequence[str], states: Mapping[int, str], what: str) -> str:
    """The record's state as a POS status; a record without one is taken as done (paid, refunded)."""
    for name in names:
        value = record.get(name)
        if value in (None, ""):
            continue
        key = item_key(value)
        if key not in states:
            raise MappingError(f"{what} has an unknown {name} {value!r} (expected {', '.join(map(str, states))})")
        return states[key]  # type: ignore[index]
    return states[2]


def _document_totals(record: Mapping[str, Any], what: str, *, adjustments: bool) -> tuple[Decimal, str | None]:
    """A document's base grand total, checked against its parts (docs/money.md); `MappingError` naming every
    figure when they differ."""
    same = same_currency(record)

    def amount(name: str, base_name: str | None = None) -> Decimal:
        return base_amount(record, name, what, same=same, base_name=base_name)

    subtotal, discount = amount("subtotal"), abs(amount("discount_amount"))
    shipping, tax = amount("shipping_amount"), amount("tax_amount")
    compensation = amount("discount_tax_compensation_amount") + amount(
        "shipping_discount_tax_compensation_amount", "base_shipping_discount_tax_compensation_amnt"
    )
    grand_total = amount("grand_total")
    parts = subtotal - discount + shipping + tax + compensation
    figures = (
        f"subtotal {cents(subtotal)} - discount {cents(discount)} + shipping {cents(shipping)}"
        f" + tax {cents(tax)} + discount tax compensation {cents(compensation)}"
    )
    if adjustments:
        positive, negative = amount("adjustment_positive"), amount("adjustment_negative")
        parts += positive - negative
        figures += f" + adjustment refund {cents(positive)} - adjustment fee {cents(negative)}"
    # Adobe Commerce adds gift wrapping to the grand total (its GiftWrapping invoice and credit memo total
    # collectors), its tax being part of the document's tax amount.
    wrapping, _ = gift_wrapping(record, what)
    if wrapping:
        parts += wrapping
        figures += f" + gift wrapping {cents(wrapping)}"
    # Adobe Commerce takes store credit, gift cards and reward points off the document's grand total (its
    # CustomerBalance, GiftCardAccount and Reward invoice and credit memo total collectors), as on the order.
    for tender in other_tenders(record, what):
        parts -= tender.amount
        figures += f" - {tender.tender_type} {cents(tender.amount)}"
    currency = text_of(record.get("base_currency_code")).upper() or None
    if cents(parts) != cents(grand_total):
        base = f" (base {currency})" if currency else ""
        raise MappingError(
            f"{what}: {figures} = {cents(parts)} ≠ grand total {cents(grand_total)}{base}"
            f"{unwritten(record.get('items'), what)}"
        )
    return grand_total, currency


def _label(record: Mapping[str, Any], kind: str, number: int) -> str:
    return f"{kind} {text_of(record.get('increment_id')) or number}"


def invoice_to_pos(
    invoice: Mapping[str, Any], order: Mapping[str, Any], *, pos_currency: str | None = None
) -> InvoiceIn:
    """An invoice as a POS invoice in the base currency; a paid one carries a payment by the order's method."""
    number = magento_id(invoice.get("entity_id"), "invoice entity_id")
    label = _label(invoice, "invoice", number)
    record = {**{k: order.get(k) for k in ("base_currency_code", "order_currency_code")}, **invoice}
    currency = check_currency(record, pos_currency, label)
    grand_total, _ = _document_totals(record, label, adjustments=False)
    return InvoiceIn(
        magento_invoice_id=number,
        magento_order_id=magento_id(invoice.get("order_id"), f"invoice {number} order_id"),
        customer=order_customer(order),
        grand_total=grand_total,
        payment_method=payment_method(order),
        created_at=parse_magento_time(invoice.get("created_at"), f"invoice {number} created_at"),
        status=_state(invoice, ("state",), INVOICE_STATES, label),
        currency=currency,
        order_currency=text_of(record.get("order_currency_code")).upper() or None,
        order_grand_total=money(invoice.get("grand_total"), f"{label} grand_total")
        if invoice.get("grand_total") is not None
        else None,
    )


def creditmemo_to_pos(
    creditmemo: Mapping[str, Any], order: Mapping[str, Any], *, pos_currency: str | None = None
) -> CreditNoteIn:
    """A credit memo as a POS credit note in the base currency; a refunded one carries a refund by the order's
    method, `online` when it went through the payment gateway (Magento kept a gateway `transaction_id`)."""
    number = magento_id(creditmemo.get("entity_id"), "credit memo entity_id")
    label = _label(creditmemo, "credit memo", number)
    record = {**{k: order.get(k) for k in ("base_currency_code", "order_currency_code")}, **creditmemo}
    currency = check_currency(record, pos_currency, label)
    grand_total, _ = _document_totals(record, label, adjustments=True)
    return CreditNoteIn(
        magento_creditmemo_id=number,
        magento_order_id=magento_id(creditmemo.get("order_id"), f"credit memo {number} order_id"),
        customer=order_customer(order),
        grand_total=grand_total,
        magento_invoice_id=optional_id(creditmemo.get("invoice_id"), f"credit memo {number} invoice_id"),
        refund_method=payment_method(order),
        created_at=parse_magento_time(creditmemo.get("created_at"), f"credit memo {number} created_at"),
        status=_state(creditmemo, ("state", "creditmemo_status"), CREDITMEMO_STATES, label),
        currency=currency,
        refund_online=bool(text_of(creditmemo.get("transaction_id"))),
    )


def order_id_of(record: Mapping[str, Any], what: str) -> int:
    """The `order_id` of an invoice or credit memo."""
    return magento_id(record.get("order_id"), f"{what} order_id")
