"""The Magento → POS mappers: pure functions on plain Magento records, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sandbox import seed
from syncapi.inbound import mappers
from syncapi.inbound.mappers import MappingError
from syncapi.pos.gateway import GIFT_WRAPPING_SKU, CategoryIn, CustomerIn, SaleLineIn
from syncapi.pos.validation import valid_credit_note, valid_invoice, valid_sale

ALICE = seed.customer(7, "alice@example.com", "Alice", "Archer", telephone="555-0101")


def an_order(lines=None, **options) -> dict:
    return seed.order(
        42,
        lines or [{"sku": "MUG-1", "name": "Mug", "qty": 1, "price": 8.5}],
        created_at="2026-01-02 03:04:05",
        **options,
    )


# --- times and amounts ---------------------------------------------------------------------------------------


def test_magento_times_are_utc_without_a_zone():
    moment = mappers.parse_magento_time("2026-01-02 03:04:05")
    assert moment == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert mappers.format_magento_time(moment) == "2026-01-02 03:04:05"
    assert mappers.parse_magento_time("2026-01-02T03:04:05Z") == moment
    assert mappers.parse_magento_time(None) is None
    with pytest.raises(MappingError, match="not a Magento timestamp"):
        mappers.parse_magento_time("yesterday", "order 1 created_at")


@pytest.mark.parametrize(("value", "expected"), [(0.1, Decimal("0.1")), ("19.99", Decimal("19.99")), (None, 0)])
def test_money_is_exact(value, expected):
    assert mappers.money(value, "x") == expected


@pytest.mark.parametrize("value", ["abc", True, [1], "NaN", "inf"])
def test_money_refuses_what_is_not_an_amount(value):
    with pytest.raises(MappingError, match="x must be"):
        mappers.money(value, "x")


# --- orders --------------------------------------------------------------------------------------------------


def test_an_order_becomes_a_valid_sale_with_positive_amounts():
    order = an_order(
        [
            {"sku": "TEE-1", "name": "Tee", "qty": 2, "price": 20.0, "discount": 4.0},
            {"sku": "MUG-1", "name": "Mug", "qty": 1, "price": 8.5},
        ],
        customer_record=ALICE,
        tax_rate=10.0,
        shipping=5.0,
    )
    assert order["discount_amount"] == -4.0  # Magento's sign
    sale = mappers.order_to_sale(order)
    assert (sale.magento_order_id, sale.magento_increment_id, sale.tender_type) == (42, "000000042", "web orders")
    assert (sale.subtotal, sale.discount, sale.shipping, sale.tax, sale.grand_total) == (
        Decimal("48.5"),
        Decimal("4.0"),
        Decimal("5.0"),
        Decimal("4.45"),
        Decimal("53.95"),
    )
    assert sale.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert sale.customer == CustomerIn("alice@example.com", "Alice", "Archer", "555-0100", 7)
    ten = Decimal("10.0")  # each line keeps its tax rate
    assert sale.lines == (
        SaleLineIn("TEE-1", Decimal("2.0"), Decimal("20.0"), Decimal("39.6"), Decimal("4.0"), Decimal("3.6"), ten),
        SaleLineIn("MUG-1", Decimal("1.0"), Decimal("8.5"), Decimal("9.35"), Decimal("0.0"), Decimal("0.85"), ten),
    )
    valid_sale(sale)  # the gateway's own checks accept it


def test_a_configurable_parent_and_child_are_one_line_with_the_parents_amounts():
    order = an_order([{"sku": "TEE-BLK-M", "name": "Tee", "qty": 2, "price": 20.0, "parent_sku": "TEE", "discount": 3}])
    parent, child = order["items"]
    assert (parent["product_type"], child["parent_item_id"], child["price"]) == ("configurable", parent["item_id"], 0)
    assert mappers.sale_lines(order["items"], 42) == (
        SaleLineIn("TEE-BLK-M", Decimal("2.0"), Decimal("20.0"), Decimal("37.0"), Decimal("3.0"), Decimal("0.0")),
    )


def test_a_child_whose_parent_is_only_nested_still_takes_the_parents_amounts():
    order = an_order([{"sku": "TEE-BLK-M", "name": "Tee", "qty": 1, "price": 20.0, "parent_sku": "TEE"}])
    child = order["items"][1]
    assert mappers.sale_lines([child], 42)[0].unit_price == Decimal("20.0")


def test_canceled_quantities_are_not_sold():
    order = an_order([{"sku": "TEE-1", "name": "Tee", "qty": 4, "price": 10.0, "discount": 8}])
    order["items"][0]["qty_canceled"] = 1
    (line,) = mappers.sale_lines(order["items"], 42)
    assert (line.qty, line.line_total, line.discount) == (Decimal("3.0"), Decimal("24.0"), Decimal("6.0"))
    order["items"][0]["qty_canceled"] = 4
    with pytest.raises(MappingError, match="order 42 has no items left to sell"):
        mappers.sale_lines(order["items"], 42)


def test_a_line_without_sku_is_refused():
    order = an_order()
    order["items"][0]["sku"] = " "
    with pytest.raises(MappingError, match="has no SKU"):
        mappers.order_to_sale(order)


def test_a_guest_without_a_customer_name_is_named_from_the_billing_address():
    order = an_order(guest_email="Gina@Example.com")
    order.update(customer_firstname=None, customer_lastname=None, customer_id=None)
    order["billing_address"].update(firstname="Gina", lastname="Guest")
    assert mappers.order_customer(order) == CustomerIn("Gina@Example.com", "Gina", "Guest", "555-0100", None)


def test_a_guest_flag_wins_over_a_stale_customer_id():
    order = an_order(customer_record=ALICE)
    order["customer_is_guest"] = 1
    assert mappers.order_customer(order).magento_id is None


def test_an_order_without_any_email_is_refused():
    order = an_order()
    order["customer_email"] = None
    order["billing_address"]["email"] = ""
    with pytest.raises(MappingError, match="order 42 has no customer email"):
        mappers.order_customer(order)


@pytest.mark.parametrize(
    ("state", "write_states", "action", "reason"),
    [
        ("complete", ("complete",), "write", None),
        ("processing", ("processing", "complete"), "write", None),
        ("processing", ("complete",), "wait", "the order is processing; it is written when it reaches complete"),
        ("new", ("complete", "closed"), "wait", "the order is new; it is written when it reaches complete, closed"),
        ("holded", ("complete",), "wait", "the order is holded; it is written when it reaches complete"),
        ("holded", ("holded", "complete"), "wait", "the order is on hold; it is written when it is released"),
        (
            "payment_review",
            ("processing", "payment_review"),
            "wait",
            "the order is in payment review; it is written when it is released",
        ),
        ("canceled", ("complete",), "skip", "the order is canceled; canceled orders are not written to the POS"),
        ("canceled", ("canceled",), "skip", "the order is canceled; canceled orders are not written to the POS"),
        (
            "closed",
            ("complete",),
            "skip",
            "the order is closed and ORDER_WRITE_STATES is complete: it will not be written",
        ),
        ("closed", ("complete", "closed"), "write", None),
    ],
)
def test_the_order_state_decides(state, write_states, action, reason):
    assert mappers.order_decision({"entity_id": 1, "state": state}, write_states) == mappers.OrderDecision(
        action, reason
    )


def test_an_order_without_state_is_refused():
    with pytest.raises(MappingError, match="order 3 has no state"):
        mappers.order_decision({"entity_id": 3, "status": "complete"}, ("complete",))


# --- invoices and credit memos -------------------------------------------------------------------------------


def test_an_invoice_is_paid_by_the_orders_payment_method():
    order = an_order(customer_record=ALICE)
    invoice = seed.invoice(9, order, created_at="2026-01-02 04:00:00")
    mapped = mappers.invoice_to_pos(invoice, order)
    assert (mapped.magento_invoice_id, mapped.magento_order_id, mapped.grand_total) == (9, 42, Decimal("13.5"))
    assert (mapped.payment_method, mapped.customer.magento_id) == ("checkmo", 7)
    valid_invoice(mapped)


def test_a_credit_memo_refers_to_its_invoice_and_refunds_by_the_orders_method():
    order = an_order()
    order["payment"]["method"] = "braintree"
    memo = seed.creditmemo(5, order, seed.invoice(9, order))
    mapped = mappers.creditmemo_to_pos(memo, order)
    assert (mapped.magento_creditmemo_id, mapped.magento_invoice_id, mapped.refund_method) == (5, 9, "braintree")
    valid_credit_note(mapped)
    memo["invoice_id"] = None
    assert mappers.creditmemo_to_pos(memo, order).magento_invoice_id is None


def test_an_invoice_without_its_order_id_is_refused():
    with pytest.raises(MappingError, match="invoice order_id must be a positive whole number"):
        mappers.order_id_of({"entity_id": 9}, "invoice")


# --- customers and categories --------------------------------------------------------------------------------


def test_a_customer_keeps_the_phone_of_its_default_billing_address():
    assert mappers.customer_to_pos(ALICE) == CustomerIn("alice@example.com", "Alice", "Archer", "555-0101", 7)
    assert mappers.customer_to_pos({**ALICE, "addresses": []}).phone is None
    with pytest.raises(MappingError, match="customer 7 has no email"):
        mappers.customer_to_pos({**ALICE, "email": ""})


def test_categories_under_a_store_root_are_top_level_and_deeper_ones_keep_their_parent():
    top = {"id": 10, "parent_id": 2, "name": "Clothing", "level": 2, "path": "1/2/10"}
    deep = {"id": 12, "parent_id": 11, "name": "Tees", "level": 4, "path": "1/2/10/11/12"}
    assert mappers.category_to_pos(top) == CategoryIn(10, "Clothing", None)
    assert mappers.category_to_pos(deep) == CategoryIn(12, "Tees", 11)
    assert mappers.category_ancestors(deep) == [10, 11]
    assert mappers.category_ancestors(top) == []
    assert [mappers.is_root_category(c) for c in ({"id": 1, "level": 0}, {"id": 2, "path": "1/2"}, top)] == [
        True,
        True,
        False,
    ]
    with pytest.raises(MappingError, match="category 12 has no name"):
        mappers.category_to_pos({**deep, "name": None})


# --- money: base currency, tenders, cancels, refusals (docs/money.md) ----------------------------------------


def test_a_partly_canceled_order_is_sold_for_what_was_not_canceled_and_reconciles():
    order = an_order([{"sku": "TEE-1", "name": "Tee", "qty": 4, "price": 10.0}], shipping=5.0)
    order["items"][0]["qty_canceled"] = 1
    # Magento's cancellation of the uninvoiced unit (Order::registerCancellation): 10.00 of the 45.00.
    order.update(base_total_canceled=10.0, base_subtotal_canceled=10.0, total_canceled=10.0)
    sale = mappers.order_to_sale(order)
    assert (sale.grand_total, sale.subtotal, sale.lines[0].qty, sale.lines[0].line_total) == (
        Decimal(35),
        Decimal(30),
        Decimal(3),
        Decimal(30),
    )
    assert [(t.tender_type, t.amount) for t in sale.tenders] == [("web orders", Decimal(35))]


def test_store_credit_gift_cards_and_reward_points_are_tenders_beside_web_orders():
    order = an_order([{"sku": "TEE-1", "name": "Tee", "qty": 1, "price": 50.0}], shipping=0.0)
    order.update(base_grand_total=20.0, grand_total=20.0, base_customer_balance_amount=15.0)
    order["extension_attributes"].update(base_gift_cards_amount=10.0, base_reward_currency_amount=5.0)
    sale = mappers.order_to_sale(order)
    assert sale.grand_total == Decimal(50)
    assert [(t.tender_type, t.amount) for t in sale.tenders] == [
        ("web orders", Decimal(20)),
        ("store credit", Decimal(15)),
        ("gift card", Decimal(10)),
        ("reward points", Decimal(5)),
    ]


def test_pos_currency_refuses_another_base_currency_and_one_not_named():
    order = an_order()
    assert mappers.order_to_sale(order, pos_currency="usd").currency == "USD"
    with pytest.raises(MappingError, match="is in base currency USD but the POS books in EUR"):
        mappers.order_to_sale(order, pos_currency="EUR")
    order.pop("base_currency_code")
    with pytest.raises(MappingError, match="names no base currency"):
        mappers.order_to_sale(order, pos_currency="USD")


def test_an_amount_known_only_in_another_currency_is_refused_not_converted():
    order = an_order(tax_rate=10.0)
    order.update(order_currency_code="EUR", base_to_order_rate=0.5)
    del order["items"][0]["base_tax_amount"]
    with pytest.raises(MappingError, match="has tax_amount but no base_tax_amount"):
        mappers.order_to_sale(order)


def test_an_unknown_product_type_is_a_plain_line_and_a_virtual_one_lowers_no_stock():
    order = an_order([{"sku": "GIFT-1", "name": "Gift", "qty": 1, "price": 8.5}])
    order["items"][0]["product_type"] = "giftcard_custom"
    assert mappers.order_to_sale(order).lines[0].stock is True
    order["items"][0]["product_type"] = "virtual"
    assert mappers.order_to_sale(order).lines[0].stock is False


def test_a_row_total_that_is_neither_gross_nor_net_is_refused_with_its_figures():
    order = an_order([{"sku": "TEE-1", "name": "Tee", "qty": 2, "price": 20.0, "discount": 4.0}])
    order["items"][0].update(row_total=30.0, base_row_total=30.0)
    item_id = order["items"][0]["item_id"]
    with pytest.raises(MappingError) as refused:
        mappers.order_to_sale(order)
    assert str(refused.value) == (
        f"order 42 item {item_id}: row total 30.00 is neither price 20.0 x qty 2.0 = 40.00 nor that less the discount"
        " 4.00"
    )


@pytest.mark.parametrize(("state", "status"), [(1, "open"), ("2", "paid"), (3, "canceled"), (None, "paid")])
def test_an_invoice_state_becomes_its_status(state, status):
    order = an_order()
    invoice = {**seed.invoice(9, order), "state": state}
    assert mappers.invoice_to_pos(invoice, order).status == status


def test_an_invoice_whose_parts_do_not_add_up_is_refused_with_its_figures():
    order = an_order()
    invoice = {**seed.invoice(9, order), "base_grand_total": 20.0}
    with pytest.raises(MappingError, match=r"invoice 000000009: subtotal 8.50 - discount 0.00 \+ shipping 5.00"):
        mappers.invoice_to_pos(invoice, order)


@pytest.mark.parametrize(
    ("field", "tender"),
    [
        ("base_customer_balance_amount", "store credit"),
        ("base_gift_cards_amount", "gift card"),
        ("base_reward_currency_amount", "reward points"),
    ],
)
@pytest.mark.parametrize("nested", [False, True], ids=["top-level", "extension_attributes"])
def test_an_invoice_and_a_credit_memo_partly_paid_by_another_tender_add_up_without_it(field, tender, nested):
    # Adobe Commerce's invoice and credit memo collectors take the tender off base_grand_total: 13.50 - 4.00.
    order = an_order()
    invoice = seed.invoice(9, order)
    memo = seed.creditmemo(5, order, invoice)
    for document in (invoice, memo):
        document.update(base_grand_total=9.5, grand_total=9.5)
        if nested:
            document.setdefault("extension_attributes", {})[field] = 4.0
        else:
            document[field] = 4.0
    assert mappers.invoice_to_pos(invoice, order).grand_total == Decimal("9.5")
    assert mappers.creditmemo_to_pos(memo, order).grand_total == Decimal("9.5")
    invoice.update(base_grand_total=9.0)
    with pytest.raises(MappingError) as refused:
        mappers.invoice_to_pos(invoice, order)
    assert f"compensation 0.00 - {tender} 4.00 = 9.50 ≠ grand total 9.00" in str(refused.value)


def partly_invoiced_then_canceled() -> dict:
    """3 x 10.00 less 1.00 discount, 10 % tax 2.90: invoiced one unit at a time twice (each invoice rounds its
    third of the discount to 0.33 and of the tax to 0.97: 10.64), then the last unit canceled."""
    order = an_order([{"sku": "TEE-1", "name": "Tee", "qty": 3, "price": 10.0, "discount": 1.0}], shipping=0.0)
    item = order["items"][0]
    item.update(tax_amount=2.9, base_tax_amount=2.9, tax_percent=10.0, qty_invoiced=2.0, qty_canceled=1.0)
    item.update(row_invoiced=20.0, base_row_invoiced=20.0, discount_invoiced=0.66, base_discount_invoiced=0.66)
    item.update(tax_invoiced=1.94, base_tax_invoiced=1.94)
    # Order::registerCancellation: each *_canceled is the amount less what was invoiced; the order's discount
    # invoiced is negative, like its discount, so abs(-1.00) - (-0.66) = 1.66 "canceled", more than the discount.
    order.update(tax_amount=2.9, base_tax_amount=2.9, grand_total=31.9, base_grand_total=31.9)
    order.update(base_discount_invoiced=-0.66, base_discount_canceled=1.66, discount_canceled=1.66)
    order.update(base_subtotal_canceled=10.0, base_tax_canceled=0.96, base_shipping_canceled=0.0)
    order.update(base_total_paid=21.28, base_total_canceled=10.62, total_canceled=10.62)
    return order


def test_a_partly_invoiced_then_canceled_order_with_a_discount_is_sold_for_what_each_invoice_charged():
    sale = mappers.order_to_sale(partly_invoiced_then_canceled())
    (line,) = sale.lines
    assert (line.qty, line.discount, line.tax, line.line_total) == (
        Decimal(2),
        Decimal("0.66"),
        Decimal("1.94"),
        Decimal("21.28"),
    )
    assert (sale.discount, sale.subtotal, sale.tax, sale.grand_total) == (
        Decimal("0.66"),
        Decimal(20),
        Decimal("1.94"),
        Decimal("21.28"),
    )
    valid_sale(sale)


def test_a_partly_canceled_item_without_invoiced_amounts_is_shared_by_quantity():
    order = partly_invoiced_then_canceled()
    for name in ("row_invoiced", "base_row_invoiced"):
        del order["items"][0][name]
    # 2/3 of the discount and tax, each rounded: 20.00 - 0.67 + 1.93 = 21.26, two cents off what was paid.
    with pytest.raises(MappingError, match=r"lines 21.26 .* ≠ owed 21.28"):
        mappers.order_to_sale(order)


def test_a_canceled_discount_larger_than_the_discount_leaves_the_sale_the_discount_of_its_lines():
    # 2 x 10.00 less 1.00, one unit invoiced (discount 0.50), the other canceled: Magento's base_discount_canceled
    # is abs(-1.00) - (-0.50) = 1.50.
    order = an_order([{"sku": "TEE-1", "name": "Tee", "qty": 2, "price": 10.0, "discount": 1.0}], shipping=0.0)
    order["items"][0].update(qty_invoiced=1.0, qty_canceled=1.0)
    order.update(base_discount_invoiced=-0.5, base_discount_canceled=1.5, discount_canceled=1.5)
    order.update(base_subtotal_canceled=10.0, base_total_canceled=9.5, total_canceled=9.5)
    sale = mappers.order_to_sale(order)
    assert (sale.discount, sale.lines[0].discount, sale.grand_total) == (Decimal("0.5"), Decimal("0.5"), Decimal("9.5"))
    valid_sale(sale)


#: Adobe Commerce's gift wrapping kinds (Magento_GiftWrapping): the whole order, its items, the printed card.
GIFT_WRAPPING_KINDS = [
    ("gw_base_price", "gw_base_tax_amount"),
    ("gw_items_base_price", "gw_items_base_tax_amount"),
    ("gw_card_base_price", "gw_card_base_tax_amount"),
]


def _wrap(record: dict, price_field: str, tax_field: str, price: float, tax: float, where: str) -> None:
    target = record if where == "top level" else record.setdefault("extension_attributes", {})
    target.update({price_field: price, tax_field: tax})


@pytest.mark.parametrize("where", ["top level", "extension_attributes"])
@pytest.mark.parametrize(("price_field", "tax_field"), GIFT_WRAPPING_KINDS)
def test_an_orders_gift_wrapping_is_a_service_line_that_lowers_no_stock(price_field, tax_field, where):
    order = an_order()  # 8.50 + shipping 5.00 = 13.50
    _wrap(order, price_field, tax_field, 4.0, 0.33, where)
    # Magento counts the wrapping's tax in the order's tax and both in its grand total.
    order.update(base_tax_amount=0.33, tax_amount=0.33, base_grand_total=17.83, grand_total=17.83)
    sale = valid_sale(mappers.order_to_sale(order))
    mug, wrapping = sale.lines
    assert mug.sku == "MUG-1" and mug.stock
    assert wrapping == SaleLineIn(
        sku=GIFT_WRAPPING_SKU,
        qty=Decimal(1),
        unit_price=Decimal("4.0000"),
        line_total=Decimal("4.33"),
        discount=Decimal(0),
        tax=Decimal("0.33"),
        tax_percent=Decimal("8.25000000"),
        stock=False,
    )
    assert (sale.subtotal, sale.tax, sale.grand_total) == (Decimal("12.50"), Decimal("0.33"), Decimal("17.83"))


def test_every_kind_of_gift_wrapping_together_is_one_line():
    order = an_order()
    order.update(gw_base_price=2.0, gw_base_tax_amount=0.2)
    order["extension_attributes"].update(gw_items_base_price=3.0, gw_items_base_tax_amount=0.3)
    order["extension_attributes"].update(gw_card_base_price=1.0, gw_card_base_tax_amount=0.1)
    order.update(base_tax_amount=0.6, tax_amount=0.6, base_grand_total=20.1, grand_total=20.1)
    sale = valid_sale(mappers.order_to_sale(order))
    (wrapping,) = [line for line in sale.lines if line.sku == GIFT_WRAPPING_SKU]
    assert (wrapping.unit_price, wrapping.tax, wrapping.tax_percent, wrapping.line_total) == (
        Decimal("6.0000"),
        Decimal("0.60"),
        Decimal("10.00000000"),
        Decimal("6.60"),
    )
    assert sale.subtotal == Decimal("14.50")


def test_gift_wrapping_the_grand_total_leaves_out_is_refused_with_every_figure():
    order = an_order()
    order["extension_attributes"].update(gw_items_base_price=5.0, gw_items_base_tax_amount=0.5)
    order.update(base_tax_amount=0.5, tax_amount=0.5)  # grand total still 13.50: the wrapping is not in it
    with pytest.raises(MappingError) as refused:
        mappers.order_to_sale(order)
    assert str(refused.value) == (
        "order 000000042: lines 14.00 + shipping 5.00 + tax not in lines 0.00 = 19.00 ≠ owed 13.50 (base USD)"
    )


def test_an_order_refused_for_fixed_product_tax_names_the_cause():
    order = an_order()
    order.update(base_grand_total=16.5, grand_total=16.5)
    order["items"][0].update(base_weee_tax_applied_amount=3.0, base_weee_tax_applied_row_amnt=3.0)
    with pytest.raises(MappingError, match=r"≠ owed 16.50 \(base USD\); Fixed Product Tax 3.00 is not written"):
        mappers.order_to_sale(order)


@pytest.mark.parametrize("where", ["top level", "extension_attributes"])
@pytest.mark.parametrize(("price_field", "tax_field"), GIFT_WRAPPING_KINDS)
def test_an_invoices_or_credit_memos_gift_wrapping_counts_in_its_totals(price_field, tax_field, where):
    order = an_order()
    invoice = seed.invoice(9, order)
    _wrap(invoice, price_field, tax_field, 2.0, 0.17, where)
    invoice.update(base_tax_amount=0.17, tax_amount=0.17, base_grand_total=15.67, grand_total=15.67)
    assert valid_invoice(mappers.invoice_to_pos(invoice, order)).grand_total == Decimal("15.67")
    memo = seed.creditmemo(5, order, seed.invoice(9, order))
    _wrap(memo, price_field, tax_field, 2.0, 0.17, where)
    memo.update(base_tax_amount=0.17, tax_amount=0.17, base_grand_total=15.67, grand_total=15.67)
    assert valid_credit_note(mappers.creditmemo_to_pos(memo, order)).grand_total == Decimal("15.67")
    memo.update(base_grand_total=13.67)  # a grand total without the wrapping: its parts name it
    with pytest.raises(MappingError) as refused:
        mappers.creditmemo_to_pos(memo, order)
    assert str(refused.value) == (
        "credit memo 000000005: subtotal 8.50 - discount 0.00 + shipping 5.00 + tax 0.17 + discount tax compensation"
        " 0.00 + adjustment refund 0.00 - adjustment fee 0.00 + gift wrapping 2.00 = 15.67 ≠ grand total 13.67"
        " (base USD)"
    )


def test_a_credit_memo_refused_for_fixed_product_tax_names_the_cause():
    order = an_order()
    memo = seed.creditmemo(5, order, seed.invoice(9, order))
    memo.update(base_grand_total=14.5)
    memo["items"][0]["base_weee_tax_applied_row_amnt"] = 1.0
    with pytest.raises(
        MappingError, match=r"≠ grand total 14.50 \(base USD\); Fixed Product Tax 1.00 is not written to the POS$"
    ):
        mappers.creditmemo_to_pos(memo, order)
