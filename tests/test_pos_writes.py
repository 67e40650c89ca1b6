"""Writes keyed on Magento ids: each lands once, lowers stock once, links what arrives out of order, and bad data
gets a clear error with nothing written."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from syncapi.pos import models as m
from syncapi.pos.errors import PosConflictError, PosValidationError
from syncapi.pos.gateway import CategoryIn, CreditNoteIn, CustomerIn, InvoiceIn, SaleIn, SaleLineIn, WriteResult
from tests.fixtures_pos import add_product, add_rows, on_hand, snapshot

BUYER = CustomerIn(email="Buyer@Example.com", first_name="Bea", last_name="Buyer", phone="+44 1", magento_id=501)
GUEST = CustomerIn(email="guest@example.com", first_name="Gus", last_name="Guest")


def order(magento_order_id: int = 1001, customer: CustomerIn = BUYER, **changes) -> SaleIn:
    """A completed web order of 2 x TEE at 10.00 and 1 x CAP at 5.50, shipped for 4.95."""
    sale = SaleIn(
        magento_order_id=magento_order_id,
        magento_increment_id=f"0000{magento_order_id}",
        customer=customer,
        lines=(
            SaleLineIn(sku="TEE", qty=2, unit_price="10.00", discount="2.00", line_total="18.00"),
            SaleLineIn(sku="CAP", qty=1, unit_price="5.50", line_total="5.50"),
        ),
        subtotal="25.50",
        discount="2.00",
        shipping="4.95",
        tax="0",
        grand_total="28.45",
        created_at=datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=2))),
    )
    return dataclasses.replace(sale, **changes)


@pytest.fixture
def shop(pos):
    """`pos` with TEE (10 on hand at WEB) and CAP (3 on hand) for sale."""
    add_product(pos.engine, "TEE", on_hand=10)
    add_product(pos.engine, "CAP", on_hand=3)
    return pos


def test_write_sale_records_lines_customer_and_lowers_stock(shop):
    result = shop.write_sale(order())
    assert result == WriteResult(result.pos_id, True)
    sale = shop.find_sale(1001)
    assert sale.id == result.pos_id
    assert (sale.location_code, sale.tender_type, sale.magento_increment_id) == ("WEB", "web orders", "00001001")
    assert (sale.subtotal, sale.discount, sale.shipping, sale.grand_total) == (
        Decimal("25.5"),
        Decimal("2"),
        Decimal("4.95"),
        Decimal("28.45"),
    )
    assert sale.created_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert [(line.sku, line.qty, line.line_total) for line in sale.lines] == [
        ("TEE", Decimal(2), Decimal(18)),
        ("CAP", Decimal(1), Decimal("5.5")),
    ]
    customer = shop.get_customers([sale.customer_id])[0]
    assert (customer.email, customer.first_name, customer.magento_id) == ("buyer@example.com", "Bea", 501)
    assert on_hand(shop.engine, "TEE") == 8 and on_hand(shop.engine, "CAP") == 2
    stamped = {level.sku: level.updated_at for level in shop.get_stock(["TEE", "CAP"])}
    assert all(moment > datetime.now(UTC) - timedelta(minutes=1) for moment in stamped.values())  # pushed next


def test_write_sale_twice_returns_the_first_and_changes_nothing(shop):
    first = shop.write_sale(order())
    before = snapshot(shop.engine)
    again = shop.write_sale(order(grand_total="999.00"))  # a later delivery of the same order
    assert again == WriteResult(first.pos_id, False)
    assert snapshot(shop.engine) == before
    assert on_hand(shop.engine, "TEE") == 8


def test_sale_of_the_same_sku_on_two_lines_lowers_stock_by_both(shop):
    lines = (
        SaleLineIn(sku="TEE", qty=1, unit_price=10, line_total=10),
        SaleLineIn(sku="TEE", qty="1.5", unit_price=10, line_total=15),
    )
    shop.write_sale(order(lines=lines, subtotal=25, discount=0, grand_total="29.95"))
    assert on_hand(shop.engine, "TEE") == Decimal("7.5")


def test_selling_what_has_no_stock_row_at_the_location_makes_it_negative(shop):
    add_product(shop.engine, "NEW", on_hand=None)
    shop.write_sale(
        order(
            lines=(SaleLineIn(sku="NEW", qty=2, unit_price=1, line_total=2),),
            subtotal=2,
            discount=0,
            grand_total="6.95",
        )
    )
    assert on_hand(shop.engine, "NEW") == -2


def test_guest_orders_share_the_customer_found_by_email(shop):
    first = shop.write_sale(order(1, customer=GUEST))
    second = shop.write_sale(order(2, customer=dataclasses.replace(GUEST, email=" GUEST@example.COM ")))
    assert shop.find_sale(1).customer_id == shop.find_sale(2).customer_id
    assert first.created and second.created
    assert snapshot(shop.engine, [m.Customer])["customers"] == 1


BAD_SALES = {
    "unknown SKU": (order(lines=(SaleLineIn("TEE", 1, 10, 10), SaleLineIn("GHOST", 1, 1, 1))), "unknown SKU 'GHOST'"),
    "zero qty": (order(lines=(SaleLineIn("TEE", 0, 10, 0),)), "line 1 qty must be more than 0"),
    "negative qty": (order(lines=(SaleLineIn("CAP", 1, 5, 5), SaleLineIn("TEE", -1, 10, 10))), "line 2 qty"),
    "no email": (order(customer=CustomerIn(email="  ")), "customer email is missing"),
    "not an email": (order(customer=CustomerIn(email="nobody")), "is not an email address"),
    "no lines": (order(lines=()), "it has no lines"),
    "negative discount": (order(discount="-2.00"), "discount must be 0 or more"),
    "not a number": (order(grand_total="twelve"), "grand_total must be a number"),
    "not finite": (order(tax=float("nan")), "tax must be a number"),
    "too large": (order(subtotal="123456789.00"), "larger than"),
    "no order id": (order(magento_order_id=0), "magento_order_id must be a positive whole number"),
    "no SKU": (order(lines=(SaleLineIn("", 1, 1, 1),)), "line 1 SKU is missing"),
}


@pytest.mark.parametrize("case", BAD_SALES, ids=list(BAD_SALES))
def test_bad_sale_is_refused_clearly_and_writes_nothing(shop, case):
    sale, message = BAD_SALES[case]
    before = snapshot(shop.engine)
    with pytest.raises(PosValidationError, match=message) as caught:
        shop.write_sale(sale)
    assert not caught.value.retryable
    assert "Magento order" in str(caught.value)
    assert snapshot(shop.engine) == before


def test_validation_names_every_problem_at_once(shop):
    bad = order(lines=(SaleLineIn("TEE", 0, -1, 1),), customer=CustomerIn(email=""))
    with pytest.raises(PosValidationError) as caught:
        shop.write_sale(bad)
    message = str(caught.value)
    assert "qty must be more than 0" in message and "unit_price must be 0 or more" in message
    assert "customer email is missing" in message
    with pytest.raises(PosValidationError, match="expected a SaleIn"):
        shop.write_sale({"magento_order_id": 1})


def test_float_amounts_are_taken_by_their_decimal_text(shop):
    line = SaleLineIn(sku="CAP", qty=1, unit_price=0.1 + 0.2, line_total=0.1 + 0.2)
    shop.write_sale(order(lines=(line,), discount=0, grand_total=5.25, subtotal=0.1 + 0.2))
    sale = shop.find_sale(1001)
    assert sale.grand_total == Decimal("5.25") and sale.subtotal == Decimal("0.3")


def test_invoice_before_its_sale_is_linked_when_the_sale_lands(shop):
    invoice = InvoiceIn(magento_invoice_id=7001, magento_order_id=1001, customer=BUYER, grand_total="28.45")
    written = shop.write_invoice(invoice)
    assert written.created
    found = shop.find_invoice(7001)
    assert found.sale_id is None and found.paid == Decimal("28.45")
    sale = shop.write_sale(order())
    assert shop.find_invoice(7001).sale_id == sale.pos_id
    assert shop.find_invoice(7001).customer_id == shop.find_sale(1001).customer_id
    assert shop.link_invoices_to_sale(1001) == 0


def test_invoice_after_its_sale_is_linked_at_once_and_written_once(shop):
    sale = shop.write_sale(order())
    invoice = InvoiceIn(7001, 1001, BUYER, "28.45", payment_method="checkmo")
    first = shop.write_invoice(invoice)
    before = snapshot(shop.engine)
    again = shop.write_invoice(dataclasses.replace(invoice, grand_total="1.00"))
    assert again == WriteResult(first.pos_id, False)
    assert snapshot(shop.engine) == before
    found = shop.find_invoice(7001)
    assert found.sale_id == sale.pos_id and found.paid == Decimal("28.45")
    with shop.engine.connect() as connection:
        payment = connection.execute(select(m.Payment)).one()
    assert (payment.amount, payment.method, payment.customer_id) == (Decimal("28.45"), "checkmo", found.customer_id)


def test_credit_note_with_refund_is_written_once_and_linked_to_its_invoice(shop):
    shop.write_sale(order())
    note = CreditNoteIn(9001, 1001, BUYER, "5.50", magento_invoice_id=7001, refund_method="checkmo")
    first = shop.write_credit_note(note)  # before its invoice
    assert first.created and shop.find_credit_note(9001).invoice_id is None
    invoice = shop.write_invoice(InvoiceIn(7001, 1001, BUYER, "28.45"))
    found = shop.find_credit_note(9001)
    assert found.invoice_id == invoice.pos_id and found.refunded == Decimal("5.5")
    assert found.customer_id == shop.find_sale(1001).customer_id
    before = snapshot(shop.engine)
    assert shop.write_credit_note(note) == WriteResult(first.pos_id, False)
    assert snapshot(shop.engine) == before


def test_credit_note_without_invoice_id_uses_the_orders_invoice(shop):
    invoice = shop.write_invoice(InvoiceIn(7001, 1001, BUYER, "28.45"))
    shop.write_credit_note(CreditNoteIn(9001, 1001, BUYER, "28.45"))
    assert shop.find_credit_note(9001).invoice_id == invoice.pos_id


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda pos: pos.write_invoice(InvoiceIn(7001, 1001, CustomerIn(""), "1")), "customer email is missing"),
        (lambda pos: pos.write_invoice(InvoiceIn(7001, "x", BUYER, "1")), "magento_order_id must be"),
        (lambda pos: pos.write_invoice(InvoiceIn(7001, 1001, BUYER, "-1")), "grand_total must be 0 or more"),
        (lambda pos: pos.write_invoice(InvoiceIn(7001, 1001, BUYER, "1", payment_method="")), "payment_method"),
        (lambda pos: pos.write_credit_note(CreditNoteIn(9001, 1001, BUYER, None)), "grand_total must be a number"),
        (lambda pos: pos.write_credit_note(CreditNoteIn(-3, 1001, BUYER, "1")), "magento_creditmemo_id must be"),
        (lambda pos: pos.ensure_customer(CustomerIn("a@example.com", magento_id=True)), "magento_id must be"),
        (lambda pos: pos.ensure_category(CategoryIn(3, " ")), "name is missing"),
        (lambda pos: pos.ensure_category(CategoryIn(None, "Hats")), "magento_id must be"),
        (lambda pos: pos.set_category_magento_id(99, 5), "there is no POS category 99"),
        (lambda pos: pos.set_customer_magento_id(1, 0), "must be a positive whole number"),
        (lambda pos: pos.link_invoices_to_sale("abc"), "must be a positive whole number"),
    ],
)
def test_bad_invoices_notes_customers_and_categories_write_nothing(shop, write, message):
    shop.write_sale(order())
    before = snapshot(shop.engine)
    with pytest.raises(PosValidationError, match=message):
        write(shop)
    assert snapshot(shop.engine) == before


def test_ensure_customer_finds_by_magento_id_then_email_else_creates(pos):
    created = pos.ensure_customer(CustomerIn("new@example.com", "New", "Person", magento_id=11))
    assert created.created
    assert pos.ensure_customer(CustomerIn("other-email@example.com", magento_id=11)) == WriteResult(
        created.pos_id, False
    )
    add_rows(pos.engine, m.Customer(email="walk.in@example.com", first_name="Walk", updated_at=datetime(2024, 1, 1)))
    [walk_in] = [c for c in pos.get_customers([2])]
    linked = pos.ensure_customer(CustomerIn("WALK.IN@example.com", "Changed", magento_id=12))
    assert linked == WriteResult(walk_in.id, False)
    after = pos.get_customers([walk_in.id])[0]
    assert after.magento_id == 12 and after.first_name == "Walk"  # linked, not overwritten: the POS is the master
    assert after.updated_at == walk_in.updated_at  # a link is not a change to push back to Magento
    before = snapshot(pos.engine)
    assert pos.ensure_customer(CustomerIn("walk.in@example.com", magento_id=12)).created is False
    assert snapshot(pos.engine) == before


def test_ensure_customer_refuses_an_email_linked_to_another_magento_customer(pos):
    pos.ensure_customer(CustomerIn("taken@example.com", magento_id=21))
    before = snapshot(pos.engine)
    with pytest.raises(PosConflictError, match="linked to Magento customer 21, not 22"):
        pos.ensure_customer(CustomerIn("taken@example.com", magento_id=22))
    assert snapshot(pos.engine) == before


def test_a_sale_by_such_a_customer_still_lands_on_the_customer_with_that_email(shop):
    shop.ensure_customer(CustomerIn("buyer@example.com", magento_id=77))
    shop.write_sale(order())  # BUYER says Magento id 501
    customer = shop.get_customers([shop.find_sale(1001).customer_id])[0]
    assert (customer.email, customer.magento_id) == ("buyer@example.com", 77)


def test_ensure_category_under_its_parent_once(pos):
    add_rows(pos.engine, m.Category(name="Women", magento_id=3))
    hats = pos.ensure_category(CategoryIn(magento_id=40, name="Hats", parent_magento_id=3))
    assert hats.created
    assert pos.ensure_category(CategoryIn(magento_id=40, name="Renamed", parent_magento_id=3)) == WriteResult(
        hats.pos_id, False
    )
    [category] = pos.get_categories([hats.pos_id])
    assert (category.name, category.parent_id, category.magento_id) == ("Hats", 1, 40)
    orphan = pos.ensure_category(CategoryIn(magento_id=41, name="Sale", parent_magento_id=2))  # Magento's root
    assert pos.get_categories([orphan.pos_id])[0].parent_id is None


def test_ensure_category_links_a_pos_category_with_the_same_name_and_parent(pos):
    add_rows(pos.engine, m.Category(name="Women", magento_id=3, updated_at=datetime(2024, 1, 1)))
    add_rows(pos.engine, m.Category(name="Dresses", parent_id=1, updated_at=datetime(2024, 1, 1)))
    assert pos.ensure_category(CategoryIn(magento_id=50, name="Dresses", parent_magento_id=3)) == WriteResult(2, False)
    [dresses] = pos.get_categories([2])
    assert dresses.magento_id == 50 and dresses.updated_at == datetime(2024, 1, 1, tzinfo=UTC)


def test_set_magento_ids_after_push_are_idempotent_links_not_changes(pos):
    add_rows(
        pos.engine,
        m.Category(name="Women", updated_at=datetime(2024, 1, 1)),
        m.Category(name="Men", updated_at=datetime(2024, 1, 1)),
        m.Customer(email="a@example.com", updated_at=datetime(2024, 1, 1)),
        m.Customer(email="b@example.com", updated_at=datetime(2024, 1, 1)),
    )
    pos.set_category_magento_id(1, 30)
    pos.set_category_magento_id(1, 30)
    pos.set_customer_magento_id(1, 60)
    pos.set_customer_magento_id(1, 60)
    assert pos.get_categories([1])[0].magento_id == 30 and pos.get_customers([1])[0].magento_id == 60
    assert pos.changed_categories(None, 10).items[0].updated_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert pos.changed_customers(None, 10).items[0].updated_at == datetime(2024, 1, 1, tzinfo=UTC)
    before = snapshot(pos.engine)
    with pytest.raises(PosConflictError, match="already linked to POS category 1"):
        pos.set_category_magento_id(2, 30)
    with pytest.raises(PosConflictError, match="already linked to POS customer 1"):
        pos.set_customer_magento_id(2, 60)
    assert snapshot(pos.engine) == before
