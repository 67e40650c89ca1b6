"""Magento's document states in the POS, and refusals a bookkeeper can read.

- An invoice records a payment only once paid (state 2); an open one (state 1) none; a canceled one (state 3)
  none, and it voids a payment recorded earlier. A credit memo likewise: a canceled one refunds nothing; a
  refund records whether it went through the payment gateway.
- An order whose parts do not add up, or in another base currency than `POS_CURRENCY`, fails for good with a
  sentence naming every figure, shown by the link API; nothing is written.
"""

from __future__ import annotations

import dataclasses
import threading
from decimal import Decimal

import pytest
from rq.registry import FailedJobRegistry
from sqlalchemy import event, func, select

from syncapi.pos import models as m
from syncapi.pos.errors import PosValidationError
from syncapi.pos.gateway import GIFT_WRAPPING_SKU, CreditNoteIn, CustomerIn, InvoiceIn, SaleIn, SaleLineIn, SaleTenderIn
from syncapi.queues import QUEUE_INBOUND
from tests.fixtures_inbound import API_AUTH, inbound_test_settings
from tests.fixtures_pos import add_product, on_hand

BUYER = CustomerIn(email="buyer@example.com", first_name="Bea", last_name="Buyer")


def invoice(status: str, **changes) -> InvoiceIn:
    return InvoiceIn(
        magento_invoice_id=70, magento_order_id=7, customer=BUYER, grand_total="50.00", status=status, **changes
    )


def credit_note(status: str, **changes) -> CreditNoteIn:
    return CreditNoteIn(
        magento_creditmemo_id=80, magento_order_id=7, customer=BUYER, grand_total="20.00", status=status, **changes
    )


