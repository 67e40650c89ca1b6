"""Starting runs (`start_sync`) and the job side of a run (`run_context`), with real Redis, RQ and databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import update

from app import create_app
from jobs.dispatch import JOBS, start_sync
from jobs.periodic import prune_history, start_scheduled
from syncapi import db, services
from syncapi.queues import QUEUE_DEFAULT, QUEUE_INBOUND, QUEUE_OUTBOUND, QueueUnavailableError
from syncapi.run_lifecycle import FLUSH_ERRORS, refresh_run, run_context, run_of_job
from syncapi.state import (
    announce,
    announced_count,
    create_run,
    finish_run,
    get_run,
    list_runs,
    set_run_job,
    upgrade,
)
from syncapi.state.models import RunRow
from tests.conftest import base_settings

# --- jobs the tests run in a real worker -----------------------------------------------------------------


def counting_job(run_id: int, created: int = 0, unchanged: int = 0, failures: int = 0) -> str:
    """Reports counts and failed records through the run's recorder."""
    with run_context(services.current(), run_id, jobs=JOBS) as run:
        run.count(created=created, unchanged=unchanged)
        for n in range(failures):
            run.fail(f"SKU-{n}", f"Magento refused SKU-{n}")
    return "done"


def exploding_job(run_id: int) -> None:
    """Counts a little, then dies."""
    with run_context(services.current(), run_id, jobs=JOBS) as run:
        run.count(created=2)
        raise RuntimeError("Magento answered 503 three times")


def flaky_job(run_id: int, marker: str) -> None:
    """Fails its first attempt (after taking its announced keys), succeeds the next; records what it saw."""
    svc = services.current()
    with run_context(svc, run_id, jobs=JOBS) as run:
        keys = run.announced_keys() if run.trigger == "announced" else []
        svc.redis.rpush(marker, ",".join(keys) or "-")
        run.count(updated=len(keys) or 1)
        if svc.redis.llen(marker) == 1:
            raise ConnectionError("Magento went away")


def announced_dying_job(run_id: int) -> None:
    """Takes its announced keys, then dies."""
    with run_context(services.current(), run_id, jobs=JOBS) as run:
        run.announced_keys()
        raise ValueError("bad data")


def failing_before_its_run(run_id: int) -> None:
    """Dies before it reaches run_context, so the run's own bookkeeping never runs."""
    raise LookupError(f"no POS configured for run {run_id}")


def _work(redis, *queue_names) -> None:
    SimpleWorker(list(queue_names or (QUEUE_OUTBOUND,)), connection=redis).work(burst=True)


def _enqueue_for(app, run_id: int, func, **kwargs) -> str:
    svc = app.extensions["services"]
    enqueued = svc.queues.enqueue(QUEUE_OUTBOUND, func, run_id, job_id=f"test-run-{run_id}", **kwargs)
    set_run_job(svc.state_engine, run_id, enqueued.job_id)
    return enqueued.job_id


@pytest.fixture
def retry_app(redis, tmp_path):
    """An app whose jobs are retried once (after the standard backoff)."""
    application = create_app(base_settings(tmp_path, JOB_MAX_RETRIES=1))
    upgrade(application.extensions["services"].state_engine)
    yield application
    db.dispose_all()
    services._current = None


# --- start_sync -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "func", "queue", "kwargs"),
    [
        ("products", "jobs.outbound.push_products", QUEUE_OUTBOUND, {"full": True, "keys": None, "force": False}),
        ("stock", "jobs.outbound.push_stock", QUEUE_OUTBOUND, {"full": True, "keys": None, "force": False}),
        ("prices", "jobs.outbound.push_prices", QUEUE_OUTBOUND, {"full": True, "keys": None, "force": False}),
        ("categories", "jobs.outbound.push_categories", QUEUE_OUTBOUND, {"full": True, "keys": None, "force": False}),
        ("customers", "jobs.outbound.push_customers", QUEUE_OUTBOUND, {"full": True, "keys": None, "force": False}),
        ("sales", "jobs.reconcile.reconcile_sales", QUEUE_INBOUND, {"full": True}),
    ],
)
def test_start_sync_stores_the_run_and_queues_its_job(app_with_state, redis, kind, func, queue, kwargs):
    svc = app_with_state.extensions["services"]
    started = start_sync(svc, kind, "cli", full=True)
    assert started.status == "queued"
    assert started.job_id == f"sync-{kind}-{started.run_id}"
    job = Job.fetch(started.job_id, connection=redis)
    assert (job.func_name, job.args, job.kwargs, job.origin) == (func, (started.run_id,), kwargs, queue)
    assert job.get_status() == JobStatus.QUEUED
    assert started.job_id in svc.queues[queue].job_ids
    run = get_run(svc.state_engine, started.run_id)
    assert (run.kind, run.trigger, run.status, run.job_id, run.params) == (kind, "cli", "queued", job.id, kwargs)
    assert run_of_job(svc, job) == get_run(svc.state_engine, started.run_id, with_errors=False)


