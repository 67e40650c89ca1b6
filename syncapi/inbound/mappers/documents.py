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
from syncapi.inbound.mappers.lines import VIRTUAL_PRODUCT_TYPES
from syncapi.inbound.mappers.orders import payment_method
from syncapi.inbound.mappers.values import (
    PRODUCT_TYPE_BUNDLE,
    MappingError,
    is_true,
    item_key,
    magento_id,
    money,
    optional_id,
    parse_magento_time,
    text_of,
)
from syncapi.pos.cancellation import CreditNoteLineIn
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
    creditmemo: Mapping[str, Any],
    order: Mapping[str, Any],
    *,
    pos_currency: str | None = None,
    return_location: str | None = None,
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
        lines=credit_note_lines(creditmemo, order, return_location, label),
    )


def credit_note_lines(
    creditmemo: Mapping[str, Any], order: Mapping[str, Any], return_location: str | None, label: str
) -> tuple[CreditNoteLineIn, ...]:
    """The credit memo's items as credit note lines, one per stocked SKU as the sale has them: a configurable's
    parent item carries its child's SKU (the child item is left out), a bundle's children carry theirs (the bundle
    item is left out). With a `return_location` (`MAGENTO_AUTO_RETURN`), each line of an item that is not virtual
    goes back to stock there (docs/sync.md, "Returns to stock")."""
    order_items = {
        item_key(item.get("item_id")): item for item in order.get("items") or [] if isinstance(item, Mapping)
    }
    lines = []
    for number, item in enumerate(creditmemo.get("items") or [], start=1):
        if not isinstance(item, Mapping):
            raise MappingError(f"{label} item {number} is not an object")
        qty = money(item.get("qty"), f"{label} item {number} qty")
        ordered = order_items.get(item_key(item.get("order_item_id"))) or {}
        parent = order_items.get(item_key(ordered.get("parent_item_id")))
        kind = text_of(ordered.get("product_type")).lower()
        if qty <= 0 or kind == PRODUCT_TYPE_BUNDLE:
            continue
        if parent is not None and text_of(parent.get("product_type")).lower() != PRODUCT_TYPE_BUNDLE:
            continue  # a configurable's child: its parent item carries the SKU
        sku = text_of(item.get("sku")) or text_of(ordered.get("sku"))
        if not sku:
            raise MappingError(f"{label} item {number} has no sku")
        virtual = is_true(ordered.get("is_virtual")) or kind in VIRTUAL_PRODUCT_TYPES
        back = return_location is not None and not virtual
        lines.append(
            CreditNoteLineIn(
                sku=sku,
                qty=qty,
                returned_qty=qty if back else Decimal(0),
                location_code=return_location if back else None,
            )
        )
    return tuple(lines)


def order_id_of(record: Mapping[str, Any], what: str) -> int:
    """The `order_id` of an invoice or credit memo."""
    return magento_id(record.get("order_id"), f"{what} order_id")
