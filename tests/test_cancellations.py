"""Cancelled orders end to end: an order written at `processing` and then canceled in the sandbox (over HTTP, as
Magento 2.4 does it) voids its POS sale and puts its stock back once, however often and in whatever order the
deliveries come, on SQLite and PostgreSQL; partial cancellations, holds, and the reconcile poll for missed ones."""

from __future__ import annotations

import itertools
import logging
import threading
from decimal import Decimal

import pytest
from sqlalchemy import select

from jobs.inbound import importer_for
from jobs.reconcile import reconcile_sales
from sandbox import seed as magento_seed
from syncapi.inbound import mappers
from syncapi.magento import MagentoPermanentError
from syncapi.pos import models as m
from syncapi.state import create_run, list_runs
from tests.fixtures_inbound import inbound_test_settings
from tests.fixtures_webhooks import cloud_event, post_signed

pytestmark = pytest.mark.usefixtures("magento")

TEE = {"sku": "TEE-1", "name": "Tee", "qty": 2, "price": 20.0}
MUG = {"sku": "MUG-1", "name": "Mug", "qty": 1, "price": 8.0}
DELIVERY_NUMBERS = itertools.count(1)


@pytest.fixture
def inbound_settings(tmp_path, database_url, magento) -> dict:
    """Orders written at processing (the stores whose orders can be canceled after they are written)."""
    return inbound_test_settings(tmp_path, database_url, magento.base_url, ORDER_WRITE_STATES="processing,complete")


def deliver_event(inbound, event: str, order_id: int):
    """POST one signed CloudEvent of type `event` for the order, with a delivery id of its own."""
    body = cloud_event(event, {"entity_id": order_id}, delivery_id=f"delivery-{event}-{next(DELIVERY_NUMBERS)}")
    return post_signed(inbound.app.test_client(), body)


def cancel_in_magento(inbound, order_id: int) -> bool:
    """Cancel the order the way an admin or an integration does: `POST /V1/orders/{id}/cancel`."""
    return inbound.svc.magento.post(f"/V1/orders/{order_id}/cancel")


def written_at_processing(inbound, order_id: int, lines=(TEE,)) -> int:
    """An order placed with an authorize-only payment (processing, nothing invoiced yet), written to the POS."""
    inbound.seed_order(order_id, list(lines), state="processing", invoiced=False)
    inbound.deliver("order", order_id)
    inbound.work()
    sale = inbound.pos.find_sale(order_id)
    assert sale is not None and sale.status == "completed"
    return sale.id


def sale_row(inbound, order_id: int):
    with inbound.pos.engine.connect() as connection:
        return connection.execute(select(m.Sale).where(m.Sale.magento_order_id == order_id)).one()


def canceled_quantities(inbound, sale_id: int) -> dict[str, Decimal]:
    with inbound.pos.engine.connect() as connection:
        rows = connection.execute(select(m.SaleLine.sku, m.SaleLine.canceled_qty).where(m.SaleLine.sale_id == sale_id))
        return {sku: Decimal(qty) for sku, qty in rows}


def cancellation_runs(inbound, order_id: int) -> list:
    runs = list_runs(inbound.svc.state_engine, kind="sales")
    return [run for run in runs if run.params.get("cancel") == "order" and run.params.get("magento_id") == order_id]


