"""Stock and price SKUs waiting for their product: kept in the state database until a run settles them, read
again by the schedule, and counted failed when their product never comes (real Redis, RQ and the sandbox)."""

from __future__ import annotations

import time
from datetime import timedelta

from rq import SimpleWorker
from sqlalchemy import update
from sqlalchemy.orm import Session

from jobs.dispatch import start_sync
from syncapi.outbound.waiting import FIELD, MAX_PRODUCT_PUSHES, MAX_WAIT_S, waiting_skus
from syncapi.pos import models as m
from syncapi.queues import QUEUE_OUTBOUND
from syncapi.state import get_run, get_watermark, list_runs, set_watermark
from tests.fixtures_pos import add_product


def change_stock(engine, sku: str, on_hand: int) -> None:
    with Session(engine) as session:
        session.execute(update(m.Stock).where(m.Stock.sku == sku).values(on_hand=on_hand, updated_at=m.utcnow()))
        session.commit()


def age(engine, *skus: str) -> None:
    """Make the POS rows of `skus` a day old, so a run's watermark moves past them for good."""
    day_ago = m.utcnow() - timedelta(days=1)
    with Session(engine) as session:
        session.execute(update(m.Product).where(m.Product.sku.in_(skus)).values(updated_at=day_ago))
        session.execute(update(m.Stock).where(m.Stock.sku.in_(skus)).values(updated_at=day_ago))
        session.commit()


def runs_of(outbound, kind: str, trigger: str):
    return [
        get_run(outbound.svc.state_engine, r.run_id)
        for r in list_runs(outbound.svc.state_engine, kind)
        if r.trigger == trigger
    ]


def test_a_waiting_sku_stays_until_a_run_that_got_to_its_end_settled_it(outbound, magento):
    add_product(outbound.engine, "WAIT-1", on_hand=5)
    add_product(outbound.engine, "WAIT-2", on_hand=6)
    first = outbound.push("stock")
    assert first.status == "succeeded" and first.counts["failed"] == 0
    assert waiting_skus(outbound.svc.state_engine, "stock") == ["WAIT-1", "WAIT-2"]

    # The product push ends and queues the run for the waiting SKUs; their stock changes meanwhile, and Magento
    # refuses the credentials when that run sends it: the run ends at once, failed.
    start_sync(outbound.svc, "products", "manual")
    SimpleWorker([QUEUE_OUTBOUND], connection=outbound.svc.redis).work(burst=True, max_jobs=1)
    change_stock(outbound.engine, "WAIT-1", 50)
    change_stock(outbound.engine, "WAIT-2", 60)
    magento.add_fault(path_prefix="/V1/inventory/source-items", status_codes=[401], error_rate=1.0)
    outbound.work()
    (failed,) = runs_of(outbound, "stock", "deferred")
    assert failed.status == "failed" and failed.reason.startswith("MagentoAuthError"), failed
    assert waiting_skus(outbound.svc.state_engine, "stock") == ["WAIT-1", "WAIT-2"], "kept: that run never ended"

    magento.clear_faults()
    start_sync(outbound.svc, "products", "manual")  # nothing to create: only queues the waiting SKUs again
    outbound.work()
    ok = [run for run in runs_of(outbound, "stock", "deferred") if run.run_id != failed.run_id]
    assert [run.status for run in ok] == ["succeeded"]
    assert ok[0].counts["updated"] == 2
    assert waiting_skus(outbound.svc.state_engine, "stock") == []
    items = {item["sku"]: item["quantity"] for item in magento.state("source_items")}
    assert items["WAIT-1"] == 50 and items["WAIT-2"] == 60