def test_start_sync_with_keys_and_force(app_with_state, redis):
    svc = app_with_state.extensions["services"]
    started = start_sync(svc, "stock", "manual", keys=["S1", "S2", "S1", 7], force=True)
    job = Job.fetch(started.job_id, connection=redis)
    assert job.kwargs == {"full": False, "keys": ["S1", "S2", "7"], "force": True}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "orders", "trigger": "manual"}, "kind must be one of"),
        ({"kind": "stock", "trigger": "cron"}, "trigger must be one of"),
        ({"kind": "sales", "trigger": "manual", "keys": ["1"]}, "neither keys nor force"),
        ({"kind": "sales", "trigger": "manual", "force": True}, "neither keys nor force"),
        ({"kind": "stock", "trigger": "manual", "keys": []}, "must not be empty"),
        ({"kind": "stock", "trigger": "manual", "keys": "SKU1"}, "must be a list"),
        ({"kind": "stock", "trigger": "manual", "keys": ["ok", " "]}, "non-empty"),
        ({"kind": "stock", "trigger": "manual", "keys": ["A"], "full": True}, "either full or keys"),
        ({"kind": "stock", "trigger": "announced", "keys": ["A"]}, "from the announcements"),
        ({"kind": "stock", "trigger": "manual", "full": "yes"}, "full must be true or false"),
    ],
)
def test_start_sync_refuses_bad_arguments_and_changes_nothing(app_with_state, redis, kwargs, message):
    svc = app_with_state.extensions["services"]
    with pytest.raises(ValueError, match=message):
        start_sync(svc, **kwargs)
    assert list_runs(svc.state_engine) == []
    assert all(len(queue) == 0 for queue in svc.queues)


def test_scheduled_runs_join_a_waiting_one(app_with_state, redis):
    svc = app_with_state.extensions["services"]
    first = start_sync(svc, "prices", "schedule")
    second = start_sync(svc, "prices", "schedule")
    assert (first.status, second.status) == ("queued", "duplicate")
    assert first.job_id == second.job_id == "sync-prices-scheduled"
    assert second.run_id == first.run_id
    assert [run.run_id for run in list_runs(svc.state_engine)] == [first.run_id]  # no row for the duplicate
    # Manual runs are never merged.
    manual = [start_sync(svc, "prices", "manual") for _ in range(2)]
    assert [m.status for m in manual] == ["queued", "queued"]
    assert len(svc.queues[QUEUE_OUTBOUND]) == 3


def test_start_sync_without_redis_leaves_a_failed_run_not_a_queued_one(redis, tmp_path):
    application = create_app(base_settings(tmp_path, REDIS_URL="redis://127.0.0.1:1/0"))
    svc = application.extensions["services"]
    upgrade(svc.state_engine)
    try:
        with pytest.raises(QueueUnavailableError, match=r"127\.0\.0\.1:1"):
            start_sync(svc, "products", "manual")
        (run,) = list_runs(svc.state_engine)
        assert run.status == "failed"
        assert run.reason.startswith("not queued: Redis at 127.0.0.1:1/0 did not answer")
    finally:
        db.dispose_all()
        services._current = None


# --- run_context ------------------------------------------------------------------------------------------