def test_a_written_order_canceled_voids_its_sale_and_puts_stock_back_once(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    inbound.add_product("MUG-1", on_hand=5)
    sale_id = written_at_processing(inbound, 701, (TEE, MUG))
    assert (inbound.on_hand("TEE-1"), inbound.on_hand("MUG-1")) == (Decimal(8), Decimal(4))

    assert cancel_in_magento(inbound, 701) is True
    order = inbound.magento_record("orders", 701)
    assert (order["state"], order["status"]) == ("canceled", "canceled")
    assert [item["qty_canceled"] for item in order["items"]] == [2.0, 1.0]
    for event in ("sales.order.cancelled", "sales.order.updated", "sales.order.cancelled"):
        response = deliver_event(inbound, event, 701)
        assert response.status_code == 202
        inbound.work()

    row = sale_row(inbound, 701)
    assert (row.id, row.status) == (sale_id, "voided")
    assert row.voided_at is not None
    assert inbound.count(m.Sale) == 1  # kept, not deleted
    assert (inbound.on_hand("TEE-1"), inbound.on_hand("MUG-1")) == (Decimal(10), Decimal(5))
    assert canceled_quantities(inbound, sale_id) == {"TEE-1": Decimal(2), "MUG-1": Decimal(1)}
    link = inbound.link("order", 701)
    assert (link["status"], link["pos_id"]) == ("voided", str(sale_id))
    runs = cancellation_runs(inbound, 701)
    assert len(runs) == 1
    assert (runs[0].status, runs[0].counts["updated"]) == ("succeeded", 1)
    assert {sku: Decimal(qty) for sku, qty in runs[0].params["returned"].items()} == {
        "MUG-1": Decimal(1),
        "TEE-1": Decimal(2),
    }
    assert runs[0].params["voided"] is True
    assert runs[0].params["location_code"] == "WEB"


def test_stock_goes_back_where_the_sale_took_it_from(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    written_at_processing(inbound, 702)
    with inbound.pos.engine.begin() as connection:  # the sale was written while the service sold from STORE2
        connection.execute(m.Sale.__table__.update().values(location_code="STORE2"))
    cancel_in_magento(inbound, 702)
    inbound.deliver("order", 702)
    inbound.work()

    with inbound.pos.engine.connect() as connection:
        stock = dict(
            connection.execute(select(m.Stock.location_code, m.Stock.on_hand).where(m.Stock.sku == "TEE-1")).all()
        )
    assert {code: Decimal(qty) for code, qty in stock.items()} == {"WEB": Decimal(8), "STORE2": Decimal(2)}


def test_a_stale_processing_read_after_the_cancel_changes_nothing(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    sale_id = written_at_processing(inbound, 703)
    cancel_in_magento(inbound, 703)
    inbound.deliver("order", 703)
    inbound.work()
    # A replica lagging behind answers the order as it was before the cancel.
    inbound.seed_order(703, [TEE], state="processing", invoiced=False)
    inbound.deliver("order", 703)
    inbound.work()

    assert sale_row(inbound, 703).status == "voided"
    assert inbound.on_hand("TEE-1") == Decimal(10)
    assert canceled_quantities(inbound, sale_id) == {"TEE-1": Decimal(2)}
    assert inbound.link("order", 703)["status"] == "voided"
    assert len(cancellation_runs(inbound, 703)) == 1


def test_an_order_canceled_before_it_was_written_is_never_written(inbound, caplog):
    inbound.add_product("TEE-1", on_hand=10)
    inbound.seed_order(704, [TEE], state="pending", invoiced=False)
    inbound.deliver("order", 704)
    inbound.work()
    assert inbound.link("order", 704)["status"] == "pending"

    assert cancel_in_magento(inbound, 704) is True
    with caplog.at_level(logging.INFO):
        for _ in range(2):
            assert deliver_event(inbound, "sales.order.cancelled", 704).status_code == 202
            inbound.work()

    assert inbound.count(m.Sale) == 0
    assert inbound.on_hand("TEE-1") == Decimal(10)
    link = inbound.link("order", 704)
    assert link["status"] == "skipped"
    assert "never written" in link["error"]
    assert any(r.getMessage() == "cancellation of an order the POS does not have" for r in caplog.records)
    assert cancellation_runs(inbound, 704) == []


def test_a_cancellation_for_an_order_the_pos_never_had_is_accepted_and_does_nothing(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    inbound.seed_order(705, [TEE], state="canceled")
    response = deliver_event(inbound, "sales.order.cancelled", 705)
    assert response.status_code == 202
    inbound.work()

    assert inbound.count(m.Sale) == 0
    assert inbound.on_hand("TEE-1") == Decimal(10)
    assert inbound.link("order", 705)["status"] == "skipped"


def test_magento_cancels_only_what_can_be_canceled(inbound):
    inbound.seed_order(706, [TEE], state="complete")
    inbound.seed_order(707, [TEE], state="processing")  # fully invoiced
    inbound.seed_order(708, [TEE], state="processing", invoiced=False)
    assert cancel_in_magento(inbound, 706) is False
    assert cancel_in_magento(inbound, 707) is False
    assert inbound.magento_record("orders", 706)["state"] == "complete"
    assert inbound.magento_record("orders", 707)["state"] == "processing"

    assert inbound.svc.magento.post("/V1/orders/708/hold") is True
    assert inbound.magento_record("orders", 708)["state"] == "holded"
    assert cancel_in_magento(inbound, 708) is False  # a held order is released before it can be canceled
    with pytest.raises(MagentoPermanentError):
        inbound.svc.magento.post("/V1/orders/708/hold")
    assert inbound.svc.magento.post("/V1/orders/708/unhold") is True
    assert inbound.magento_record("orders", 708)["state"] == "processing"
    with pytest.raises(MagentoPermanentError):
        inbound.svc.magento.post("/V1/orders/708/unhold")
    assert cancel_in_magento(inbound, 708) is True
    assert cancel_in_magento(inbound, 708) is False
    assert inbound.magento.violations()["violations"] == []


@pytest.mark.parametrize("state", ["holded", "payment_review"])
def test_held_and_payment_review_orders_are_never_written_even_when_listed(inbound_settings, request, state):
    inbound_settings["ORDER_WRITE_STATES"] = f"processing,complete,{state}"
    inbound = request.getfixturevalue("inbound")
    assert state in inbound.svc.settings.order_write_states
    inbound.add_product("TEE-1", on_hand=10)
    inbound.seed_order(709, [TEE], state=state, invoiced=False)
    inbound.deliver("order", 709)
    inbound.work()

    assert inbound.count(m.Sale) == 0
    link = inbound.link("order", 709)
    assert link["status"] == "pending"
    assert "released" in link["error"]


def test_held_then_released_is_written_once(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    inbound.seed_order(710, [TEE], state="pending", invoiced=False)
    inbound.svc.magento.post("/V1/orders/710/hold")
    inbound.deliver("order", 710)
    inbound.work()
    assert inbound.count(m.Sale) == 0
    inbound.svc.magento.post("/V1/orders/710/unhold")
    inbound.seed_order(710, [TEE], state="processing", invoiced=False)
    for _ in range(2):
        inbound.deliver("order", 710)
        inbound.work()
    assert inbound.count(m.Sale) == 1
    assert inbound.on_hand("TEE-1") == Decimal(8)


def test_written_at_processing_then_complete_is_written_once(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    sale_id = written_at_processing(inbound, 711)
    inbound.seed_order(711, [TEE], state="complete")
    for _ in range(2):
        inbound.deliver("order", 711)
        inbound.work()
    assert inbound.count(m.Sale) == 1
    assert inbound.on_hand("TEE-1") == Decimal(8)
    assert inbound.link("order", 711) | {"synced_at": None} == {
        **inbound.link("order", 711),
        "synced_at": None,
        "status": "synced",
        "pos_id": str(sale_id),
    }


def partly_invoiced_order(order_id: int) -> dict:
    """A processing order of a tee (invoiced) and a mug (not yet), as Magento holds it after a partial invoice."""
    order = magento_seed.order(order_id, [TEE, MUG], state="processing", invoiced=False, shipping=0.0)
    tee = order["items"][0]
    tee.update(qty_invoiced=2.0, row_invoiced=40.0, base_row_invoiced=40.0, tax_invoiced=0.0, base_tax_invoiced=0.0)
    for prefix in ("", "base_"):
        order.update(
            {
                f"{prefix}subtotal_invoiced": 40.0,
                f"{prefix}tax_invoiced": 0.0,
                f"{prefix}shipping_invoiced": 0.0,
                f"{prefix}discount_invoiced": 0.0,
                f"{prefix}total_invoiced": 40.0,
                f"{prefix}total_paid": 40.0,
            }
        )
    return order


def test_a_partial_cancel_after_a_partial_invoice_takes_back_that_part_once(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    inbound.add_product("MUG-1", on_hand=5)
    inbound.magento.seed(orders=[partly_invoiced_order(712)])
    inbound.deliver("order", 712)
    inbound.work()
    sale_id = inbound.pos.find_sale(712).id
    assert (inbound.on_hand("TEE-1"), inbound.on_hand("MUG-1")) == (Decimal(8), Decimal(4))

    assert cancel_in_magento(inbound, 712) is True
    order = inbound.magento_record("orders", 712)
    assert order["state"] == "processing"  # the invoiced tee is still to ship
    assert [item["qty_canceled"] for item in order["items"]] == [0.0, 1.0]
    for _ in range(3):
        deliver_event(inbound, "sales.order.cancelled", 712)
        inbound.work()

    row = sale_row(inbound, 712)
    assert (row.status, row.voided_at) == ("completed", None)
    assert (inbound.on_hand("TEE-1"), inbound.on_hand("MUG-1")) == (Decimal(8), Decimal(5))
    assert canceled_quantities(inbound, sale_id) == {"TEE-1": Decimal(0), "MUG-1": Decimal(1)}
    assert inbound.link("order", 712)["status"] == "synced"
    runs = cancellation_runs(inbound, 712)
    assert len(runs) == 1
    assert runs[0].params["voided"] is False


def test_the_reconcile_poll_voids_a_canceled_order_whose_webhook_never_came(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    sale_id = written_at_processing(inbound, 713)
    cancel_in_magento(inbound, 713)  # no webhook
    for _ in range(2):
        run = create_run(inbound.svc.state_engine, "sales", "manual", {"full": True})
        reconcile_sales(run.run_id, full=True)
        inbound.work()

    assert sale_row(inbound, 713).status == "voided"
    assert inbound.on_hand("TEE-1") == Decimal(10)
    assert canceled_quantities(inbound, sale_id) == {"TEE-1": Decimal(2)}
    assert inbound.link("order", 713)["status"] == "voided"
    assert len(cancellation_runs(inbound, 713)) == 1


def test_concurrent_cancel_and_complete_deliveries_end_in_one_consistent_state(inbound):
    """Threads each run the import as a delivery would: some read the order before the cancel (its stale
    processing body, written as a sale), the others after it (canceled). However they interleave, one sale ends
    voided with its stock back once."""
    inbound.add_product("TEE-1", on_hand=10)
    inbound.seed_order(714, [TEE], state="processing", invoiced=False)
    stale = mappers.order_to_sale(inbound.magento_record("orders", 714))
    cancel_in_magento(inbound, 714)
    start = threading.Barrier(12)
    errors: list[BaseException] = []

    def late_write():
        importer = importer_for(inbound.svc)
        start.wait()
        try:
            result = importer.gateway.write_sale(stale)
            if result.created:
                importer._after_written(714, result)
        except BaseException as exc:
            errors.append(exc)

    def cancel():
        importer = importer_for(inbound.svc)
        start.wait()
        try:
            importer.import_order(714)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=late_write if n % 2 else cancel) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert inbound.count(m.Sale) == 1
    assert sale_row(inbound, 714).status == "voided"
    assert inbound.on_hand("TEE-1") == Decimal(10)
    assert inbound.link("order", 714)["status"] == "voided"
