"""Reliability, end to end and as deployed: gunicorn and `python -m syncapi.worker` processes, real Redis, the POS
on PostgreSQL (SQLite where a test says so), the Magento sandbox over HTTP. Faults are real ones: a worker killed
with SIGKILL in the middle of a POS transaction, Redis killed and started again, Magento failing and slow, the POS
database refusing connections, a thousand webhooks with duplicates at once. Each test checks that nothing was lost
and nothing doubled: one sale per Magento order, stock lowered once per sale, every link synced.

(A permanent error filing its job at once, without retries, is covered by tests/test_inbound.py, forking and
non-forking.)
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from rq import Worker
from rq.job import Job, JobStatus
from sqlalchemy import create_engine, text

from bench._harness import RedisServer, order_webhook
from syncapi.pos.gateway import iter_batches
from syncapi.pos.seed import seed_demo
from syncapi.pos.sql import SqlPosGateway
from tests.fixtures_reliability import API_AUTH, Answer, post_webhooks

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SKUS = [f"REL-{n:02d}" for n in range(20)]

#: Seconds within which a killed worker's job must run again: its heartbeat (WORKER_TTL 10 s: a beat every 5 s)
#: plus rq's fixed 60 s, a maintenance pass (every 5 s) and the retry's 1 s, with room for a loaded machine.
ABANDONED_JOB_RECOVERY_S = 100


def _blocked_backends(engine) -> int:
    """Connections to this database waiting for a row lock (the worker inside its POS transaction)."""
    with engine.connect() as connection:
        return connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        )


@pytest.mark.timeout(240)
def test_a_worker_killed_inside_the_pos_transaction_leaves_the_order_to_another_worker_written_once(stack):
    stack.add_products(["KILL-1"], on_hand=10)
    stack.seed_orders([7001], ["KILL-1"], qty=2)
    workers = stack.start_workers(2, new_session=True)

    # The test holds the stock row, so the worker that takes the job blocks inside write_sale's transaction,
    # after reading the order from Magento and inserting the sale, before lowering stock and committing.
    holder = create_engine(stack.pos_url)
    with holder.connect() as lock:
        lock.execute(text("SELECT on_hand FROM stock WHERE sku = 'KILL-1' FOR UPDATE"))
        assert stack.deliver(7001).status_code == 202
        stack.wait_until(lambda: _blocked_backends(stack.engine) == 1, 30, "a worker blocked on the stock row")
        busy = [w for w in Worker.all(connection=stack.redis) if w.get_current_job_id() == "order-7001"]
        assert len(busy) == 1
        (victim,) = [p for p in workers if p.pid == busy[0].pid]
        stack.processes.kill_session(victim)  # SIGKILL to its whole session: worker and scheduler alike
        killed_at = time.monotonic()
        lock.rollback()
    holder.dispose()

    (survivor,) = [p for p in workers if p is not victim]
    took = stack.wait_until(
        lambda: stack.link_statuses().get(7001) == "synced", ABANDONED_JOB_RECOVERY_S, "the order written again"
    )
    assert survivor.poll() is None
    assert stack.sales_by_order() == {7001: 1}
    assert stack.sale_lines() == 1
    assert stack.on_hand("KILL-1") == Decimal(8)  # 10 - 2, once
    job = Job.fetch("order-7001", connection=stack.redis)
    assert job.get_status() == JobStatus.FINISHED
    assert job.worker_name != busy[0].name
    print(
        f"the killed worker's job was written {time.monotonic() - killed_at:.1f} s after the kill ({took:.1f} s wait)"
    )


# --- Redis restarted -------------------------------------------------------------------------------------------

#: Orders whose webhooks stream in while Redis goes down and comes back, and how fast they are sent.
RESTART_ORDERS = 300
RESTART_RATE_PER_S = 40
#: Seconds Redis stays down, a quarter of the way into the stream.
REDIS_DOWN_S = 2


@pytest.mark.timeout(240)
def test_redis_killed_and_restarted_under_webhooks_loses_nothing_it_accepted(stack, tmp_path):
    server = RedisServer(stack.processes, tmp_path / "redis", appendonly=True)
    server.start()
    stack.use_redis(server.url(0))
    orders = list(range(20_001, 20_001 + RESTART_ORDERS))
    stack.add_products(SKUS, on_hand=1000)
    stack.seed_orders(orders, SKUS)
    web = stack.start_web()

    answers: list[Answer] = []
    sender = threading.Thread(
        target=lambda: answers.extend(
            post_webhooks(web, [(o, order_webhook(o)) for o in orders], concurrency=8, rate_per_s=RESTART_RATE_PER_S)
        )
    )
    sender.start()
    time.sleep(RESTART_ORDERS / RESTART_RATE_PER_S / 4)
    server.kill()  # SIGKILL: no chance to save anything more on the way out
    time.sleep(REDIS_DOWN_S)
    server.start()  # same port and directory: it loads its append-only file
    sender.join(timeout=120)
    assert not sender.is_alive()

    by_status = Counter(a.status for a in answers)
    slowest = max(a.seconds for a in answers)
    print(f"answers while Redis was killed and restarted: {dict(by_status)}, slowest {slowest:.1f} s")
    assert set(by_status) <= {202, 503}, by_status  # no other 5xx, no dropped connection
    assert by_status[202] > 0 and by_status[503] > 0, f"the restart must fall amid the stream: {by_status}"
    tail = answers[-len(answers) // 5 :]
    assert {a.status for a in tail} == {202}, "once Redis is back the same web processes accept again"
    for answer in answers:
        if answer.status == 503:
            assert answer.retry_after == "30"
            assert answer.body["error"] == "Service Unavailable"
        else:
            assert answer.body["status"] == "queued"
    accepted = sorted(a.key for a in answers if a.status == 202)

    stack.start_workers(2)
    stack.wait_until(
        lambda: all(stack.link_statuses().get(o) == "synced" for o in accepted), 90, "every accepted order written"
    )
    written = stack.sales_by_order()
    assert all(written.get(o) == 1 for o in accepted)

    # The sender retries what was refused (as Mage-OS Async Events does, after Retry-After): now all land, once.
    refused = sorted(a.key for a in answers if a.status == 503)
    again = post_webhooks(web, [(o, order_webhook(o)) for o in refused], concurrency=8)
    assert {a.status for a in again} == {202}
    stack.wait_until(lambda: len(stack.link_statuses()) == len(orders), 60, "every order written")
    stack.wait_until(lambda: stack.queues_idle(), 30, "the queue drained")
    assert stack.sales_by_order() == dict.fromkeys(orders, 1)
    assert set(stack.link_statuses().values()) == {"synced"}
    assert stack.total_on_hand(SKUS) == Decimal(1000 * len(SKUS) - len(orders))


# --- Magento failing and slow --------------------------------------------------------------------------------

#: A third of Magento's answers are 503 or 429 (asking to wait 50 ms), and each takes 40 ms more.
FLAKY_MAGENTO = {"error_rate": 0.3, "status_codes": [503, 429], "retry_after_s": 0.05, "latency_ms": 40}
FLAKY_ORDERS = 120


def _answered(magento, route_prefix: str = "/") -> Counter:
    """Statuses Magento answered to requests whose route starts with `route_prefix` (faulted ones included)."""
    return Counter(e["status"] for e in magento.requests() if e["route"].startswith(route_prefix))


@pytest.mark.timeout(180)
def test_a_burst_of_orders_rides_out_a_flaky_slow_magento_on_sqlite(sqlite_stack):
    stack = sqlite_stack
    orders = list(range(30_001, 30_001 + FLAKY_ORDERS))
    stack.add_products(SKUS, on_hand=1000)
    stack.seed_orders(orders, SKUS, qty=2, guest_email=lambda o: f"buyer{o % 7}@example.com")
    stack.magento.add_fault(path_prefix="/V1/orders", **FLAKY_MAGENTO)
    stack.start_workers(3)

    for order_id in orders:
        assert stack.deliver(order_id).status_code == 202
    stack.wait_until(lambda: len(stack.link_statuses()) == len(orders) and stack.queues_idle(), 120, "every order")

    assert stack.sales_by_order() == dict.fromkeys(orders, 1)
    assert set(stack.link_statuses().values()) == {"synced"}
    assert stack.total_on_hand(SKUS) == Decimal(1000 * len(SKUS) - 2 * len(orders))
    assert stack.failed_jobs() == []
    answered = _answered(stack.magento, "/V1/orders/")
    print(f"order reads answered: {dict(answered)}")
    assert answered[503] + answered[429] > len(orders) // 10, f"the faults must have bitten: {answered}"


@pytest.mark.timeout(240)
def test_a_full_product_push_rides_out_a_flaky_slow_magento_without_doubles(stack):
    stack.add_products([], on_hand=0)
    seed_demo(stack.engine, "WEB")
    stack.magento.configure(bulk_operation_delay_s=0.001)
    stack.magento.add_fault(path_prefix="/", **{**FLAKY_MAGENTO, "latency_ms": 20})
    # Eight retries per call: a call then fails for good once in 50,000, so one run rides out the whole push.
    stack.start_workers(1, queues=("outbound",), MAGENTO_MAX_RETRIES=8)

    started = stack.app.test_client().post("/api/v1/sync/products", headers=API_AUTH)
    assert started.status_code == 202, started.get_json()
    run_url = f"/api/v1/runs/{started.get_json()['run_id']}"

    def finished() -> bool:
        status = stack.app.test_client().get(run_url, headers=API_AUTH).get_json()["status"]
        return status in {"succeeded", "partial", "failed"}

    stack.wait_until(finished, 200, "the product push finished", interval_s=0.5)
    run = stack.app.test_client().get(run_url, headers=API_AUTH).get_json()
    assert run["status"] == "succeeded", run
    assert run["counts"]["failed"] == 0

    gateway = SqlPosGateway(stack.engine, "WEB")
    pos_products = [p for batch in iter_batches(gateway.changed_products) for p in batch.items]
    active = sorted(p.sku for p in pos_products if p.internet_active)
    styles = sorted({p.parent_sku for p in pos_products if p.internet_active and p.parent_sku})
    stored = stack.magento.state("products")
    assert sorted(stored) == sorted(active + styles)
    images: dict[str, list[str]] = {}
    for image in sorted(gateway.get_images(active), key=lambda i: (i.sku, i.position)):
        images.setdefault(image.sku, []).append(hashlib.sha256(image.content).hexdigest())
    for sku in active:
        media = stored[sku]["media"]
        assert [e["content_sha256"] for e in media] == images.get(sku, []), f"{sku}: images doubled or missing"
    answered = _answered(stack.magento)
    print(f"product push calls answered: {dict(answered)}")
    assert answered[503] + answered[429] > 5, f"the faults must have bitten: {answered}"