def test_waiting_skus_outlive_redis_and_the_schedule_takes_them_without_a_product_push(outbound, magento):
    outbound.start(SYNC_INTERVAL_PRODUCTS=0)
    add_product(outbound.engine, "WAIT-1", on_hand=5)
    age(outbound.engine, "WAIT-1")
    assert outbound.push("prices").counts == {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    assert waiting_skus(outbound.svc.state_engine, "prices") == ["WAIT-1"]
    # The product reaches Magento; the run it queued for the waiting SKUs is lost with Redis.
    start_sync(outbound.svc, "products", "manual")
    SimpleWorker([QUEUE_OUTBOUND], connection=outbound.svc.redis).work(burst=True, max_jobs=1)
    outbound.redis.flushdb()
    assert waiting_skus(outbound.svc.state_engine, "prices") == ["WAIT-1"]

    # The next scheduled run has nothing new after its watermark, but reads the waiting SKU again.
    run = get_run(outbound.svc.state_engine, start_sync(outbound.svc, "prices", "schedule").run_id)
    outbound.work()
    run = get_run(outbound.svc.state_engine, run.run_id)
    assert run.status == "succeeded" and run.counts["unchanged"] + run.counts["updated"] == 1
    assert waiting_skus(outbound.svc.state_engine, "prices") == []
    again = outbound.push("prices")
    assert again.counts["failed"] == 0 and waiting_skus(outbound.svc.state_engine, "prices") == []


def test_a_sku_waiting_longer_than_the_limit_is_counted_failed_once(outbound, magento):
    outbound.start(SYNC_INTERVAL_PRODUCTS=0)
    add_product(outbound.engine, "NEVER-1", on_hand=5)
    add_product(outbound.engine, "FRESH-1", on_hand=5)
    age(outbound.engine, "NEVER-1", "FRESH-1")
    outbound.push("stock")
    # An hour goes by for NEVER-1 without its product reaching Magento (no product push is scheduled).
    engine = outbound.svc.state_engine
    stored = get_watermark(engine, "stock")
    stored[FIELD]["NEVER-1"][0] = int(time.time()) - MAX_WAIT_S - 1
    set_watermark(engine, "stock", stored)

    run = outbound.push("stock")
    assert run.counts == {"created": 0, "updated": 0, "unchanged": 0, "failed": 1}
    ((key, message),) = [(e.key, e.message) for e in run.errors]
    assert key == "NEVER-1"
    assert message.startswith("product NEVER-1 is not in Magento: its push failed or was refused")
    assert "stock waits for it" in message
    assert waiting_skus(engine, "stock") == ["FRESH-1"], "FRESH-1 has not waited long"
    assert outbound.push("stock").counts["failed"] == 0, "counted failed once, not retried"


def test_a_product_magento_refuses_fails_its_stock_after_three_product_pushes(outbound, magento):
    add_product(outbound.engine, "REFUSED-1", on_hand=5)
    outbound.push("stock")
    assert waiting_skus(outbound.svc.state_engine, "stock") == ["REFUSED-1"]
    for path in ("/async/bulk/V1/products", "/V1/products"):  # Magento refuses the product, in bulk or alone
        magento.add_fault(path_prefix=path, methods=["POST", "PUT"], status_codes=[400], error_rate=1.0)
    for push in range(1, MAX_PRODUCT_PUSHES + 1):
        products = outbound.push("products")
        assert products.counts["failed"] >= 1, products
        deferred = runs_of(outbound, "stock", "deferred")
        assert len(deferred) == push
        if push < MAX_PRODUCT_PUSHES:
            assert deferred[0].counts["failed"] == 0
            assert waiting_skus(outbound.svc.state_engine, "stock") == ["REFUSED-1"]
    last = deferred[0]
    assert last.counts["failed"] == 1
    assert [e.key for e in last.errors] == ["REFUSED-1"]
    assert "3 product pushes did not create it" in last.errors[0].message
    assert waiting_skus(outbound.svc.state_engine, "stock") == []


def test_a_failed_waiting_sku_of_a_run_for_keys_is_retried_by_the_next_run(outbound, magento):
    add_product(outbound.engine, "WAIT-1", on_hand=5)
    outbound.push("stock")
    outbound.push("products")
    change_stock(outbound.engine, "WAIT-1", 7)
    # A refusal of its own (not a missing product): the run settles it as failed.
    magento.add_fault(path_prefix="/V1/inventory/source-items", status_codes=[400], fail_next=1)
    stored = get_watermark(outbound.svc.state_engine, "stock")
    stored[FIELD] = {"WAIT-1": [int(time.time()), 0]}
    set_watermark(outbound.svc.state_engine, "stock", stored)
    run = outbound.push("stock", keys=["WAIT-1"])
    assert run.counts["failed"] == 1
    assert waiting_skus(outbound.svc.state_engine, "stock") == []
    assert get_watermark(outbound.svc.state_engine, "stock")["retry"] == ["WAIT-1"]
    assert outbound.push("stock").counts["updated"] == 1
    assert magento.state("source_items")[0]["quantity"] == 7


def test_more_waiting_skus_than_the_watermark_holds_keep_the_runs_going(outbound, magento):
    skus = [f"A-LONG-STOCK-KEEPING-UNIT-FOR-THIS-TEST-{n:04d}" for n in range(250)]
    for sku in skus:
        add_product(outbound.engine, sku, on_hand=1)
    run = outbound.push("stock")
    assert run.status == "succeeded" and run.counts["failed"] == 0
    stored = get_watermark(outbound.svc.state_engine, "stock")
    listed = waiting_skus(outbound.svc.state_engine, "stock")
    assert 0 < len(listed) < len(skus)
    assert "cursor" not in stored, "the next run reads everything again, so the SKUs not listed are read too"

    outbound.push("products")
    run = outbound.push("stock")
    assert run.status == "succeeded" and run.counts["unchanged"] == len(skus)
    assert waiting_skus(outbound.svc.state_engine, "stock") == []
    assert "cursor" in get_watermark(outbound.svc.state_engine, "stock")