def test_run_context_counts_and_succeeds(app_with_state, redis):
    svc = app_with_state.extensions["services"]
    run = create_run(svc.state_engine, "products", "manual")
    job_id = _enqueue_for(app_with_state, run.run_id, counting_job, created=3, unchanged=5)
    _work(redis)
    job = Job.fetch(job_id, connection=redis)
    assert (job.get_status(), job.return_value()) == (JobStatus.FINISHED, "done")
    done = get_run(svc.state_engine, run.run_id)
    assert done.status == "succeeded"
    assert done.counts == {"created": 3, "updated": 0, "unchanged": 5, "failed": 0}
    assert (done.attempts, done.reason) == (1, None)
    assert done.started_at is not None and done.finished_at is not None
    # The recorder also fed the items metric.
    assert redis.hget("syncapi:metrics:syncapi_items_pushed", '["products","created"]') == b"3"


def test_run_context_partial_and_buffered_errors(app_with_state, redis):
    svc = app_with_state.extensions["services"]
    run = create_run(svc.state_engine, "products", "manual")
    failures = FLUSH_ERRORS * 2 + 5  # several flushes while working, then the last at the end
    job_id = _enqueue_for(app_with_state, run.run_id, counting_job, created=1, failures=failures)
    _work(redis)
    assert Job.fetch(job_id, connection=redis).get_status() == JobStatus.FINISHED
    done = get_run(svc.state_engine, run.run_id)
    assert done.status == "partial"
    assert (done.failed, done.error_count, len(done.errors)) == (failures, failures, failures)
    assert done.errors[0].key == "SKU-0" and done.errors[0].message == "Magento refused SKU-0"


def test_run_context_marks_a_dead_run_failed_and_rq_shows_the_job(app_with_state, redis):
    svc = app_with_state.extensions["services"]
    run = create_run(svc.state_engine, "stock", "manual")
    job_id = _enqueue_for(app_with_state, run.run_id, exploding_job)
    _work(redis)
    done = get_run(svc.state_engine, run.run_id)
    assert done.status == "failed"
    assert done.reason == "RuntimeError: Magento answered 503 three times"
    assert done.created == 2  # what it did before dying is kept
    assert job_id in FailedJobRegistry(QUEUE_OUTBOUND, connection=redis)


def test_a_retried_job_puts_its_run_back_to_queued_then_finishes_it(retry_app, redis):
    svc = retry_app.extensions["services"]
    run = create_run(svc.state_engine, "stock", "manual")
    job_id = _enqueue_for(retry_app, run.run_id, flaky_job, marker="attempts")
    _work(redis)
    waiting = get_run(svc.state_engine, run.run_id)
    assert waiting.status == "queued"
    assert waiting.reason == "attempt 1 failed, will be retried: ConnectionError: Magento went away"
    job = Job.fetch(job_id, connection=redis)
    assert job.get_status() == JobStatus.SCHEDULED
    # Be the RQ scheduler: the backoff is over.
    ScheduledJobRegistry(QUEUE_OUTBOUND, connection=redis).remove(job)
    svc.queues[QUEUE_OUTBOUND].enqueue_job(job)
    _work(redis)
    done = get_run(svc.state_engine, run.run_id)
    assert (done.status, done.attempts, done.reason) == ("succeeded", 2, None)
    assert job.get_status() == JobStatus.FINISHED
    assert done.counts == {"created": 0, "updated": 1, "unchanged": 0, "failed": 0}  # the last attempt's
    assert redis.llen("attempts") == 2


def test_an_announced_run_keeps_its_keys_across_a_retry(retry_app, redis):
    svc = retry_app.extensions["services"]
    announce(svc.redis, "prices", ["P1", "P2"])
    run = create_run(svc.state_engine, "prices", "announced")
    job_id = _enqueue_for(retry_app, run.run_id, flaky_job, marker="seen")
    _work(redis)
    announce(svc.redis, "prices", ["P3"])  # arrives while the retry waits
    job = Job.fetch(job_id, connection=redis)
    ScheduledJobRegistry(QUEUE_OUTBOUND, connection=redis).remove(job)
    svc.queues[QUEUE_OUTBOUND].enqueue_job(job)
    _work(redis)
    assert redis.lrange("seen", 0, -1) == [b"P1,P2", b"P1,P2,P3"]
    done = get_run(svc.state_engine, run.run_id)
    assert (done.status, done.updated) == ("succeeded", 3)
    assert announced_count(redis, "prices") == 0
    assert redis.keys("syncapi:announced:*") == []


