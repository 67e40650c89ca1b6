"""The webhook intake's enqueue: one atomic Redis round trip per delivery (bench/webhook_intake.py measures what it
costs), writing the job exactly as rq's own unique enqueue does, one job however many deliveries race, and every
delivery counted once in the metrics."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
import redis as redis_lib
from rq import Queue, SimpleWorker
from rq.job import Job

from app import create_app
from bench._harness import Processes, RedisServer, order_webhook, signed_headers
from jobs.inbound import import_order
from syncapi import db, metrics, services
from syncapi.queues import QUEUE_INBOUND
from tests.conftest import TEST_REDIS_URL, TEST_WEBHOOK_SECRET, base_settings
from tests.fixtures_webhooks import cloud_event, post_signed

#: Fields rq stamps with the time of the enqueue, which differ between two enqueues of the same job.
TIMESTAMPS = {b"created_at", b"enqueued_at"}


def _hash_without_timestamps(connection, job_id: str) -> dict:
    return {k: v for k, v in connection.hgetall(Job.key_for(job_id)).items() if k not in TIMESTAMPS}


def record_call(key: str, value: str) -> None:
    """A job that leaves a trace in Redis."""
    redis_lib.Redis.from_url(TEST_REDIS_URL).rpush(key, value)


def test_the_job_is_stored_as_rqs_own_unique_enqueue_stores_it(app, redis):
    queues = app.extensions["services"].queues
    meta = {"event": "sales.order.updated", "delivery_id": "d-1"}
    ours = queues.enqueue(QUEUE_INBOUND, import_order, 42, job_id="order-42", meta=meta)
    assert (ours.job_id, ours.status) == ("order-42", "queued")
    reference = Queue("reference", connection=redis)
    reference.enqueue(import_order, args=(42,), unique=True, meta=meta, **queues.job_options("ref-42"))

    ours_fields = _hash_without_timestamps(redis, "order-42")
    rq_fields = _hash_without_timestamps(redis, "ref-42")
    assert ours_fields.pop(b"origin") == b"inbound" and rq_fields.pop(b"origin") == b"reference"
    assert ours_fields == rq_fields
    assert abs(redis.ttl(Job.key_for("order-42")) - redis.ttl(Job.key_for("ref-42"))) <= 1
    assert redis.lrange(queues[QUEUE_INBOUND].key, 0, -1) == [b"order-42"]
    assert queues[QUEUE_INBOUND].key.encode() in redis.smembers(Queue.redis_queues_keys)
    job = Job.fetch("order-42", connection=redis)
    assert (job.func_name, job.args, job.meta) == ("jobs.inbound.import_order", (42,), meta)


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "meta"),
    [
        (record_call, ("trace", "x" * 200), {}, None),
        (record_call, (), {"key": "trace", "value": "ünïcode"}, {"run_id": "r-1"}),
        ("tests.test_reliability_intake.record_call", ("trace",), {"value": 3}, {}),
    ],
    ids=["long-argument-no-meta", "keywords-and-meta", "by-name"],
)
def test_every_call_shape_is_stored_as_rq_stores_it_after_the_first(app, redis, func, args, kwargs, meta):
    """The shared part of a job's hash is built once per function: later jobs, with other arguments, other
    keywords and other metadata, must still be stored exactly as rq stores them."""
    queues = app.extensions["services"].queues
    queues.enqueue(QUEUE_INBOUND, func, "first", "call", job_id="first")  # builds what later jobs share
    queues.enqueue(QUEUE_INBOUND, func, *args, job_id="ours", meta=meta, **kwargs)
    reference = Queue(QUEUE_INBOUND, connection=redis)
    reference.enqueue(func, args=args, kwargs=kwargs, unique=True, meta=meta, **queues.job_options("theirs"))

    assert _hash_without_timestamps(redis, "ours") == _hash_without_timestamps(redis, "theirs")
    job = Job.fetch("ours", connection=redis)
    assert (job.args, job.kwargs, job.meta) == (args, kwargs, meta or {})


class Recorder:
    """An object whose bound method is a job: the object itself travels with the job."""

    def __init__(self, key: str):
        self.key = key

    def record(self, value: str) -> None:
        record_call(self.key, value)


def test_a_bound_methods_object_travels_with_each_job(app, redis):
    queues = app.extensions["services"].queues
    for name in ("first", "second"):
        queues.enqueue(QUEUE_INBOUND, Recorder(f"trace-{name}").record, name, job_id=name)
    Queue(QUEUE_INBOUND, connection=redis).enqueue(
        Recorder("trace-second").record, args=("second",), unique=True, **queues.job_options("theirs")
    )
    assert _hash_without_timestamps(redis, "second") == _hash_without_timestamps(redis, "theirs")
    SimpleWorker([QUEUE_INBOUND], connection=redis).work(burst=True)
    assert redis.lrange("trace-first", 0, -1) == [b"first"]
    assert redis.lrange("trace-second", 0, -1) == [b"second", b"second"]


def test_deliveries_racing_for_one_record_queue_one_job_and_run_it_once(app, redis):
    queues = app.extensions["services"].queues
    start = threading.Barrier(50)
    outcomes: list[str] = []

    def deliver(n: int) -> None:
        start.wait()
        outcomes.append(queues.enqueue(QUEUE_INBOUND, record_call, "calls", f"d{n}", job_id="order-7").status)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert Counter(outcomes) == {"queued": 1, "duplicate": 49}
    assert redis.lrange(queues[QUEUE_INBOUND].key, 0, -1) == [b"order-7"]
    SimpleWorker([queues[QUEUE_INBOUND]], connection=redis).work(burst=True)
    assert redis.llen("calls") == 1


def test_a_finished_job_is_replaced_and_a_running_one_gets_one_follow_up(app, redis):
    queues = app.extensions["services"].queues
    queues.enqueue(QUEUE_INBOUND, record_call, "calls", "a", job_id="order-8")
    SimpleWorker([queues[QUEUE_INBOUND]], connection=redis).work(burst=True)
    assert queues.enqueue(QUEUE_INBOUND, record_call, "calls", "b", job_id="order-8").status == "queued"
    Job.fetch("order-8", connection=redis).set_status("started")
    follow_up = queues.enqueue(QUEUE_INBOUND, record_call, "calls", "c", job_id="order-8")
    assert (follow_up.job_id, follow_up.status) == ("order-8-again", "queued")
    assert queues.enqueue(QUEUE_INBOUND, record_call, "calls", "d", job_id="order-8").job_id == "order-8-again"
    assert redis.lrange(queues[QUEUE_INBOUND].key, 0, -1) == [b"order-8", b"order-8-again"]


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own, so that its command statistics count only this test's commands."""
    processes = Processes(tmp_path)
    server = RedisServer(processes, tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        processes.stop()


def _client_commands(connection, until: str) -> list[str]:
    """Every command clients (not scripts) send to the server, as MONITOR sees them, until `ECHO <until>`."""
    seen: list[str] = []
    with connection.monitor() as monitor:
        for entry in monitor.listen():
            if entry["command"] == f"ECHO {until}":
                return seen
            if entry["client_type"] != "lua":
                seen.append(entry["command"].split()[0].upper())
    return seen


def test_each_delivery_costs_one_redis_round_trip_and_is_counted_once(private_redis, tmp_path):
    application = create_app(base_settings(tmp_path, REDIS_URL=private_redis.url(0)))
    client = application.test_client()
    connection = redis_lib.Redis.from_url(private_redis.url(0))
    try:
        first = post_signed(client, cloud_event("sales.order.updated", {"entity_id": 1}))
        assert first.status_code == 202  # the first also reads the server's version and loads the script
        signal = redis_lib.Redis.from_url(private_redis.url(0))
        signal.ping()  # connected (and its handshake done) before MONITOR starts
        commands: list[str] = []
        watcher = threading.Thread(target=lambda: commands.extend(_client_commands(connection, "done")))
        watcher.start()
        time.sleep(0.2)  # MONITOR is on

        orders = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3]  # eight records, two of them delivered twice
        for order_id in orders:
            body = order_webhook(order_id)
            response = client.post("/webhooks/magento", data=body, headers=signed_headers(body, TEST_WEBHOOK_SECRET))
            assert response.status_code == 202, response.get_json()
        signal.echo("done")
        watcher.join(timeout=10)

        assert commands == ["EVALSHA"] * len(orders)
        counted = {
            tuple(json.loads(field)): int(value) for field, value in connection.hgetall(metrics.WEBHOOKS.key).items()
        }
        assert counted == {("sales.order.updated", "queued"): 1 + 8, ("sales.order.updated", "duplicate"): 2}
    finally:
        connection.close()
        db.dispose_all()
        services._current = None