def payments(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(select(m.Payment.amount, m.Payment.voided_at).order_by(m.Payment.id)).all()


def refunds(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(select(m.Refund.amount, m.Refund.online).order_by(m.Refund.id)).all()


# --- the gateway: states -------------------------------------------------------------------------------------


def test_an_open_invoice_records_no_payment_until_it_is_paid(pos):
    pos.write_invoice(invoice("open"))
    assert (pos.find_invoice(70).status, pos.find_invoice(70).paid, payments(pos.engine)) == ("open", 0, [])
    pos.write_invoice(invoice("open"))  # announced again, still open
    assert payments(pos.engine) == []
    pos.write_invoice(invoice("paid"))
    pos.write_invoice(invoice("paid"))  # and again: one payment
    assert (pos.find_invoice(70).status, pos.find_invoice(70).paid) == ("paid", Decimal("50.00"))
    assert [(amount, voided) for amount, voided in payments(pos.engine)] == [(Decimal("50.00"), None)]


def test_a_canceled_invoice_voids_the_payment_recorded_earlier_and_stays_canceled(pos):
    pos.write_invoice(invoice("paid"))
    pos.write_invoice(invoice("canceled"))
    written = pos.find_invoice(70)
    assert (written.status, written.paid) == ("canceled", 0)
    ((amount, voided),) = payments(pos.engine)
    assert amount == Decimal("50.00") and voided is not None
    pos.write_invoice(invoice("paid"))  # a late delivery of the paid state changes nothing
    assert pos.find_invoice(70).status == "canceled"
    assert len(payments(pos.engine)) == 1


def test_an_invoice_canceled_before_it_reached_the_pos_records_no_payment(pos):
    pos.write_invoice(invoice("canceled", currency="USD", order_currency="EUR", order_grand_total="46.00"))
    written = pos.find_invoice(70)
    assert (written.status, written.paid, written.currency, written.order_currency) == ("canceled", 0, "USD", "EUR")
    assert written.order_grand_total == Decimal("46.00")
    assert payments(pos.engine) == []


def test_a_canceled_credit_memo_refunds_nothing(pos):
    pos.write_credit_note(credit_note("canceled"))
    assert (pos.find_credit_note(80).status, pos.find_credit_note(80).refunded, refunds(pos.engine)) == (
        "canceled",
        0,
        [],
    )


def test_an_open_credit_memo_refunds_once_refunded_and_records_whether_it_went_online(pos):
    pos.write_credit_note(credit_note("open", refund_online=True))
    assert refunds(pos.engine) == []
    pos.write_credit_note(credit_note("refunded", refund_online=True))
    pos.write_credit_note(credit_note("refunded", refund_online=True))
    note = pos.find_credit_note(80)
    assert (note.status, note.refunded, note.online) == ("refunded", Decimal("20.00"), True)
    assert [(amount, bool(online)) for amount, online in refunds(pos.engine)] == [(Decimal("20.00"), True)]


def both_at_once(engine, write, table: str) -> None:
    """Run `write` on two threads at once, each having read the document's row before either writes.

    PostgreSQL: each thread waits after its first read of `table` until the other has read too, so both see the
    status before either moves it. SQLite takes its write lock before the read, so there the threads only
    start together and the second finds what the first wrote.
    """
    gate = threading.Barrier(2, timeout=10)
    waited = threading.local()
    postgres = engine.dialect.name == "postgresql"

    def after_read(conn, cursor, statement, parameters, context, executemany):
        first = not getattr(waited, "done", False)
        if first and statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            waited.done = True
            gate.wait()

    errors: list[BaseException] = []

    def run() -> None:
        try:
            if not postgres:
                gate.wait()
            write()
        except BaseException as exc:
            errors.append(exc)

    if postgres:
        event.listen(engine, "after_cursor_execute", after_read)
    try:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        if postgres:
            event.remove(engine, "after_cursor_execute", after_read)
    assert errors == []


def test_two_writers_paying_the_same_open_invoice_at_once_record_one_payment(pos):
    pos.write_invoice(invoice("open"))
    both_at_once(pos.engine, lambda: pos.write_invoice(invoice("paid")), "invoices")
    assert (pos.find_invoice(70).status, pos.find_invoice(70).paid) == ("paid", Decimal("50.00"))
    assert [amount for amount, _ in payments(pos.engine)] == [Decimal("50.00")]


def test_two_writers_refunding_the_same_open_credit_memo_at_once_record_one_refund(pos):
    pos.write_credit_note(credit_note("open"))
    both_at_once(pos.engine, lambda: pos.write_credit_note(credit_note("refunded")), "credit_notes")
    assert (pos.find_credit_note(80).status, pos.find_credit_note(80).refunded) == ("refunded", Decimal("20.00"))
    assert [amount for amount, _ in refunds(pos.engine)] == [Decimal("20.00")]


@pytest.mark.parametrize("status", ["paid ", "PAID", "void", None])
def test_an_unknown_status_is_refused(pos, status):
    with pytest.raises(PosValidationError, match="status must be one of open, paid, canceled"):
        pos.write_invoice(invoice(status))


# --- the gateway: a sale that does not add up is never written -----------------------------------------------


def a_sale(**changes) -> SaleIn:
    values = {
        "magento_order_id": 9,
        "customer": BUYER,
        "lines": (SaleLineIn("TEE", 2, "10.00", line_total="21.60", discount="2.00", tax="3.60", tax_percent="20"),),
        "subtotal": "20.00",
        "discount": "2.00",
        "shipping": "5.00",
        "tax": "3.60",
        "grand_total": "26.60",
        "currency": "USD",
        "tenders": (SaleTenderIn("web orders", "16.60"), SaleTenderIn("store credit", "10.00")),
    }
    return SaleIn(**{**values, **changes})


def test_a_sale_keeps_its_tenders_currency_and_line_tax_rates(pos):
    add_product(pos.engine, "TEE", on_hand=5)
    pos.write_sale(a_sale(order_currency="EUR", order_grand_total="24.47", base_to_order_rate="0.92"))
    sale = pos.find_sale(9)
    assert [(t.tender_type, t.amount) for t in sale.tenders] == [
        ("web orders", Decimal("16.60")),
        ("store credit", Decimal("10.00")),
    ]
    assert (sale.currency, sale.order_currency, sale.order_grand_total, sale.base_to_order_rate) == (
        "USD",
        "EUR",
        Decimal("24.47"),
        Decimal("0.92"),
    )
    assert [(line.tax, line.tax_percent) for line in sale.lines] == [(Decimal("3.60"), Decimal(20))]


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        (
            {"grand_total": "30.00", "tenders": ()},
            "lines 21.60 + shipping 5.00 + tax not in lines 0.00 = 26.60 ≠ owed 30.00 (base USD)",
        ),
        (
            {"tenders": (SaleTenderIn("web orders", "26.00"),)},
            "tenders web orders 26.00 = 26.00 ≠ owed 26.60 (base USD)",
        ),
        ({"discount": "3.00"}, "discount 3.00 ≠ lines' discounts 2.00 (base USD)"),
        ({"subtotal": "20.01"}, "subtotal 20.01 ≠ lines' quantity x unit price 20.00 (base USD)"),
    ],
)
def test_a_sale_that_does_not_add_up_is_refused_with_its_figures_and_nothing_is_written(pos, changes, sentence):
    add_product(pos.engine, "TEE", on_hand=5)
    with pytest.raises(PosValidationError) as refused:
        pos.write_sale(a_sale(**changes))
    assert str(refused.value) == f"sale for Magento order 9: {sentence}"
    assert pos.find_sale(9) is None and pos.find_customer(email=BUYER.email) is None


