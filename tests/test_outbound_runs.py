"""Pushes as runs: refusals end a run partial with Magento's reason, 503 bursts are ridden out, a store that is
down fails the run (nothing stored, everything sent next time), failed records are retried by the next run,
announced changes push exactly those records, the bulk API's per-operation results."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

from syncapi.magento import products as magento_products
from syncapi.outbound import mapping
from syncapi.pos import models as m
from syncapi.state import get_watermark
from tests.conftest import TEST_API_TOKEN
from tests.fixtures_pos import add_product
from tests.test_magento_bulk import FAST_POLL

AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
TIMESTAMPED = (m.Product, m.ProductAttribute, m.ProductImage, m.Stock, m.Category, m.Customer)


def age_pos(engine, hours: int = 1) -> None:
    """Date every POS row an hour back, so a run's checkpoint gets past them (nothing read again)."""
    past = m.utcnow() - timedelta(hours=hours)
    with Session(engine) as session:
        for model in TIMESTAMPED:
            session.execute(update(model).values(updated_at=past))
        session.commit()


def touch(engine, model, where, **values) -> None:
    with Session(engine) as session:
        session.execute(update(model).where(where).values(updated_at=m.utcnow(), **values))
        session.commit()


def test_a_refused_record_ends_the_run_partial_with_magentos_reason(outbound, magento):
    # A product made in Magento by hand already uses the URL key the POS product would get.
    taken = [{"attribute_code": "url_key", "value": mapping.url_key("Sock", "SOCK-1")}]
    legacy = {"sku": "LEGACY-SOCK", "name": "Old sock", "price": 1, "attribute_set_id": 4, "custom_attributes": taken}
    magento.seed(products=[legacy])
    add_product(outbound.engine, "SOCK-1", name="Sock")
    add_product(outbound.engine, "SOCK-2", name="Other sock")
    run = outbound.push("products")
    assert run.status == "partial"
    answer = outbound.app.test_client().get(f"/api/v1/runs/{run.run_id}", headers=AUTH)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "partial"
    assert body["counts"] == {"created": 1, "updated": 0, "unchanged": 0, "failed": 1}
    assert [error["key"] for error in body["errors"]] == ["SOCK-1"]
    assert "URL key for specified store already exists" in body["errors"][0]["message"]
    assert sorted(magento.state("products")) == ["LEGACY-SOCK", "SOCK-2"]


def test_bursts_of_503_are_ridden_out(outbound, magento):
    outbound.seed_demo()
    magento.add_fault(path_prefix="/async/bulk", status_codes=[503], fail_next=2, retry_after_s=0)
    magento.add_fault(path_prefix="/V1/products", status_codes=[503, 429, 503], fail_next=3)
    magento.add_fault(path_prefix="/V1/inventory", status_codes=[503], fail_next=2)
    run = outbound.push("products")
    assert run.status == "succeeded", run.errors
    assert run.counts["created"] == 48
    assert len(magento.state("products")) == 51
    assert len(magento.state("source_items")) == 48
    assert all(fault["failures"] > 0 for fault in magento.state("faults"))


def test_a_store_that_is_down_fails_the_run_and_nothing_is_lost(outbound, magento):
    outbound.start(MAGENTO_USE_BULK="false")
    outbound.seed_demo()
    magento.add_fault(path_prefix="/V1/products/", methods=["PUT"], status_codes=[503], error_rate=1.0)
    run = outbound.push("products")
    assert run.status == "failed"
    assert "Magento looks unavailable" in run.reason
    assert magento.state("products") == {}, "every save was refused"
    magento.clear_faults()
    run = outbound.push("products")
    assert run.status == "succeeded" and run.counts["created"] == 48


