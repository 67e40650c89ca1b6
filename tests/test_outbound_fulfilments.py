"""Shop fulfilments become Magento shipments: once each, partial ones too, with tracking and the MSI source of
the sale's location; Magento's refusals fail the fulfilment by its id for good, and a ship call whose answer was
lost is found again by its tracking number instead of being sent twice."""

from __future__ import annotations

import time
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs import inbound as jobs_inbound
from syncapi.pos import models as m
from syncapi.state import record_link
from tests.conftest import TEST_API_TOKEN
from tests.fixtures_pos import add_product

AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
ORDER_ID = 501
SHIP = "/V1/order/{orderId}/ship"


def seed_order(magento, *, stock: float = 5) -> dict:
    """A processing order of 2 mugs and one T-shirt (a configurable's variant), its products in the store with
    `stock` units at the default source."""
    magento.seed(
        products=[{"sku": "MUG", "name": "Mug", "price": 5.0}, {"sku": "TEE-M", "name": "Tee M", "price": 20.0}]
    )
    lines = [
        {"sku": "MUG", "name": "Mug", "qty": 2, "price": 5},
        {"sku": "TEE-M", "name": "Tee M", "qty": 1, "price": 20, "parent_sku": "TEE", "parent_name": "Tee"},
    ]
    magento.seed(orders=[{"entity_id": ORDER_ID, "lines": lines, "state": "processing"}])
    return {item["sku"] + ("/child" if item.get("parent_item_id") else ""): item for item in order(magento)["items"]}


def order(magento) -> dict:
    return next(o for o in magento.state("orders") if o["entity_id"] == ORDER_ID)


def set_stock(outbound, sku: str, qty: float, source: str = "default") -> None:
    outbound.svc.magento.post(
        "/V1/inventory/source-items",
        {"sourceItems": [{"sku": sku, "source_code": source, "quantity": qty, "status": 1}]},
        idempotent=True,
    )


def source_qty(magento, sku: str, source: str = "default") -> float:
    return next(i["quantity"] for i in magento.state("source_items") if (i["sku"], i["source_code"]) == (sku, source))


def insert(engine, *rows) -> int:
    """Insert rows in one transaction; the first row's id."""
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(rows)
        session.commit()
        return rows[0].id


def web_sale(outbound, location: str = "WEB") -> int:
    customer = m.Customer(email="ship@example.com", first_name="Ship", last_name="Me")
    insert(outbound.engine, customer)
    sale = m.Sale(
        magento_order_id=ORDER_ID,
        customer_id=customer.id,
        location_code=location,
        subtotal=Decimal("30"),
        grand_total=Decimal("30"),
    )
    return insert(outbound.engine, sale)


def fulfil(outbound, sale_id: int, lines: dict[str, str], tracking: str | None, carrier: str | None = "NZ Post"):
    fulfilment = m.Fulfilment(sale_id=sale_id, carrier=carrier, tracking_number=tracking)
    fulfilment_id = insert(outbound.engine, fulfilment)
    insert(
        outbound.engine,
        *[m.FulfilmentLine(fulfilment_id=fulfilment_id, sku=sku, qty=Decimal(q)) for sku, q in lines.items()],
    )
    return fulfilment_id


def shipment_of(outbound, fulfilment_id: int) -> int | None:
    with Session(outbound.engine) as session:
        return session.scalar(select(m.Fulfilment.magento_shipment_id).where(m.Fulfilment.id == fulfilment_id))


def ship_calls(outbound) -> list[dict]:
    return [e for e in outbound.writes(clear=True) if e["template"] == SHIP]


def test_partial_fulfilments_become_one_shipment_each_with_tracking_and_source(outbound_db, magento):
    outbound = outbound_db
    items = seed_order(magento)
    set_stock(outbound, "MUG", 5)
    set_stock(outbound, "TEE-M", 1)
    sale_id = web_sale(outbound)
    first = fulfil(outbound, sale_id, {"MUG": "1"}, "TRACK-1")

    run = outbound.push("fulfilments")
    assert (run.status, run.counts["created"]) == ("succeeded", 1), run.errors
    [call] = ship_calls(outbound)
    assert call["body"] == {
        "items": [{"order_item_id": items["MUG"]["item_id"], "qty": 1}],
        "notify": True,
        "tracks": [{"carrier_code": "custom", "title": "NZ Post", "track_number": "TRACK-1"}],
        "arguments": {"extension_attributes": {"source_code": "default"}},
    }
    [shipment] = magento.state("shipments")
    assert shipment_of(outbound, first) == shipment["entity_id"]
    assert source_qty(magento, "MUG") == 4, "the shipment deducts from the source"
    assert order(magento)["state"] == "processing", "partly shipped"

    again = outbound.push("fulfilments", full=True)
    assert again.counts["unchanged"] == 1 and ship_calls(outbound) == [], "a recorded shipment is never sent again"

    second = fulfil(outbound, sale_id, {"MUG": "1", "TEE-M": "1"}, "TRACK-2", carrier="UPS")
    run = outbound.push("fulfilments")
    assert run.counts["created"] == 1, run.errors
    [call] = ship_calls(outbound)
    # The configurable's parent item is the one shipped, never its child.
    assert {i["order_item_id"] for i in call["body"]["items"]} == {items["MUG"]["item_id"], items["TEE-M"]["item_id"]}
    assert call["body"]["tracks"][0]["carrier_code"] == "ups"
    assert shipment_of(outbound, second) is not None and shipment_of(outbound, second) != shipment_of(outbound, first)
    assert order(magento)["state"] == "complete"
    assert source_qty(magento, "TEE-M") == 0