def gift_wrapped_sale(*, stock: bool = False, sku: str = GIFT_WRAPPING_SKU) -> SaleIn:
    """a_sale plus a gift wrapping line of 4.00 and 0.40 tax."""
    wrapping = SaleLineIn(sku, 1, "4.00", line_total="4.40", tax="0.40", tax_percent="10", stock=stock)
    return a_sale(
        lines=(*a_sale().lines, wrapping),
        subtotal="24.00",
        tax="4.00",
        grand_total="31.00",
        tenders=(SaleTenderIn("web orders", "31.00"),),
    )


def test_a_gift_wrapping_line_needs_no_pos_product_and_lowers_no_stock(pos):
    add_product(pos.engine, "TEE", on_hand=5)
    pos.write_sale(gift_wrapped_sale())
    lines = pos.find_sale(9).lines
    assert [(line.sku, line.qty, line.line_total) for line in lines] == [
        ("TEE", Decimal(2), Decimal("21.60")),
        (GIFT_WRAPPING_SKU, Decimal(1), Decimal("4.40")),
    ]
    assert on_hand(pos.engine, "TEE") == 3 and on_hand(pos.engine, GIFT_WRAPPING_SKU) is None
    with pos.engine.connect() as connection:
        product = connection.execute(select(m.Product).where(m.Product.sku == GIFT_WRAPPING_SKU)).one()
        assert (product.name, product.retail_price, product.internet_active) == ("Gift wrapping", 0, False)
        assert connection.scalar(select(func.count()).select_from(m.Stock).where(m.Stock.sku == GIFT_WRAPPING_SKU)) == 0
    # The next sale with gift wrapping finds the product there.
    pos.write_sale(dataclasses.replace(gift_wrapped_sale(), magento_order_id=10))
    assert [line.sku for line in pos.find_sale(10).lines] == ["TEE", GIFT_WRAPPING_SKU]


@pytest.mark.parametrize(("sku", "stock"), [(GIFT_WRAPPING_SKU, True), ("GIFT-VOUCHER", False), ("GIFT-VOUCHER", True)])
def test_only_a_service_line_that_lowers_no_stock_may_have_an_unknown_sku(pos, sku, stock):
    add_product(pos.engine, "TEE", on_hand=5)
    with pytest.raises(PosValidationError, match=f"sale for Magento order 9: unknown SKU '{sku}'"):
        pos.write_sale(gift_wrapped_sale(sku=sku, stock=stock))
    assert pos.find_sale(9) is None and on_hand(pos.engine, "TEE") == 5


