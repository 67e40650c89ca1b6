"""Every REST record recorded from real Magento stores, fed through the service as Magento would announce it:
seeded into the sandbox, announced by a signed webhook, imported by a real rq worker into the POS (SQLite and
PostgreSQL), and each POS document reconciled to the record's base-currency totals to the cent (docs/money.md).

The records live beside the repository and are never copied into it: the tests skip when the folder is absent,
and fail then under CI=true.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from syncapi.pos import models as m
from tests.fixtures_inbound import inbound_test_settings

pytestmark = pytest.mark.usefixtures("magento")

REAL_RECORDS = Path(__file__).resolve().parents[1] / ".." / "shared" / "magento" / "real-records"
IN_CI = os.environ.get("CI") == "true"
CENT = Decimal("0.01")


def _files(prefix: str) -> list:
    """The record files named `<prefix>-*.json` as test parameters (one `None` when the folder is absent)."""
    if not REAL_RECORDS.is_dir():
        return [pytest.param(None, id="absent")]
    return [pytest.param(path, id=path.stem) for path in sorted(REAL_RECORDS.glob(f"{prefix}-*.json"))]


def _load(path: Path | None) -> dict:
    if path is None:
        message = f"the real Magento records are missing at {REAL_RECORDS}"
        if IN_CI:
            pytest.fail(message + " (required under CI=true)")
        pytest.skip(message)
    return json.loads(path.read_text(encoding="utf-8"))


def _one(name: str) -> dict:
    """The record file `<name>.json`."""
    path = REAL_RECORDS / f"{name}.json"
    return _load(path if path.is_file() else None)


def _record(kind: str, entity_id: int) -> dict:
    for path in REAL_RECORDS.glob(f"{kind}-*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("entity_id") == entity_id:
            return record
    raise LookupError(f"no real {kind} {entity_id}")


def d(value) -> Decimal:
    return Decimal(str(value if value is not None else 0))


@pytest.fixture
def inbound_settings(tmp_path, database_url, magento) -> dict:
    """The recorded orders are `new`: the POS takes them at that state here."""
    return inbound_test_settings(tmp_path, database_url, magento.base_url, ORDER_WRITE_STATES="new,processing,complete")


def stock_the_pos(inbound, order: dict, on_hand: int = 50) -> None:
    """Every SKU of the order's items in the POS, at the item's base price (10.00 where the item has none)."""
    for item in order["items"]:
        if item.get("product_type") == "bundle":
            continue  # a bundle is no POS product: its children are
        if inbound.pos.get_products([item["sku"]]):
            continue
        price = d(item.get("base_price")) or Decimal("10.00")
        inbound.add_product(item["sku"], on_hand=on_hand, price=str(price))


def import_order(inbound, order: dict):
    stock_the_pos(inbound, order)
    inbound.magento.seed(orders=[order])
    assert inbound.deliver("order", order["entity_id"]).status_code == 202
    inbound.work()


def assert_sale_reconciles(sale, order: dict) -> None:
    """The POS sale adds up, by its own columns, to what the customer owed in the base currency."""
    lines = sum(line.line_total for line in sale.lines)
    other_tax = sale.tax - sum(line.tax for line in sale.lines)
    assert (lines + sale.shipping + other_tax).quantize(CENT) == sale.grand_total.quantize(CENT)
    assert sale.grand_total.quantize(CENT) == d(order["base_grand_total"]).quantize(CENT)
    assert sum(t.amount for t in sale.tenders) == sale.grand_total
    assert [t.tender_type for t in sale.tenders] == ["web orders"]
    assert sum(line.discount for line in sale.lines).quantize(CENT) == sale.discount.quantize(CENT)
    gross = sum(line.qty * line.unit_price for line in sale.lines)
    assert abs(gross - sale.subtotal) <= CENT * len(sale.lines), (gross, sale.subtotal)
    assert (sale.currency, sale.order_currency) == (order["base_currency_code"], order["order_currency_code"])
    assert sale.order_grand_total == d(order["grand_total"])
    assert sale.base_to_order_rate == d(order["base_to_order_rate"])
    for line in sale.lines:
        assert line.line_total >= 0 and line.tax >= 0 and line.tax_percent >= 0


@pytest.mark.parametrize("path", _files("order"))
def test_every_real_order_lands_as_a_sale_that_adds_up_to_what_the_customer_paid(inbound, path):
    order = _load(path)
    before = {item["sku"]: inbound.on_hand(item["sku"]) for item in order["items"]}
    import_order(inbound, order)

    link = inbound.link("order", order["entity_id"])
    assert (link["status"], link["error"]) == ("synced", None), link
    sale = inbound.pos.find_sale(order["entity_id"])
    assert_sale_reconciles(sale, order)
    # Each line keeps the tax and rate Magento charged; stock falls once per unit sold, never for a virtual item
    # or a bundle item itself.
    taxed = {item["sku"]: d(item["tax_percent"]) for item in order["items"] if d(item.get("base_tax_amount"))}
    for line in sale.lines:
        if line.sku in taxed:
            assert line.tax_percent == taxed[line.sku]
    sold: dict[str, Decimal] = {}
    for line in sale.lines:
        item_types = {i["product_type"] for i in order["items"] if i["sku"] == line.sku}
        if not item_types & {"downloadable", "virtual"}:
            sold[line.sku] = sold.get(line.sku, Decimal(0)) + line.qty
    for sku, qty in sold.items():
        assert inbound.on_hand(sku) == 50 - qty, sku
    for sku in set(before) - set(sold):
        assert inbound.on_hand(sku) in (None, Decimal(50)), sku


def test_a_string_parent_item_id_is_one_configurable_line_and_lowers_stock_once(inbound):
    order = _one("order-209-parent-item-id-string")
    import_order(inbound, order)
    sale = inbound.pos.find_sale(order["entity_id"])
    assert [(line.sku, line.qty) for line in sale.lines] == [("MH09-XS-Blue", 2), ("RACER", 1)]
    assert inbound.on_hand("MH09-XS-Blue") == 48


def test_a_fixed_price_bundle_shares_its_price_among_its_children_by_pos_retail_price(inbound):
    order = _one("order-103-bundle-fixed")
    for sku, price in {"24-WG082-blue": "27", "24-WG084": "5", "24-WG086": "17", "24-WG088": "20"}.items():
        inbound.add_product(sku, on_hand=5, price=price)
    import_order(inbound, order)
    sale = inbound.pos.find_sale(order["entity_id"])
    shares = {line.sku: line.line_total for line in sale.lines}
    # 68.00 in proportion to 27 : 5 : 17 : 20 (of 69), rounded down, the last child taking the remainder.
    assert shares == {
        "24-WG082-blue": Decimal("26.60"),
        "24-WG084": Decimal("4.92"),
        "24-WG086": Decimal("16.75"),
        "24-WG088": Decimal("19.73"),
    }
    assert sum(shares.values()) == Decimal("68.00")
    assert inbound.pos.get_products(["24-WG080-24-WG084-24-WG088-24-WG082-blue-24-WG086"]) == []


def test_a_long_telephone_is_cut_to_the_column_and_kept_whole_in_the_customers_note(inbound):
    order = _one("order-116-guest-long-phone")
    import_order(inbound, order)
    assert inbound.link("order", order["entity_id"])["status"] == "synced"
    phone = order["billing_address"]["telephone"]
    with inbound.pos.engine.connect() as connection:
        row = connection.execute(
            select(m.Customer.phone, m.Customer.note).where(m.Customer.email == order["customer_email"])
        ).one()
    assert len(phone) > 64 and row.phone == phone[:64].rstrip()
    assert f"phone: {phone}" in row.note


@pytest.mark.parametrize("path", _files("customer"))
def test_every_real_customer_lands_whatever_its_phone(inbound, path):
    customer = _load(path)
    inbound.magento.seed(customers=[customer])
    assert inbound.deliver("customer", customer["id"]).status_code == 202
    inbound.work()
    link = inbound.link("customer", customer["id"])
    assert (link["status"], link["error"]) == ("synced", None), link
    found = inbound.pos.find_customer(magento_id=customer["id"])
    assert found is not None and found.email == customer["email"].lower()
    assert found.phone is None or len(found.phone) <= 64


@pytest.mark.parametrize("path", _files("invoice"))
def test_every_real_invoice_lands_with_its_base_total_and_pays_only_when_paid(inbound, path):
    invoice = _load(path)
    order = _record("order", invoice["order_id"])
    import_order(inbound, order)
    inbound.magento.seed(invoices=[invoice])
    assert inbound.deliver("invoice", invoice["entity_id"]).status_code == 202
    inbound.work()

    link = inbound.link("invoice", invoice["entity_id"])
    assert (link["status"], link["error"]) == ("synced", None), link
    written = inbound.pos.find_invoice(invoice["entity_id"])
    assert written.grand_total == d(invoice["base_grand_total"])
    assert (written.currency, written.order_currency) == (invoice["base_currency_code"], invoice["order_currency_code"])
    assert written.order_grand_total == d(invoice["grand_total"])
    status = {1: "open", 2: "paid", 3: "canceled"}[invoice["state"]]
    assert written.status == status
    assert written.paid == (written.grand_total if status == "paid" else 0)
    assert written.sale_id == inbound.pos.find_sale(invoice["order_id"]).id


@pytest.mark.parametrize("path", _files("creditmemo"))
def test_every_real_credit_memo_lands_with_its_adjustments_reconciled(inbound, path):
    memo = _load(path)
    order = _record("order", memo["order_id"])
    import_order(inbound, order)
    inbound.magento.seed(creditmemos=[memo])
    assert inbound.deliver("creditmemo", memo["entity_id"]).status_code == 202
    inbound.work()

    link = inbound.link("creditmemo", memo["entity_id"])
    assert (link["status"], link["error"]) == ("synced", None), link
    note = inbound.pos.find_credit_note(memo["entity_id"])
    parts = (
        d(memo["base_subtotal"])
        - abs(d(memo["base_discount_amount"]))
        + d(memo["base_shipping_amount"])
        + d(memo["base_tax_amount"])
        + d(memo["base_adjustment_positive"])
        - d(memo["base_adjustment_negative"])
    )
    assert note.grand_total == parts == d(memo["base_grand_total"])
    assert (note.status, note.refunded, note.online) == ("refunded", note.grand_total, False)
    assert note.currency == memo["base_currency_code"]
