"""The attention list and its actions: a failed order planted through a signed webhook, read back from
`GET /api/v1/attention` with its code and sentence, fixed in the POS, retried, gone; retry all of one code;
dismiss with a note; a failing push run and a failed job on the list. Real worker, sandbox, Redis, SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from rq import Queue, SimpleWorker
from rq.registry import FailedJobRegistry

from syncapi import problems
from syncapi.queues import QUEUE_DEFAULT, QUEUE_OUTBOUND
from syncapi.state import run_history as runs
from syncapi.state.dismissals import dismissals
from tests.fixtures_inbound import API_AUTH

pytestmark = pytest.mark.usefixtures("magento")


def attention(inbound, query: str = "") -> list[dict]:
    response = inbound.app.test_client().get(f"/api/v1/attention{query}", headers=API_AUTH)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def plant_unknown_sku_order(inbound, order_id: int, sku: str) -> None:
    inbound.seed_order(order_id, [{"sku": sku, "name": "New thing", "qty": 1, "price": 9.0}])
    assert inbound.deliver("order", order_id).status_code == 202
    inbound.work()


def boom(n: int) -> int:
    raise RuntimeError(f"boom {n}")


def test_a_failed_order_is_listed_with_its_code_and_sentence_then_fixed_and_retried(inbound):
    plant_unknown_sku_order(inbound, 4711, "WEB-TEE-RED-M")

    [item] = attention(inbound)
    assert item["id"] == "link-order-4711"
    assert (item["entity"], item["key"], item["magento_number"]) == ("order", "4711", "000004711")
    assert item["code"] == "unknown_sku"
    assert item["message"] == "SKU WEB-TEE-RED-M is not in the POS"
    assert item["tries"] == 1
    since = datetime.fromisoformat(item["since"])
    assert since.tzinfo is not None and abs(datetime.now(since.tzinfo) - since) < timedelta(minutes=5)
    # The import job behind it is the link's item, not a second one.
    assert "order-4711" in FailedJobRegistry("inbound", connection=inbound.redis)

    assert [i["id"] for i in attention(inbound, "?kind=order&code=unknown_sku")] == ["link-order-4711"]
    assert attention(inbound, "?kind=invoice") == []
    assert attention(inbound, "?older_than=1d") == []
    assert len(attention(inbound, "?older_than=0")) == 1
    assert attention(inbound, "?older_than=999999999d") == []  # longer than any date: nothing, not an error

    inbound.add_product("WEB-TEE-RED-M")
    response = inbound.api_post("/api/v1/attention/link-order-4711/retry")
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"id": "link-order-4711", "status": "queued", "job_id": "order-4711"}
    inbound.work()

    assert inbound.link("order", 4711)["status"] == "synced"
    assert inbound.pos.find_sale(4711) is not None
    assert attention(inbound) == []
    assert inbound.api_post("/api/v1/attention/link-order-4711/retry").status_code == 404


def test_bad_queries_and_bodies_are_refused_and_change_nothing(inbound):
    plant_unknown_sku_order(inbound, 130, "NEW-130")
    client = inbound.app.test_client()
    assert client.get("/api/v1/attention").status_code == 401
    assert client.post("/api/v1/attention/link-order-130/retry").status_code == 401
    for query in ("?kind=orders", "?older_than=soon", "?code=nope", "?colour=red"):
        response = client.get(f"/api/v1/attention{query}", headers=API_AUTH)
        assert response.status_code == 422, query
        assert response.get_json()["error"]
    assert inbound.api_post("/api/v1/attention/retry", json={"code": "nope"}).status_code == 422
    assert inbound.api_post("/api/v1/attention/retry", json={}).status_code == 422
    assert inbound.api_post("/api/v1/attention/link-order-130/dismiss", json={"note": "  "}).status_code == 422
    assert inbound.api_post("/api/v1/attention/link-order-130/dismiss", json={}).status_code == 422
    assert inbound.api_post("/api/v1/attention/link-order-999/dismiss", json={"note": "x"}).status_code == 404
    assert inbound.api_post("/api/v1/attention/run-999/retry").status_code == 404
    assert dismissals(inbound.svc.state_engine) == {}
    assert [i["id"] for i in attention(inbound)] == ["link-order-130"]
    assert inbound.link("order", 130)["attempts"] == 1


def test_retry_all_like_this_retries_only_that_code(inbound):
    plant_unknown_sku_order(inbound, 140, "NEW-140")
    plant_unknown_sku_order(inbound, 141, "NEW-141")
    inbound.deliver("invoice", 999)  # Magento has no such invoice
    inbound.work()
    codes = {i["id"]: i["code"] for i in attention(inbound)}
    assert codes == {
        "link-order-140": "unknown_sku",
        "link-order-141": "unknown_sku",
        "link-invoice-999": "magento_refused",
    }

    inbound.add_product("NEW-140")
    inbound.add_product("NEW-141")
    response = inbound.api_post("/api/v1/attention/retry", json={"code": "unknown_sku"})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["count"] == 2
    assert sorted(r["job_id"] for r in body["retried"]) == ["order-140", "order-141"]
    inbound.work()

    assert [i["id"] for i in attention(inbound)] == ["link-invoice-999"]
    assert inbound.link("invoice", 999)["attempts"] == 1  # not retried


def test_a_dismissed_item_is_hidden_with_its_note_until_it_fails_again(inbound):
    plant_unknown_sku_order(inbound, 150, "NEW-150")
    response = inbound.api_post("/api/v1/attention/link-order-150/dismiss", json={"note": "test order, ignore"})
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["note"] == "test order, ignore"
    assert attention(inbound) == []
    assert dismissals(inbound.svc.state_engine)["link-order-150"].note == "test order, ignore"

    # Retried (still no product): it failed again, so it is back.
    assert inbound.api_post("/api/v1/attention/link-order-150/retry").status_code == 202
    inbound.work()
    [item] = attention(inbound)
    assert (item["id"], item["tries"]) == ("link-order-150", 2)


def test_a_failing_push_run_is_one_item_and_its_retry_pushes_its_failed_skus(inbound):
    engine = inbound.svc.state_engine
    for _ in range(2):
        run = runs.create_run(engine, runs.KIND_PRODUCTS, runs.TRIGGER_SCHEDULE)
        runs.start_run(engine, run.run_id)
        runs.add_errors(engine, run.run_id, [("SKU-<b>1</b>", "Magento refused it: 400 invalid price"), ("SKU-2", "x")])
        runs.finish_run(engine, run.run_id)

    [item] = attention(inbound, "?kind=products")
    assert item["id"] == f"run-{run.run_id}"
    assert (item["entity"], item["key"], item["tries"]) == ("products", "SKU-<b>1</b>", 2)
    assert item["code"] == "magento_refused"
    assert item["message"].startswith("SKU-<b>1</b>: Magento refused it: 400 invalid price")
    assert "and 1 more error" in item["message"]

    response = inbound.api_post(f"/api/v1/attention/run-{run.run_id}/retry")
    assert response.status_code == 202, response.get_json()
    [queued] = Queue(QUEUE_OUTBOUND, connection=inbound.redis).get_jobs()
    started = runs.get_run(engine, queued.args[0])
    assert (started.kind, started.trigger, started.params.get("keys")) == (
        "products",
        "manual",
        ["SKU-2", "SKU-<b>1</b>"],
    )
    # A run that succeeds after it clears the kind from the list.
    ok = runs.create_run(engine, runs.KIND_PRODUCTS, runs.TRIGGER_SCHEDULE)
    runs.start_run(engine, ok.run_id)
    runs.finish_run(engine, ok.run_id)
    assert attention(inbound, "?kind=products") == []


def test_a_failed_job_without_a_record_is_listed_and_requeued(inbound):
    queue = Queue(QUEUE_DEFAULT, connection=inbound.redis)
    queue.enqueue(boom, 7, job_id="odd-job")
    SimpleWorker([queue], connection=inbound.redis).work(burst=True)

    [item] = attention(inbound, "?kind=job")
    assert item["id"] == "job-odd-job"
    assert item["key"] == "tests.test_attention.boom"
    assert item["message"] == "RuntimeError: boom 7"
    assert item["code"] == "other"
    response = inbound.api_post("/api/v1/attention/job-odd-job/retry")
    assert response.status_code == 202, response.get_json()
    assert "odd-job" not in FailedJobRegistry(QUEUE_DEFAULT, connection=inbound.redis)
    assert queue.job_ids == ["odd-job"]


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("the POS refused it: sale for Magento order 12: unknown SKU 'A-1', 'B 2'", "unknown_sku"),
        (
            "it cannot be mapped to the POS: order 000000012: lines 10.00 + shipping 5.00 + tax not in lines 0.00"
            " = 15.00 ≠ owed 16.00 (base EUR)",
            "totals_mismatch",
        ),
        (
            "it cannot be mapped to the POS: order 12 names no base currency (base_currency_code);"
            " the POS books in EUR",
            "currency_mismatch",
        ),
        ("Magento did not give it: Magento answered 404", "magento_refused"),
        (
            "it cannot be mapped to the POS: order 12 has no customer email (customer_email or billing_address.email)",
            "unknown_customer",
        ),
        ("the POS refused it: Magento id 5 is already linked to POS customer 3, not 4", "pos_conflict"),
        ("it cannot be mapped to the POS: category 4 has no name", "missing_data"),
        ("it cannot be mapped to the POS: qty must be a number, got 'x'", "invalid_data"),
        ("MagentoTransientError: timed out (will be retried)", "magento_unavailable"),
        ("something new", "other"),
    ],
)
def test_each_recorded_reason_has_its_code(reason, code):
    assert problems.classify(reason) == code
    assert code in problems.CODES


def test_the_sentence_names_the_skus_exactly_and_keeps_other_reasons_whole():
    assert problems.sentence("sale for Magento order 1: unknown SKU 'A-1'") == "SKU A-1 is not in the POS"
    assert problems.sentence("unknown SKU 'A-1', 'B 2' (will be retried)") == "SKUs A-1, B 2 are not in the POS"
    assert problems.sentence("category 4 has no name") == "category 4 has no name"