def test_a_long_phone_or_name_is_cut_to_its_column_and_kept_whole_in_the_note(pos):
    phone = "+500 22222 ext. 4711 (switchboard, weekdays) / +44 20 7946 0958 (UK office, ask for accounts)"
    name = "N" * 300
    pos.ensure_customer(CustomerIn(email="long@example.com", first_name=name, phone=phone, magento_id=5))
    with pos.engine.connect() as connection:
        row = connection.execute(select(m.Customer.first_name, m.Customer.phone, m.Customer.note)).one()
    assert (row.first_name, row.phone) == (name[:255], phone[:64].rstrip())
    assert row.note.splitlines() == [f"first name: {name}", f"phone: {phone}"]


# --- end to end: refusals a bookkeeper can read --------------------------------------------------------------


@pytest.fixture
def inbound_settings(tmp_path, database_url, magento, request) -> dict:
    overrides = getattr(request, "param", {})
    return inbound_test_settings(tmp_path, database_url, magento.base_url, **overrides)


def test_an_order_that_does_not_add_up_fails_for_good_with_every_figure_and_writes_nothing(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    order = inbound.seed_order(301, [{"sku": "TEE-1", "name": "Tee", "qty": 2, "price": 20.0, "discount": 4.0}])
    # A row total net of its discount (as some stores send), and a grand total its parts do not make.
    order["items"][0].update(row_total=36.0, base_row_total=36.0)
    order.update(grand_total=45.0, base_grand_total=45.0)
    inbound.magento.seed(orders=[order])
    inbound.deliver("order", 301)
    inbound.work()

    link = inbound.link("order", 301)
    assert link["status"] == "failed"
    assert link["error"].endswith(
        "order 000000301: lines 36.00 + shipping 5.00 + tax not in lines 0.00 = 41.00 ≠ owed 45.00 (base USD)"
    )
    assert "order-301" in FailedJobRegistry(QUEUE_INBOUND, connection=inbound.redis)
    # The same sentence in the run history, where an operator looks first.
    client = inbound.app.test_client()
    runs = client.get("/api/v1/runs?kind=sales", headers=API_AUTH).get_json()
    (listed,) = [run for run in runs if run["status"] == "failed"]
    failed = client.get(f"/api/v1/runs/{listed['run_id']}", headers=API_AUTH).get_json()
    assert failed["counts"]["failed"] == 1
    assert [(error["key"], error["message"]) for error in failed["errors"]] == [("order 301", link["error"])]
    assert inbound.pos.find_sale(301) is None
    assert inbound.on_hand("TEE-1") == 10
    assert inbound.count(m.Customer) == 0


@pytest.mark.parametrize("inbound_settings", [{"POS_CURRENCY": "EUR"}], indirect=True)
def test_pos_currency_refuses_an_order_in_another_base_currency(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    inbound.seed_order(302, [{"sku": "TEE-1", "name": "Tee", "qty": 1, "price": 20.0}])
    inbound.deliver("order", 302)
    inbound.work()

    link = inbound.link("order", 302)
    assert link["status"] == "failed"
    assert "order 000000302 is in base currency USD but the POS books in EUR (POS_CURRENCY)" in link["error"]
    assert inbound.pos.find_sale(302) is None and inbound.on_hand("TEE-1") == 10


def test_a_canceled_invoice_voids_the_payment_its_paid_delivery_recorded(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    inbound.seed_order(303, [{"sku": "TEE-1", "name": "Tee", "qty": 1, "price": 20.0}])
    inbound.magento.seed(invoices=[{"entity_id": 403, "order_id": 303}])
    inbound.deliver("invoice", 403)
    inbound.work()
    assert inbound.pos.find_invoice(403).paid == Decimal(25)

    canceled = {**inbound.magento_record("invoices", 403), "state": 3}
    inbound.magento.seed(invoices=[canceled])
    inbound.deliver("invoice", 403)
    inbound.work()
    written = inbound.pos.find_invoice(403)
    assert (written.status, written.paid) == ("canceled", 0)
    ((amount, voided),) = payments(inbound.pos.engine)
    assert amount == Decimal(25) and voided is not None
    assert inbound.link("invoice", 403)["status"] == "synced"


def test_a_credit_memo_refunded_online_says_so_and_a_canceled_one_refunds_nothing(inbound):
    inbound.seed_order(304, [{"sku": "TEE-1", "name": "Tee", "qty": 1, "price": 20.0}])
    inbound.magento.seed(creditmemos=[{"entity_id": 504, "order_id": 304}, {"entity_id": 505, "order_id": 304}])
    online = {**inbound.magento_record("creditmemos", 504), "state": 2, "transaction_id": "ch_3Kx-refund"}
    canceled = {**inbound.magento_record("creditmemos", 505), "state": 3}
    inbound.magento.seed(creditmemos=[online, canceled])
    inbound.deliver("creditmemo", 504)
    inbound.deliver("creditmemo", 505)
    inbound.work()

    refunded = inbound.pos.find_credit_note(504)
    assert (refunded.status, refunded.refunded, refunded.online) == ("refunded", Decimal(25), True)
    nothing = inbound.pos.find_credit_note(505)
    assert (nothing.status, nothing.refunded) == ("canceled", 0)


def test_an_order_and_invoice_with_gift_wrapping_land_with_a_gift_wrapping_line_that_lowers_no_stock(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    order = inbound.seed_order(305, [{"sku": "TEE-1", "name": "Tee", "qty": 2, "price": 20.0}])  # 40 + 5 shipping
    # Adobe Commerce: wrapping of the items (in extension_attributes) and a printed card (top level); their tax is
    # in the order's tax and both in its grand total.
    order.setdefault("extension_attributes", {}).update(gw_items_base_price=6.0, gw_items_base_tax_amount=0.5)
    order.update(gw_card_base_price=1.5, gw_card_base_tax_amount=0.12)
    order.update(base_tax_amount=0.62, tax_amount=0.62, base_grand_total=53.12, grand_total=53.12)
    inbound.magento.seed(orders=[order])
    inbound.magento.seed(invoices=[{"entity_id": 405, "order_id": 305}])
    invoice = inbound.magento_record("invoices", 405)
    invoice.setdefault("extension_attributes", {}).update(gw_items_base_price=6.0, gw_items_base_tax_amount=0.5)
    invoice.update(gw_card_base_price=1.5, gw_card_base_tax_amount=0.12)
    invoice.update(base_tax_amount=0.62, tax_amount=0.62, base_grand_total=53.12, grand_total=53.12)
    inbound.magento.seed(invoices=[invoice])
    inbound.deliver("order", 305)
    inbound.deliver("invoice", 405)
    inbound.work()

    assert inbound.link("order", 305)["status"] == "synced"
    sale = inbound.pos.find_sale(305)
    assert [(line.sku, line.qty, line.unit_price, line.tax, line.line_total) for line in sale.lines] == [
        ("TEE-1", Decimal(2), Decimal(20), Decimal(0), Decimal(40)),
        (GIFT_WRAPPING_SKU, Decimal(1), Decimal("7.50"), Decimal("0.62"), Decimal("8.12")),
    ]
    assert (sale.subtotal, sale.tax, sale.grand_total) == (Decimal("47.50"), Decimal("0.62"), Decimal("53.12"))
    assert inbound.on_hand("TEE-1") == 8 and inbound.on_hand(GIFT_WRAPPING_SKU) is None
    assert inbound.link("invoice", 405)["status"] == "synced"
    assert inbound.pos.find_invoice(405).paid == Decimal("53.12")
