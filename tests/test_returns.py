"""Returns to stock: a credit memo's items go back on hand at `RETURN_LOCATION_CODE` when `MAGENTO_AUTO_RETURN` is
on (the store returns every credit memo item to stock) and nowhere when it is off, recorded on the credit note's
lines, once however often the credit memo comes; the refund says whether it went through the payment gateway."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from sandbox import seed as magento_seed
from syncapi.pos import models as m
from tests.fixtures_inbound import inbound_test_settings
from tests.fixtures_pos import add_product

pytestmark = pytest.mark.usefixtures("magento")

TEE = {"sku": "TEE-1", "name": "Tee", "qty": 2, "price": 20.0}
HOODIE = {"sku": "HOOD-M", "name": "Hoodie M", "qty": 1, "price": 40.0, "parent_sku": "HOOD"}


@pytest.fixture(params=["auto-return", "no-return"])
def auto_return(request) -> bool:
    return request.param == "auto-return"


@pytest.fixture
def inbound_settings(tmp_path, database_url, magento, auto_return) -> dict:
    return inbound_test_settings(
        tmp_path,
        database_url,
        magento.base_url,
        ORDER_WRITE_STATES="processing,complete",
        MAGENTO_AUTO_RETURN="true" if auto_return else "false",
        RETURN_LOCATION_CODE="RETURNS",
    )


def note_lines(inbound) -> list[tuple]:
    with inbound.pos.engine.connect() as connection:
        rows = connection.execute(
            select(
                m.CreditNoteLine.sku,
                m.CreditNoteLine.qty,
                m.CreditNoteLine.returned_qty,
                m.CreditNoteLine.location_code,
            ).order_by(m.CreditNoteLine.id)
        )
        return [(sku, Decimal(qty), Decimal(back), where) for sku, qty, back, where in rows]


def stock_at(inbound, sku: str, location: str) -> Decimal | None:
    with inbound.pos.engine.connect() as connection:
        value = connection.scalar(select(m.Stock.on_hand).where(m.Stock.sku == sku, m.Stock.location_code == location))
        return None if value is None else Decimal(value)


def test_a_closed_order_has_its_credit_memo_written_with_what_went_back(inbound, auto_return):
    inbound.add_product("TEE-1", on_hand=10)
    inbound.add_product("HOOD-M", on_hand=3)
    order = inbound.seed_order(801, [TEE, HOODIE], state="complete")
    inbound.deliver("order", 801)
    inbound.work()
    assert (inbound.on_hand("TEE-1"), inbound.on_hand("HOOD-M")) == (Decimal(8), Decimal(2))
    inbound.magento.seed(invoices=[{"entity_id": 851, "order_id": 801}])
    closed = {**order, "state": "closed", "status": "closed"}
    memo = magento_seed.creditmemo(861, closed, inbound.magento_record("invoices", 851))
    memo["transaction_id"] = "ch_3PqRefund"  # refunded online, through the payment gateway
    inbound.magento.seed(orders=[closed], creditmemos=[memo])
    for entity, number in (("order", 801), ("creditmemo", 861), ("creditmemo", 861), ("invoice", 851)):
        inbound.deliver(entity, number)
        inbound.work()

    assert inbound.link("creditmemo", 861)["status"] == "synced"
    assert inbound.link("order", 801)["status"] == "synced"
    assert inbound.count(m.CreditNote) == 1
    assert inbound.count(m.Refund) == 1
    with inbound.pos.engine.connect() as connection:
        assert connection.scalar(select(m.Refund.online)) is True
    if auto_return:
        assert note_lines(inbound) == [
            ("TEE-1", Decimal(2), Decimal(2), "RETURNS"),
            ("HOOD-M", Decimal(1), Decimal(1), "RETURNS"),
        ]
        assert (stock_at(inbound, "TEE-1", "RETURNS"), stock_at(inbound, "HOOD-M", "RETURNS")) == (
            Decimal(2),
            Decimal(1),
        )
    else:
        assert note_lines(inbound) == [
            ("TEE-1", Decimal(2), Decimal(0), None),
            ("HOOD-M", Decimal(1), Decimal(0), None),
        ]
        assert stock_at(inbound, "TEE-1", "RETURNS") is None
    assert (inbound.on_hand("TEE-1"), inbound.on_hand("HOOD-M")) == (Decimal(8), Decimal(2))  # WEB untouched


def test_an_offline_refund_is_recorded_offline(inbound, auto_return):
    inbound.add_product("TEE-1", on_hand=10)
    inbound.seed_order(802, [TEE], state="closed")
    inbound.magento.seed(creditmemos=[{"entity_id": 862, "order_id": 802}])
    inbound.deliver("creditmemo", 862)
    inbound.work()

    with inbound.pos.engine.connect() as connection:
        assert connection.scalar(select(m.Refund.online)) is False
    expected = Decimal(2) if auto_return else None
    assert stock_at(inbound, "TEE-1", "RETURNS") == expected


def test_a_returned_sku_the_pos_lacks_returns_nothing_and_the_note_is_written(inbound, auto_return):
    add_product(inbound.pos.engine, "TEE-1", on_hand=1)
    inbound.seed_order(803, [TEE, {"sku": "GONE-1", "name": "Gone", "qty": 1, "price": 5.0}], state="closed")
    inbound.magento.seed(creditmemos=[{"entity_id": 863, "order_id": 803}])
    inbound.deliver("creditmemo", 863)
    inbound.work()

    lines = note_lines(inbound)
    assert lines[1] == ("GONE-1", Decimal(1), Decimal(0), None)
    assert lines[0][2] == (Decimal(2) if auto_return else Decimal(0))
