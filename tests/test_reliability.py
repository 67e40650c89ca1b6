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
import random
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from rq import Worker
from rq.job import Job, JobStatus
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench._harness import RedisServer, order_webhook, percentile
from syncapi.pos.gateway import iter_batches
from syncapi.pos.seed import seed_demo
from syncapi.pos.sql import SqlPosGateway
from tests.fixtures_reliability import API_AUTH, Answer, post_webhooks

pytestmark = pytest.mark.slow

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


@pytest.mark.postgres
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
    # The dead worker's transaction is rolled back by PostgreSQL once it finds the client gone: no sale, no stock.
    stack.wait_until(lambda: _blocked_backends(stack.engine) == 0, 10, "the dead worker's transaction gone")
    assert stack.sales_by_order() == {} and stack.on_hand("KILL-1") == Decimal(10)

    (survivor,) = [p for p in workers if p is not victim]
    stack.wait_until(
        lambda: stack.link_statuses().get(7001) == "synced", ABANDONED_JOB_RECOVERY_S, "the order written again"
    )
    assert survivor.poll() is None
    assert stack.sales_by_order() == {7001: 1}
    assert stack.sale_lines() == 1
    assert stack.on_hand("KILL-1") == Decimal(8)  # 10 - 2, once
    job = Job.fetch("order-7001", connection=stack.redis)
    assert job.get_status() == JobStatus.FINISHED
    assert job.worker_name != busy[0].name
    print(f"the killed worker's order was written by the other {time.monotonic() - killed_at:.1f} s after the kill")


# --- Redis restarted -------------------------------------------------------------------------------------------

#: Orders whose webhooks stream in while Redis goes down and comes back, and how fast they are sent.
RESTART_ORDERS = 300
RESTART_RATE_PER_S = 40
#: Seconds Redis stays down, a quarter of the way into the stream.
REDIS_DOWN_S = 2


@pytest.mark.postgres
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
    print(f"answers while Redis was killed and restarted: {dict(by_status)}, slowest {slowest:.3f} s")
    assert set(by_status) <= {202, 503}, by_status  # no other 5xx, no dropped connection
    assert by_status[202] > 0 and by_status[503] > 0, f"the restart must fall amid the stream: {by_status}"
    tail = answers[-len(answers) // 5 :]
    assert {a.status for a in tail} == {202}, "once Redis is back the same web processes accept again"
    for answer in answers:
        if answer.status == 503:
            assert answer.retry_after == "5"  # a few seconds: Mage-OS 3.3+ and 4.x wait exactly this long
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

#: 30 % of Magento's answers are 503 or 429 (asking to wait 50 ms), and every answer takes 40 ms more.
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


@pytest.mark.postgres
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


# --- a thousand webhooks at once -------------------------------------------------------------------------------

#: 1,000 deliveries: 800 distinct orders plus 200 repeats (20 %), sent by 50 threads at once.
DISTINCT_ORDERS = 800
REPEATS = 200
CONCURRENCY = 50


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_a_thousand_webhooks_with_a_fifth_repeated_at_concurrency_50_write_each_order_once(stack):
    orders = list(range(40_001, 40_001 + DISTINCT_ORDERS))
    stack.add_products(SKUS, on_hand=1000)
    # Forty guests share each email, so concurrent sales race to create the same POS customer too.
    stack.seed_orders(orders, SKUS, guest_email=lambda o: f"guest{o % 20}@example.com")
    web = stack.start_web()
    stack.start_workers(4)
    rng = random.Random(1234)
    deliveries = [(o, order_webhook(o, delivery_id=f"d-{o}")) for o in orders]
    deliveries += [(o, order_webhook(o, delivery_id=f"d-{o}-again")) for o in rng.sample(orders, REPEATS)]
    rng.shuffle(deliveries)

    started = time.monotonic()
    answers = post_webhooks(web, deliveries, concurrency=CONCURRENCY)
    sent_s = time.monotonic() - started
    drained_s = stack.wait_until(
        lambda: len(stack.link_statuses()) == len(orders) and stack.queues_idle(), 180, "every order written"
    )

    assert len(answers) == DISTINCT_ORDERS + REPEATS
    assert {a.status for a in answers} == {202}, Counter((a.status, a.error) for a in answers if a.status != 202)
    outcomes = Counter(a.body["status"] for a in answers)
    assert set(outcomes) <= {"queued", "duplicate"} and outcomes["queued"] >= DISTINCT_ORDERS
    assert stack.sales_by_order() == dict.fromkeys(orders, 1)
    assert stack.sale_lines() == len(orders)
    assert stack.total_on_hand(SKUS) == Decimal(1000 * len(SKUS) - len(orders))
    assert stack.customer_emails() == Counter({f"guest{n}@example.com": 1 for n in range(20)})
    assert set(stack.link_statuses().values()) == {"synced"}
    assert stack.failed_jobs() == []
    print(
        f"{len(answers)} webhooks answered in {sent_s:.1f} s ({len(answers) / sent_s:.0f}/s), "
        f"p99 {percentile([a.seconds for a in answers], 0.99) * 1000:.0f} ms; outcomes {dict(outcomes)}; "
        f"all written {drained_s:.1f} s later"
    )


# --- the POS database unavailable ----------------------------------------------------------------------------

OUTAGE_ORDERS = 60
#: Seconds the POS database refuses every connection (its open ones are terminated first).
POS_DOWN_S = 4


@pytest.fixture
def outage_database(postgres_url):
    """A PostgreSQL database of this test's own, which it may close to connections; dropped afterwards."""
    url = make_url(postgres_url)
    name = f"{url.database}_outage"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def recreate(drop_only: bool = False) -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not drop_only:
                connection.execute(text(f'CREATE DATABASE "{name}"'))

    def allow(allowed: bool) -> None:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
            if not allowed:
                connection.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
                )

    recreate()
    try:
        yield url.set(database=name).render_as_string(hide_password=False), allow
    finally:
        recreate(drop_only=True)
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_the_pos_database_closed_mid_stream_delays_orders_and_doubles_none(stack, outage_database):
    pos_url, allow_connections = outage_database
    stack.pos_url = pos_url
    stack.engine.dispose()
    stack.engine = create_engine(pos_url)
    orders = list(range(50_001, 50_001 + OUTAGE_ORDERS))
    stack.add_products(SKUS, on_hand=1000)
    stack.seed_orders(orders, SKUS, qty=3)
    stack.magento.configure(latency_ms=30)  # imports take a while, so the outage falls among them
    stack.start_workers(2)

    for order_id in orders:
        assert stack.deliver(order_id).status_code == 202
    stack.wait_until(lambda: len(stack.link_statuses()) >= 10, 30, "the first orders written")
    stack.engine.dispose()
    allow_connections(False)
    time.sleep(POS_DOWN_S)
    allow_connections(True)
    stack.wait_until(lambda: len(stack.link_statuses()) == len(orders) and stack.queues_idle(), 90, "every order")

    assert stack.sales_by_order() == dict.fromkeys(orders, 1)
    assert set(stack.link_statuses().values()) == {"synced"}
    assert stack.total_on_hand(SKUS) == Decimal(1000 * len(SKUS) - 3 * len(orders))
    assert stack.failed_jobs() == []
    retried = [o for o in orders if Job.fetch(f"order-{o}", connection=stack.redis).retries_left < 5]
    assert retried, "the outage must have failed some attempts"
    print(f"{len(retried)} of {len(orders)} orders needed a retry")