def test_an_announced_run_that_fails_for_good_gives_its_keys_back(app_with_state, redis):
    svc = app_with_state.extensions["services"]
    announce(svc.redis, "customers", ["11", "12"])
    run = create_run(svc.state_engine, "customers", "announced")
    _enqueue_for(app_with_state, run.run_id, announced_dying_job)
    _work(redis)
    assert get_run(svc.state_engine, run.run_id).status == "failed"
    assert sorted(redis.smembers("syncapi:announced:customers")) == [b"11", b"12"]


def test_refresh_run_fails_a_run_whose_job_died_or_vanished(app_with_state, redis):
    svc = app_with_state.extensions["services"]
    run = create_run(svc.state_engine, "categories", "manual")
    enqueued = svc.queues.enqueue(QUEUE_DEFAULT, failing_before_its_run, run.run_id, job_id="test-dead")
    set_run_job(svc.state_engine, run.run_id, enqueued.job_id)
    _work(redis, QUEUE_DEFAULT)
    assert get_run(svc.state_engine, run.run_id).status == "queued"
    refreshed = refresh_run(svc, get_run(svc.state_engine, run.run_id))
    assert refreshed.status == "failed"
    assert refreshed.reason == f"job test-dead is failed: LookupError: no POS configured for run {run.run_id}"
    # A run whose job no longer exists.
    lost = create_run(svc.state_engine, "categories", "manual")
    lost = set_run_job(svc.state_engine, lost.run_id, "test-never-queued")
    assert refresh_run(svc, lost).reason == "job test-never-queued no longer exists"
    # A run whose job waits is left alone.
    waiting = start_sync(svc, "categories", "manual")
    assert refresh_run(svc, get_run(svc.state_engine, waiting.run_id)).status == "queued"


def test_the_schedule_jobs_start_runs_and_prune(app_with_state, redis):
    svc = app_with_state.extensions["services"]
    svc.queues.enqueue(QUEUE_DEFAULT, start_scheduled, "stock", job_id="tick-1")
    svc.queues.enqueue(QUEUE_DEFAULT, start_scheduled, "stock", job_id="tick-2")
    _work(redis, QUEUE_DEFAULT)
    (run,) = list_runs(svc.state_engine)
    assert (run.kind, run.trigger, run.job_id) == ("stock", "schedule", "sync-stock-scheduled")
    assert Job.fetch("tick-2", connection=redis).return_value() == {
        "run_id": run.run_id,
        "job_id": "sync-stock-scheduled",
        "status": "duplicate",
    }
    old = create_run(svc.state_engine, "prices", "schedule")
    finish_run(svc.state_engine, old.run_id)
    with svc.state_engine.begin() as connection:
        connection.execute(
            update(RunRow).where(RunRow.id == old.run_id).values(created_at=datetime.now(UTC) - timedelta(days=31))
        )
    svc.queues.enqueue(QUEUE_DEFAULT, prune_history, job_id="prune-1")
    _work(redis, QUEUE_DEFAULT)
    assert Job.fetch("prune-1", connection=redis).return_value() == 1
    assert get_run(svc.state_engine, old.run_id) is None


def test_schedule_jobs_queued_under_their_old_paths_still_run(app_with_state, redis):
    """RQ stores a job's function by dotted path: jobs queued before the move to `jobs.periodic` still run."""
    svc = app_with_state.extensions["services"]
    queue = Queue(QUEUE_DEFAULT, connection=redis)
    tick = queue.enqueue("syncapi.runs.start_scheduled", "stock", job_id="old-tick")
    prune = queue.enqueue("syncapi.runs.prune_history", job_id="old-prune")
    purge = queue.enqueue("syncapi.personal_data.purge_personal_data", job_id="old-purge")
    assert (tick.func_name, prune.func_name) == ("syncapi.runs.start_scheduled", "syncapi.runs.prune_history")
    _work(redis, QUEUE_DEFAULT)
    (run,) = list_runs(svc.state_engine)
    assert (run.kind, run.trigger, run.job_id) == ("stock", "schedule", "sync-stock-scheduled")
    assert Job.fetch("old-tick", connection=redis).return_value()["run_id"] == run.run_id
    assert Job.fetch("old-prune", connection=redis).get_status() == JobStatus.FINISHED
    assert purge.func_name == "syncapi.personal_data.purge_personal_data"
    assert Job.fetch("old-purge", connection=redis).return_value() == {
        "link_errors": 0,
        "run_errors": 0,
        "run_reasons": 0,
        "failed_jobs": 0,
    }
