"""The price and stock pushes: list endpoints in batches, special prices set and removed, only SKUs Magento has."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

from syncapi.outbound.waiting import waiting_skus
from syncapi.pos import models as m
from syncapi.state import list_runs
from tests.fixtures_pos import add_product


def change(engine, model, where, **values) -> None:
    with Session(engine) as session:
        session.execute(update(model).where(where).values(updated_at=m.utcnow(), **values))
        session.commit()


def test_prices_go_in_batches_and_special_prices_come_and_go(outbound, magento):
    outbound.start(MAGENTO_BATCH_SIZE=10)
    outbound.seed_demo()
    outbound.push("products")
    outbound.writes(clear=True)
    run = outbound.push("prices", full=True, force=True)
    assert run.status == "succeeded" and run.counts["updated"] == 48
    writes = outbound.writes(clear=True)
    base = [e for e in writes if e["template"] == "/V1/products/base-prices"]
    assert sorted(len(e["body"]["prices"]) for e in base) == [8, 10, 10, 10, 10], "sent concurrently"

    change(outbound.engine, m.Product, m.Product.sku == "TRS-CHINO", sale_price=Decimal("49.00"))
    change(outbound.engine, m.Product, m.Product.sku == "DRS-SILK-SLIP", sale_price=None)
    run = outbound.push("prices")
    assert run.counts["updated"] == 2 and run.status == "succeeded"
    specials = {e["sku"]: e["price"] for e in magento.state("special_prices")}
    assert specials["TRS-CHINO"] == 49 and "DRS-SILK-SLIP" not in specials
    assert magento.product("DRS-SILK-SLIP")["values"]["all"].get("special_price") is None
    templates = [e["template"] for e in outbound.writes(clear=True)]
    assert templates == [
        "/V1/products/base-prices",
        "/V1/products/special-price",
        "/V1/products/special-price-delete",
    ]


def test_stock_and_prices_are_only_sent_for_products_magento_has(outbound, magento):
    outbound.seed_demo()
    run = outbound.push("stock")
    assert run.status == "succeeded", "products not in Magento yet wait for their product push: not failures"
    assert run.counts == {"created": 0, "updated": 0, "unchanged": 2, "failed": 0}, "inactive ones are left out"
    assert run.errors == ()
    assert outbound.writes() == [], "source items for unknown SKUs would be answered 200 and dropped"
    deferred = set(waiting_skus(outbound.svc.state_engine, "stock"))
    assert len(deferred) == 48 and "KNW-MOHAIR-TANK" not in deferred, "inactive products are not waited for"
    assert outbound.push("prices").counts["failed"] == 0

    outbound.push("products")
    # The product push sent the new products' stock and prices, then queued a run for the deferred SKUs.
    again = {run.kind: run for run in list_runs(outbound.svc.state_engine) if run.trigger == "deferred"}
    assert sorted(again) == ["prices", "stock"]
    assert sorted(again["stock"].params["keys"]) == sorted(deferred)
    assert again["stock"].status == "succeeded" and again["stock"].counts["unchanged"] == 48
    assert again["prices"].counts["failed"] == 0
    assert waiting_skus(outbound.svc.state_engine, "stock") == [], "settled by the run that sent them"
    outbound.writes(clear=True)
    assert outbound.push("stock").counts["updated"] == 0, "the product push sent the stock of new products"
    assert outbound.push("prices").counts["updated"] == 0
    assert outbound.writes() == []
    assert len(magento.state("source_items")) == 48


def test_stock_by_sku_and_a_sku_without_stock(outbound, magento):
    add_product(outbound.engine, "NOSTOCK-1", on_hand=None)
    add_product(outbound.engine, "NEG-1", on_hand=-3)
    outbound.push("products")
    items = {item["sku"]: item for item in magento.state("source_items")}
    assert items["NOSTOCK-1"]["quantity"] == 0 and items["NOSTOCK-1"]["status"] == 0
    assert items["NEG-1"]["quantity"] == 0, "Magento keeps its own reservations; on-hand below 0 is 0"
    outbound.writes(clear=True)
    run = outbound.push("stock", keys=["NEG-1", "GHOST-1"], force=True)
    assert run.counts == {"created": 0, "updated": 1, "unchanged": 0, "failed": 1}
    assert [(e.key, e.message) for e in run.errors] == [("GHOST-1", "no such product in the POS")]
    assert [i["sku"] for e in outbound.writes() for i in e["body"]["sourceItems"]] == ["NEG-1"]