def test_a_record_that_failed_is_retried_by_the_next_run(outbound, magento):
    outbound.start(MAGENTO_USE_BULK="false")
    outbound.seed_demo()
    age_pos(outbound.engine)
    magento.add_fault(path_prefix="/V1/products/SHT-OXFORD", methods=["PUT"], status_codes=[503], error_rate=1.0)
    run = outbound.push("products")
    assert run.status == "partial" and run.counts["failed"] == 1
    assert [e.key for e in run.errors] == ["SHT-OXFORD"]
    assert "gave up after" in run.errors[0].message
    assert get_watermark(outbound.svc.state_engine, "products")["retry"] == ["SHT-OXFORD"]
    magento.clear_faults()
    outbound.writes(clear=True)
    run = outbound.push("products")
    assert run.status == "succeeded"
    assert run.counts == {"created": 1, "updated": 0, "unchanged": 0, "failed": 0}, "only the failed one is read"
    writes = outbound.writes()
    assert {e["path"].split("/")[5] for e in writes if "{sku}" in e["template"]} == {"SHT-OXFORD"}
    listed = [
        entry["sku"]
        for e in writes
        if "{sku}" not in e["template"]
        for entries in e["body"].values()
        for entry in entries
    ]
    assert listed == ["SHT-OXFORD", "SHT-OXFORD"], "its price and its stock"
    assert magento.product("SHT-OXFORD")["media"]
    assert get_watermark(outbound.svc.state_engine, "products")["retry"] == []


def test_announced_changes_push_exactly_those_records(outbound, magento):
    outbound.seed_demo()
    for kind in ("products", "stock", "prices"):
        outbound.push(kind)
    age_pos(outbound.engine)
    for kind in ("products", "stock", "prices"):  # the watermarks move past the aged rows
        outbound.push(kind)
    outbound.writes(clear=True)
    touch(outbound.engine, m.Product, m.Product.sku.in_(["SHT-OXFORD", "TRS-CORD"]), retail_price=Decimal("99"))
    touch(outbound.engine, m.Product, m.Product.sku == "SHT-OXFORD", name="Oxford Shirt II")
    touch(outbound.engine, m.Stock, m.Stock.sku.in_(["HAT-BEANIE", "HAT-PANAMA"]), on_hand=Decimal(7))

    client = outbound.app.test_client()
    answer = client.post(
        "/api/v1/pos/changes",
        json={"products": ["SHT-OXFORD"], "stock": ["HAT-BEANIE"], "prices": ["TRS-CORD"]},
        headers=AUTH,
    )
    assert answer.status_code == 202, answer.get_json()
    queued = answer.get_json()["queued"]
    outbound.work()
    writes = outbound.writes(clear=True)
    saves = [body["product"]["sku"] for e in writes if e["template"] == "/V1/products" for body in e["body"]]
    assert saves == ["SHT-OXFORD"]
    stock = [
        i["sku"] for e in writes if e["template"] == "/V1/inventory/source-items" for i in e["body"]["sourceItems"]
    ]
    assert stock == ["HAT-BEANIE"]
    prices = [p["sku"] for e in writes if e["template"] == "/V1/products/base-prices" for p in e["body"]["prices"]]
    assert prices == ["TRS-CORD"]
    for kind in ("products", "stock", "prices"):
        run = client.get(f"/api/v1/runs/{queued[kind]['run_id']}", headers=AUTH).get_json()
        assert run["status"] == "succeeded" and run["counts"]["updated"] == 1, (kind, run)
    assert magento.product("SHT-OXFORD")["values"]["all"]["name"] == "Oxford Shirt II"
    # What was not announced waits for the next scheduled push, which sends it (and nothing twice).
    outbound.push("stock")
    assert [i["sku"] for e in outbound.writes(clear=True) for i in e["body"]["sourceItems"]] == ["HAT-PANAMA"]


def test_bulk_operations_report_what_magento_returned(magento, magento_client):
    results = magento_products.bulk_save(
        magento_client,
        [
            {"sku": "B-1", "name": "B 1", "price": 1, "attribute_set_id": 4},
            {"sku": "B-2", "price": 1},
        ],
        **FAST_POLL,
    )
    assert results[0].ok and results[0].result["sku"] == "B-1" and results[0].result["id"] == 1
    assert not results[1].ok and results[1].result is None