def test_a_refused_shipment_fails_by_fulfilment_id_and_is_not_retried(outbound, magento):
    seed_order(magento)
    set_stock(outbound, "MUG", 5)
    fulfilment = fulfil(outbound, web_sale(outbound), {"MUG": "3"}, "TRACK-X")
    run = outbound.push("fulfilments")
    assert run.status == "failed" and run.counts["failed"] == 1
    [error] = run.errors
    assert error.key == str(fulfilment)
    assert "Shipment Document Validation Error" in error.message and "unshipped quantity" in error.message
    assert shipment_of(outbound, fulfilment) is None
    ship_calls(outbound)

    later = outbound.push("fulfilments")
    assert ship_calls(outbound) == [] and later.counts["failed"] == 0, "a refusal is not sent again by later runs"


def test_an_unmapped_location_is_refused_before_magento_is_asked(outbound, magento):
    seed_order(magento)
    fulfilment = fulfil(outbound, web_sale(outbound, location="SHOP9"), {"MUG": "1"}, "TRACK-9")
    run = outbound.push("fulfilments")
    assert run.errors[0].key == str(fulfilment) and "STOCK_SOURCES" in run.errors[0].message
    assert ship_calls(outbound) == []


def test_the_source_of_the_sale_location_is_used_and_missing_stock_refuses(outbound, magento):
    outbound.start(STOCK_SOURCES="WEB:default,SHOP1:shop_1")
    seed_order(magento)
    set_stock(outbound, "MUG", 5)
    fulfilment = fulfil(outbound, web_sale(outbound, location="SHOP1"), {"MUG": "1"}, "TRACK-S")
    run = outbound.push("fulfilments")
    [call] = ship_calls(outbound)
    assert call["body"]["arguments"] == {"extension_attributes": {"source_code": "shop_1"}}
    # shop_1 holds no mugs: MSI's source deduction refuses the shipment.
    assert run.errors[0].key == str(fulfilment)
    assert "Not all of your products are available" in run.errors[0].message
    assert magento.state("shipments") == []


def test_a_lost_answer_is_found_by_tracking_number_and_a_5xx_is_retried(outbound, magento):
    outbound.start(MAGENTO_READ_TIMEOUT=1)
    seed_order(magento)
    set_stock(outbound, "MUG", 5)
    sale_id = web_sale(outbound)
    lost = fulfil(outbound, sale_id, {"MUG": "1"}, "TRACK-LOST")
    # Magento creates the shipment, but its answer comes after the client gave up.
    magento.add_fault(path_prefix="/V1/order/", methods=["POST"], latency_ms=1500)
    run = outbound.push("fulfilments")
    assert run.counts["failed"] == 1 and run.errors[0].key == str(lost)
    magento.clear_faults()
    deadline = time.monotonic() + 5  # the late answer's request is still being handled
    while not magento.state("shipments") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(magento.state("shipments")) == 1 and shipment_of(outbound, lost) is None
    ship_calls(outbound)

    run = outbound.push("fulfilments")  # the failed key is retried by the next run
    assert run.counts["created"] == 1, run.errors
    assert ship_calls(outbound) == [], "found by its tracking number, not shipped twice"
    assert shipment_of(outbound, lost) == magento.state("shipments")[0]["entity_id"]
    assert order(magento)["items"][0]["qty_shipped"] == 1

    busy = fulfil(outbound, sale_id, {"MUG": "1"}, "TRACK-503")
    magento.add_fault(path_prefix="/V1/order/", methods=["POST"], status_codes=[503], fail_next=50)
    run = outbound.push("fulfilments")
    assert run.counts["failed"] == 1 and run.errors[0].key == str(busy)
    magento.clear_faults()
    run = outbound.push("fulfilments")
    assert run.counts["created"] == 1 and shipment_of(outbound, busy) is not None
    assert len(magento.state("shipments")) == 2


