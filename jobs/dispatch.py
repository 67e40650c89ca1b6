"""Which job carries each kind of run, and starting runs with it.

    products, stock, prices, categories, customers,
    fulfilments                                    → jobs.outbound.push_<kind>(run_id, full=False, keys=None,
                                                                                 force=False)   queue "outbound"
    sales                                          → jobs.reconcile.reconcile_sales(run_id, full=False)
                                                                                                queue "inbound"
    stock check (compare, write nothing)           → jobs.outbound.check_stock(run_id, keys=None)
                                                                                                queue "outbound"

`start_sync()` is what the operator API, `flask sync`, the cron schedule and the POS's announcements call; the
run's life itself (storing, queueing, job ids, the recorder) is `syncapi.run_lifecycle`.
"""

from __future__ import annotations

from collections.abc import Sequence

from jobs.outbound import PUSH_JOBS, check_stock
from jobs.reconcile import reconcile_sales
from syncapi.run_lifecycle import Jobs, StartedRun, enqueue_check, enqueue_run
from syncapi.run_lifecycle import plan_first_runs as plan_first_runs_with
from syncapi.services import Services
from syncapi.state.run_history import KIND_SALES, KIND_STOCK, RUN_KINDS

#: The job function of each kind of run.
JOBS: Jobs = {**PUSH_JOBS, KIND_SALES: reconcile_sales}


def start_sync(
    svc: Services,
    kind: str,
    trigger: str,
    full: bool = False,
    keys: Sequence[str | int] | None = None,
    force: bool = False,
) -> StartedRun:
    """Store a run of `kind` and queue its job; raises ValueError on bad arguments (nothing stored).

    See `syncapi.run_lifecycle.enqueue_run` for `full`, `keys` and `force` and what is raised.
    """
    if kind not in JOBS:
        raise ValueError(f"kind must be one of {', '.join(RUN_KINDS)}, got {kind!r}")
    return enqueue_run(svc, JOBS[kind], kind, trigger, full, keys, force)


def start_stock_check(svc: Services, trigger: str, keys: Sequence[str] | None = None) -> StartedRun:
    """Store a stock check run (compare Magento with the POS, write nothing) and queue its job
    (`jobs.outbound.check_stock`); raises ValueError on bad arguments (nothing stored)."""
    return enqueue_check(svc, check_stock, KIND_STOCK, trigger, keys)


def plan_first_runs(svc: Services, kinds: Sequence[str]) -> dict[str, str]:
    """Before the cron schedule starts: start or hold the first scheduled runs of `kinds` in dependency order
    (`syncapi.run_lifecycle.plan_first_runs`)."""
    return plan_first_runs_with(svc, kinds, JOBS)
