"""First runs in dependency order (categories → products → prices and stock), with real Redis, RQ and SQLite."""

from __future__ import annotations

from rq import SimpleWorker
from rq.job import Job

from jobs.dispatch import JOBS, plan_first_runs
from jobs.periodic import start_scheduled
from syncapi.queues import QUEUE_DEFAULT
from syncapi.run_lifecycle import FIRST_RUN_WAITING_KEY, run_context
from syncapi.state import create_run, finish_run, list_runs

ORDER = ["categories", "products", "prices", "stock", "customers", "sales"]


def _active(svc) -> dict[str, str]:
    """The kind and status of every run not finished yet."""
    return {run.kind: run.status for run in list_runs(svc.state_engine) if not run.finished}


def _finish_first(svc, kind: str) -> None:
    """Be the job of the queued run of `kind`: run it through `run_context` to its end."""
    (run,) = [r for r in list_runs(svc.state_engine, kind) if not r.finished]
    with run_context(svc, run.run_id, jobs=JOBS):
        pass


def test_first_runs_go_categories_then_products_then_prices_and_stock(app_with_state, redis):
    svc = app_with_state.extensions["services"]
    plan = plan_first_runs(svc, ORDER)
    assert plan == {
        "categories": "queued",
        "products": "waiting",
        "prices": "waiting",
        "stock": "waiting",
        "customers": "queued",
        "sales": "queued",
    }
    assert _active(svc) == {"categories": "queued", "customers": "queued", "sales": "queued"}

    # A schedule tick for a waiting kind starts nothing while what it waits for is on its way.
    svc.queues.enqueue(QUEUE_DEFAULT, start_scheduled, "stock", job_id="tick-stock")
    SimpleWorker([QUEUE_DEFAULT], connection=redis).work(burst=True)
    assert Job.fetch("tick-stock", connection=redis).return_value()["status"] == "waiting"
    assert "stock" not in _active(svc)

    _finish_first(svc, "categories")
    assert _active(svc) == {"products": "queued", "customers": "queued", "sales": "queued"}
    _finish_first(svc, "products")
    assert _active(svc) == {"prices": "queued", "stock": "queued", "customers": "queued", "sales": "queued"}
    assert [run.trigger for run in list_runs(svc.state_engine, "stock")] == ["schedule"]
    assert not any(redis.exists(FIRST_RUN_WAITING_KEY.format(kind=kind)) for kind in ORDER)


def test_a_failed_first_run_does_not_hold_back_the_runs_after_it(app_with_state, redis):
    svc = app_with_state.extensions["services"]
    plan_first_runs(svc, ["categories", "products"])
    (categories,) = list_runs(svc.state_engine, "categories")
    finish_run(svc.state_engine, categories.run_id, failed_reason="Magento answered 503")
    # Its job died without ending the run: the next tick of products sees nothing left to wait for.
    assert start_scheduled("products")["status"] == "queued"
    assert _active(svc) == {"products": "queued"}


def test_a_store_that_synced_before_runs_everything_on_schedule(app_with_state, redis):
    svc = app_with_state.extensions["services"]
    for kind in ORDER:
        finish_run(svc.state_engine, create_run(svc.state_engine, kind, "schedule").run_id)
    assert plan_first_runs(svc, ORDER) == dict.fromkeys(ORDER, "queued")


def test_only_kinds_on_the_schedule_are_waited_for(app_with_state, redis):
    svc = app_with_state.extensions["services"]
    # Categories are not scheduled (their interval is 0) and never ran: products do not wait for them.
    assert plan_first_runs(svc, ["products", "stock"]) == {"products": "queued", "stock": "waiting"}