def test_the_pos_announcement_ships_the_fulfilment(outbound, magento):
    seed_order(magento)
    set_stock(outbound, "MUG", 5)
    fulfilment = fulfil(outbound, web_sale(outbound), {"MUG": "2"}, "TRACK-A")
    api = outbound.app.test_client()
    for _delivery in range(2):  # the POS announces it twice: one shipment
        answer = api.post("/api/v1/pos/changes", headers=AUTH, json={"fulfilments": [fulfilment, fulfilment]})
        assert answer.status_code == 202, answer.get_json()
    outbound.work()
    answer = api.post("/api/v1/pos/changes", headers=AUTH, json={"fulfilments": [fulfilment]})
    outbound.work()
    assert shipment_of(outbound, fulfilment) is not None
    assert len(magento.state("shipments")) == 1


def test_the_order_link_tells_partly_shipped_then_shipped(outbound, magento):
    seed_order(magento)
    set_stock(outbound, "MUG", 5)
    set_stock(outbound, "TEE-M", 5)
    for sku in ("MUG", "TEE-M"):
        add_product(outbound.engine, sku, on_hand=None)
    sale_id = web_sale(outbound)
    insert(
        outbound.engine,
        m.SaleLine(sale_id=sale_id, line_no=1, sku="MUG", qty=Decimal(2), unit_price=Decimal(5), line_total=10),
        m.SaleLine(sale_id=sale_id, line_no=2, sku="TEE-M", qty=Decimal(1), unit_price=Decimal(20), line_total=20),
    )
    record_link(outbound.svc.state_engine, "order", ORDER_ID, "synced", pos_id=sale_id)
    api = outbound.app.test_client()

    def status() -> str:
        answer = api.get(f"/api/v1/links/order/{ORDER_ID}", headers=AUTH)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()["status"]

    assert status() == "synced"
    fulfil(outbound, sale_id, {"MUG": "2"}, "TRACK-P1")
    outbound.push("fulfilments")
    assert status() == "partly_shipped"
    unsent = fulfil(outbound, sale_id, {"TEE-M": "1"}, "TRACK-P2")
    assert status() == "partly_shipped", "a fulfilment counts once it is a Magento shipment"
    outbound.push("fulfilments", keys=[str(unsent)])
    assert status() == "shipped"


def test_the_last_unit_is_sold_once_and_ships_while_the_order_waits(outbound_db, magento):
    """Written at processing, the sale lowers POS stock while Magento still reserves the unit: the stock push
    adds it back, so the web does not count it twice and the shipment's source deduction finds it."""
    outbound = outbound_db
    outbound.start(ORDER_WRITE_STATES="processing")
    add_product(outbound.engine, "ONE", on_hand=1, price="5.00")
    assert outbound.push("products").status == "succeeded"
    assert source_qty(magento, "ONE") == 1
    lines = [{"sku": "ONE", "name": "Product ONE", "qty": 1, "price": 5}]
    magento.seed(orders=[{"entity_id": ORDER_ID, "lines": lines, "state": "processing", "shipping": 0}])
    salable = outbound.svc.magento.get("/V1/inventory/get-product-salable-quantity/ONE/1")
    assert salable == 0, "the order reserves the last unit"

    assert jobs_inbound.import_order(ORDER_ID)["status"] != "failed"
    with Session(outbound.engine) as session:
        sale_id = session.scalar(select(m.Sale.id).where(m.Sale.magento_order_id == ORDER_ID))
        assert session.scalar(select(m.Stock.on_hand).where(m.Stock.sku == "ONE")) == 0, "the sale took it"
    run = outbound.push("stock", keys=["ONE"])
    assert run.status == "succeeded", run.errors
    assert source_qty(magento, "ONE") == 1, "the unit Magento still reserves is added back"
    assert outbound.svc.magento.get("/V1/inventory/get-product-salable-quantity/ONE/1") == 0, "not sold twice"

    fulfilment = fulfil(outbound, sale_id, {"ONE": "1"}, "TRACK-LAST")
    run = outbound.push("fulfilments")
    assert run.counts["created"] == 1, run.errors
    assert shipment_of(outbound, fulfilment) is not None
    assert source_qty(magento, "ONE") == 0 and order(magento)["items"][0]["qty_shipped"] == 1

    outbound.push("stock", keys=["ONE"], force=True)
    assert source_qty(magento, "ONE") == 0, "once shipped nothing is held back"
    assert outbound.svc.magento.get("/V1/inventory/get-product-salable-quantity/ONE/1") == 0


def test_flask_sync_fulfilments_ships_the_ids_given(outbound, magento):
    seed_order(magento)
    set_stock(outbound, "MUG", 5)
    fulfilment = fulfil(outbound, web_sale(outbound), {"MUG": "1"}, "TRACK-CLI")
    result = outbound.app.test_cli_runner().invoke(args=["sync", "fulfilments", "--id", str(fulfilment)])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    assert shipment_of(outbound, fulfilment) == magento.state("shipments")[0]["entity_id"]
    refused = outbound.app.test_cli_runner().invoke(args=["sync", "fulfilments", "--sku", "MUG"])
    assert refused.exit_code == 2
