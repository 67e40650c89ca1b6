"""The life of a run, from queued to finished, for the job that carries it.

`enqueue_run()` is the one way to start a run, whoever asks (the operator API, the command line, the cron
schedule and the POS's change announcements go through `jobs.dispatch.start_sync`, which names the job of each
kind). It stores the run (queued) and queues its job on the kind's queue: "outbound" for the pushes, "inbound"
for the sales reconcile.

Job ids: `sync-<kind>-<run_id>` for manual and command-line runs (each one runs); `sync-<kind>-scheduled` for
the schedule and `sync-<kind>-announced` for announcements, so a tick or an announcement arriving while the
previous one still waits joins it (`status == "duplicate"`, the waiting run's id returned, no new row kept).

A job wraps its work in `run_context()`:

    def push_stock(run_id: int, full: bool = False, keys: list[str] | None = None, force: bool = False):
        svc = services.current()
        with run_context(svc, run_id, jobs=PUSH_JOBS) as run:
            if run.trigger == "announced":
                keys = run.announced_keys()
            ...
            run.count(updated=len(sent), unchanged=len(skipped))
            run.fail(sku, "Magento refused the quantity: ...")

The functions that may start a run of another kind (a first run waiting for this one, the SKUs waiting for
their product) take `jobs`, the job function of each kind, from the `jobs` package: this module never names
a job itself.

On success the run ends succeeded or partial (from its counts). On an exception the run is marked failed and
the exception re-raised, so RQ shows it in the failed registry; but when RQ will retry the job (retries left),
the run goes back to `queued` with the reason instead, and the next attempt starts it again with fresh counts
(the retry redoes the work: what the failed attempt already sent is then `unchanged` thanks to the hashes).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rq import get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from syncapi.queues import QUEUE_INBOUND, QUEUE_OUTBOUND, QueueUnavailableError, job_id
from syncapi.services import Services
from syncapi.state import announced
from syncapi.state import run_history as store
from syncapi.state.models import KEY_LENGTH
from syncapi.state.run_history import (
    KIND_CATEGORIES,
    KIND_CUSTOMERS,
    KIND_FULFILMENTS,
    KIND_PRICES,
    KIND_PRODUCTS,
    KIND_SALES,
    KIND_STOCK,
    PUSH_KINDS,
    RUN_FAILED,
    RUN_KINDS,
    RUN_PARTIAL,
    RUN_QUEUED,
    RUN_RUNNING,
    RUN_SUCCEEDED,
    TRIGGER_ANNOUNCED,
    TRIGGER_CLI,
    TRIGGER_MANUAL,
    TRIGGER_SCHEDULE,
    TRIGGERS,
    Run,
)

log = logging.getLogger(__name__)

#: A job function, called by RQ with the run id and the run's parameters.
JobFunc = Callable[..., Any]
#: The job function that carries each kind of run (`jobs.dispatch.JOBS`).
Jobs = Mapping[str, JobFunc]
#: The queue of each kind's jobs.
JOB_QUEUES = {**dict.fromkeys(PUSH_KINDS, QUEUE_OUTBOUND), KIND_SALES: QUEUE_INBOUND}
#: Most keys one run may be limited to (larger selections are a full run).
MAX_KEYS = 10_000
#: Seconds between writes of a run's buffered counts while its job works.
FLUSH_INTERVAL_S = 2.0
#: Errors buffered before they are written, whatever the time.
FLUSH_ERRORS = 100
#: What a kind's first scheduled run waits for: Magento needs a product's categories before the product, and
#: the product before its stock and prices (`start_scheduled`).
FIRST_RUN_AFTER = {
    KIND_PRODUCTS: (KIND_CATEGORIES,),
    KIND_PRICES: (KIND_PRODUCTS,),
    KIND_STOCK: (KIND_PRODUCTS,),
}
#: Redis key marking a kind's first scheduled run as waiting for the first runs it comes after.
FIRST_RUN_WAITING_KEY = "syncapi:first-run-waiting:{kind}"
#: Seconds a waiting first run keeps waiting beyond the job timeout of the run it waits for.
FIRST_RUN_WAIT_MARGIN_S = 600
#: Kinds whose SKUs can wait for their product push (`syncapi.outbound.waiting`).
DEFERRABLE_KINDS = (KIND_STOCK, KIND_PRICES)
#: Job states in which the job will not run the run again.
DEAD_JOB_STATES = frozenset({JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED})


@dataclass(frozen=True)
class StartedRun:
    """What `enqueue_run` did: `status` is `queued`, or `duplicate` when an equal run was already waiting."""

    run_id: int | None
    job_id: str
    status: str


def job_id_for(kind: str, trigger: str, run_id: int) -> str:
    """The job id of a run: shared by waiting scheduled or announced runs of a kind, unique otherwise."""
    if trigger == TRIGGER_SCHEDULE:
        return job_id("sync", kind, "scheduled")
    if trigger == TRIGGER_ANNOUNCED:
        return job_id("sync", kind, "announced")
    return job_id("sync", kind, run_id)


def enqueue_run(
    svc: Services,
    job: JobFunc,
    kind: str,
    trigger: str,
    full: bool = False,
    keys: Sequence[str | int] | None = None,
    force: bool = False,
) -> StartedRun:
    """Store a run of `kind` and queue `job` for it; raises ValueError on bad arguments (nothing stored).

    `full`: ignore the watermark and consider every record; `keys`: only these SKUs or ids; `force`: send
    even records whose hash is unchanged. Raises `QueueUnavailableError` when Redis does not answer: the run
    is then kept as `failed` with the reason, never left `queued`.
    """
    keys = _checked(kind, trigger, full, keys, force)
    params = {"full": full} if kind == KIND_SALES else {"full": full, "keys": keys, "force": force}
    return _store_and_enqueue(svc, job, kind, trigger, params, params)


def enqueue_check(
    svc: Services, job: JobFunc, kind: str, trigger: str, keys: Sequence[str] | None = None
) -> StartedRun:
    """Store a check run of `kind` (compare, write nothing; params `{"check": true}`) and queue `job` for it
    with `keys`; only manual and command-line runs check. Raises ValueError on bad arguments (nothing stored)."""
    if trigger not in (TRIGGER_MANUAL, TRIGGER_CLI):
        raise ValueError(f"a check run is started by hand (manual or cli), not by {trigger!r}")
    keys = _checked(kind, trigger, False, keys, False)
    return _store_and_enqueue(svc, job, kind, trigger, {"check": True, "keys": keys}, {"keys": keys})


def _store_and_enqueue(svc: Services, job: JobFunc, kind: str, trigger: str, params: dict, job_params: dict):
    engine = svc.state_engine
    run = store.create_run(engine, kind, trigger, params)
    wanted_job_id = job_id_for(kind, trigger, run.run_id)
    try:
        enqueued = svc.queues.enqueue(JOB_QUEUES[kind], job, run.run_id, job_id=wanted_job_id, **job_params)
    except QueueUnavailableError as exc:
        store.finish_run(engine, run.run_id, failed_reason=f"not queued: {exc}")
        raise
    except Exception as exc:
        store.finish_run(engine, run.run_id, failed_reason=f"not queued: {type(exc).__name__}: {exc}")
        raise
    if enqueued.status == "duplicate":
        # The waiting job will do this work: keep no row for a run that will never have a job of its own.
        store.delete_run(engine, run.run_id)
        started = StartedRun(_run_id_of(svc, enqueued.job_id), enqueued.job_id, "duplicate")
    else:
        store.set_run_job(engine, run.run_id, enqueued.job_id)
        started = StartedRun(run.run_id, enqueued.job_id, "queued")
    log.info(
        "sync run started",
        extra={
            "kind": kind,
            "trigger": trigger,
            "run_id": started.run_id,
            "job_id": started.job_id,
            "status": started.status,
        },
    )
    return started


def _checked(kind, trigger, full, keys, force) -> list[str] | None:
    if kind not in RUN_KINDS:
        raise ValueError(f"kind must be one of {', '.join(RUN_KINDS)}, got {kind!r}")
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger must be one of {', '.join(TRIGGERS)}, got {trigger!r}")
    for name, value in (("full", full), ("force", force)):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
    if kind == KIND_SALES and (keys is not None or force):
        raise ValueError("a sales run takes neither keys nor force")
    if keys is None:
        return None
    if trigger == TRIGGER_ANNOUNCED:
        raise ValueError("an announced run takes its keys from the announcements, not from keys")
    if full:
        raise ValueError("give either full or keys, not both")
    if isinstance(keys, str | bytes) or not isinstance(keys, Sequence):
        raise ValueError("keys must be a list of SKUs or ids")
    checked = []
    for key in keys:
        if isinstance(key, bool) or not isinstance(key, str | int) or not str(key).strip():
            raise ValueError(f"keys must be non-empty SKUs or ids, got {key!r}")
        if len(str(key)) > KEY_LENGTH:
            raise ValueError(f"keys must be at most {KEY_LENGTH} characters, got {len(str(key))}")
        checked.append(str(key))
    checked = list(dict.fromkeys(checked))
    if not checked:
        raise ValueError("keys must not be empty (leave them out to consider every record)")
    if len(checked) > MAX_KEYS:
        raise ValueError(f"at most {MAX_KEYS} keys per run, got {len(checked)}; run a full push instead")
    return checked


def _run_id_of(svc: Services, waiting_job_id: str) -> int | None:
    try:
        job = Job.fetch(waiting_job_id, connection=svc.redis)
    except NoSuchJobError:
        return None
    return _first_argument(job)


def run_of_job(svc: Services, job: Job) -> Run | None:
    """The run `job` carries: its first argument is a run id whose stored job id is this job's; else None."""
    run_id = _first_argument(job)
    if run_id is None:
        return None
    run = store.get_run(svc.state_engine, run_id, with_errors=False)
    return run if run is not None and run.job_id == job.id else None


def _first_argument(job: Job) -> int | None:
    try:
        first = job.args[0] if job.args else None
    except Exception:  # arguments that no longer load belong to no run
        return None
    return first if isinstance(first, int) and not isinstance(first, bool) else None


def refresh_run(svc: Services, run: Run) -> Run:
    """`run`, marked failed first if it is unfinished but its job is gone or dead (a killed worker, an expiry).

    A job that dies without raising (its worker killed, its queue wait expired) never reaches `run_context`'s
    bookkeeping; the API calls this so such a run does not stay `running` forever.
    """
    if run.finished or not run.job_id:
        return run
    try:
        job = Job.fetch(run.job_id, connection=svc.redis)
    except NoSuchJobError:
        job = None
    if job is not None and _first_argument(job) != run.run_id:
        job = None  # the id now carries a later run: this run's own job is gone
    status = job.get_status(refresh=False) if job is not None else None
    if job is not None and status not in DEAD_JOB_STATES:
        return run
    current = store.get_run(svc.state_engine, run.run_id, with_errors=False)
    if current is None or current.finished:
        return current or run
    state = getattr(status, "value", status)
    reason = f"job {run.job_id} is {state}" if job is not None else f"job {run.job_id} no longer exists"
    if job is not None:
        result = job.latest_result()
        if result is not None and result.exc_string:
            reason += f": {_last_line(result.exc_string)}"
    return store.finish_run(svc.state_engine, run.run_id, failed_reason=reason)


def requeued(svc: Services, job: Job) -> None:
    """Put the run of a job an operator requeued back to queued."""
    run = run_of_job(svc, job)
    if run is not None:
        store.requeue_run(svc.state_engine, run.run_id, reason=f"job {job.id} requeued")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


class RunRecorder:
    """What a job reports while it works; counts and errors are buffered and written every few seconds."""

    def __init__(self, svc: Services, run: Run):
        self.svc = svc
        self.run = run
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(store.COUNT_FIELDS, 0)
        self._errors: list[tuple[str, str]] = []
        self._flushed_at = time.monotonic()

    @property
    def run_id(self) -> int:
        return self.run.run_id

    @property
    def kind(self) -> str:
        return self.run.kind

    @property
    def trigger(self) -> str:
        return self.run.trigger

    def count(self, created: int = 0, updated: int = 0, unchanged: int = 0, failed: int = 0) -> None:
        """Add to the run's counts."""
        for name, value in (("created", created), ("updated", updated), ("unchanged", unchanged), ("failed", failed)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number of 0 or more, got {value!r}")
        with self._lock:
            self._counts["created"] += created
            self._counts["updated"] += updated
            self._counts["unchanged"] += unchanged
            self._counts["failed"] += failed
        self._maybe_flush()

    def error(self, key: str | int | None, message: str) -> None:
        """Record an error that is not one failed record (a failed record is `fail`)."""
        with self._lock:
            self._errors.append((key, message))
        self._maybe_flush()

    def fail(self, key: str | int | None, message: str) -> None:
        """One record failed: count it and record why."""
        with self._lock:
            self._counts["failed"] += 1
            self._errors.append((key, message))
        self._maybe_flush()

    def announced_keys(self) -> list[str]:
        """For an announced run: every key announced for its kind, held for this run until it ends."""
        return announced.drain_announced(self.svc.redis, self.kind, run_id=self.run_id)

    def flush(self) -> None:
        """Write the buffered counts and errors now."""
        with self._lock:
            counts, errors = self._counts, self._errors
            self._counts, self._errors = dict.fromkeys(store.COUNT_FIELDS, 0), []
            self._flushed_at = time.monotonic()
        try:
            if errors or counts["failed"]:
                store.add_errors(self.svc.state_engine, self.run_id, errors, failed=counts["failed"])
            others = {name: value for name, value in counts.items() if name != "failed"}
            if any(others.values()):
                store.add_counts(self.svc.state_engine, self.run_id, **others)
        except Exception:
            with self._lock:  # keep them for the next flush rather than lose them
                for name, value in counts.items():
                    self._counts[name] += value
                self._errors[:0] = errors
            raise
        for outcome, value in counts.items():
            self.svc.metrics.count_items(self.kind, outcome, value)

    def _maybe_flush(self) -> None:
        if len(self._errors) >= FLUSH_ERRORS or time.monotonic() - self._flushed_at >= FLUSH_INTERVAL_S:
            self.flush()


@contextmanager
def run_context(svc: Services, run_id: int, *, jobs: Jobs) -> Iterator[RunRecorder]:
    """Mark the run running, yield its recorder, and end the run as the block ends (see the module doc); a first
    run that waited for this one is then started with its job from `jobs`."""
    engine = svc.state_engine
    run = store.start_run(engine, run_id)
    recorder = RunRecorder(svc, run)
    log.info("sync run running", extra={"run_id": run_id, "kind": run.kind, "attempt": run.attempts})
    try:
        yield recorder
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        try:
            recorder.flush()
        except Exception:
            log.exception("could not write the counts of a failing run", extra={"run_id": run_id})
        try:
            if _will_be_retried():
                recorder.run = store.requeue_run(
                    engine, run_id, reason=f"attempt {run.attempts} failed, will be retried: {reason}"
                )
            else:
                recorder.run = store.finish_run(engine, run_id, failed_reason=reason)
                _settle_announced(svc, recorder.run, done=False)
        except Exception:
            log.exception("could not record the failure of a run", extra={"run_id": run_id})
        log.warning("sync run attempt failed", extra={"run_id": run_id, "kind": run.kind, "error": reason})
        if recorder.run.finished:
            _after_run(svc, run.kind, jobs)
        raise
    recorder.flush()
    recorder.run = store.finish_run(engine, run_id)
    _settle_announced(svc, recorder.run, done=True)
    log.info(
        "sync run finished",
        extra={"run_id": run_id, "kind": run.kind, "status": recorder.run.status, "counts": recorder.run.counts},
    )
    _after_run(svc, run.kind, jobs)


def _after_run(svc: Services, kind: str, jobs: Jobs) -> None:
    # Never fails the run that just ended: a waiting first run still starts on its next scheduled tick.
    try:
        _start_waiting_first_runs(svc, kind, jobs)
    except Exception:
        log.exception("could not start the first runs waiting for this one", extra={"kind": kind})


def _will_be_retried() -> bool:
    job = get_current_job()
    return job is not None and job.should_retry


def _settle_announced(svc: Services, run: Run, *, done: bool) -> None:
    if run.trigger == TRIGGER_ANNOUNCED:
        announced.settle_announced(svc.redis, run.kind, run.run_id, done=done)


def start_scheduled_run(svc: Services, kind: str, jobs: Jobs) -> dict:
    """Start the scheduled run of `kind` (joins one still waiting), unless it is a first run still waiting for the
    first runs it comes after (see `plan_first_runs`); what happened, as the cron job's result."""
    waiting_key = FIRST_RUN_WAITING_KEY.format(kind=kind)
    if svc.redis.exists(waiting_key):
        if _blocking_first_runs(svc, kind):
            return {"run_id": None, "job_id": None, "status": "waiting"}
        svc.redis.delete(waiting_key)
    started = enqueue_run(svc, jobs[kind], kind, TRIGGER_SCHEDULE)
    return {"run_id": started.run_id, "job_id": started.job_id, "status": started.status}


def scheduled_intervals(settings) -> dict[str, int]:
    """Seconds between scheduled runs of each kind (0: not scheduled), in the order their first runs go."""
    return {
        KIND_CATEGORIES: settings.sync_interval_categories_s,
        KIND_PRODUCTS: settings.sync_interval_products_s,
        KIND_PRICES: settings.sync_interval_prices_s,
        KIND_STOCK: settings.sync_interval_stock_s,
        KIND_CUSTOMERS: settings.sync_interval_customers_s,
        KIND_FULFILMENTS: settings.sync_interval_fulfilments_s,
        KIND_SALES: settings.reconcile_interval_s,
    }


def plan_first_runs(svc: Services, kinds: Sequence[str], jobs: Jobs) -> dict[str, str]:
    """Before the cron schedule starts: start the scheduled runs of `kinds` (in this order) whose first runs
    do not wait for others, and mark the others waiting; each starts when the last run it waits for ends.

    Categories, then products, then prices and stock: run together on an empty store, a product push would
    create the categories the category push is creating, and stock and prices would find no products. Only a
    kind that never finished a run waits, and only for a kind that is itself on its first run, so a store that
    has synced before runs everything on schedule. Returns what happened to each kind (`queued`, `duplicate`,
    `waiting`)."""
    plan = {}
    for kind in kinds:
        waiting_key = FIRST_RUN_WAITING_KEY.format(kind=kind)
        if not _ever_finished(svc, kind) and _blocking_first_runs(svc, kind):
            # Expires in case the run it waits for dies without ending: the schedule then goes on as usual.
            svc.redis.set(waiting_key, 1, ex=svc.settings.job_timeout_s + FIRST_RUN_WAIT_MARGIN_S)
            plan[kind] = "waiting"
            continue
        svc.redis.delete(waiting_key)
        plan[kind] = enqueue_run(svc, jobs[kind], kind, TRIGGER_SCHEDULE).status
    log.info("first runs planned", extra={"plan": plan})
    return plan


def _ever_finished(svc: Services, kind: str) -> bool:
    return any(
        store.list_runs(svc.state_engine, kind, limit=1, status=status)
        for status in (RUN_SUCCEEDED, RUN_PARTIAL, RUN_FAILED)
    )


def _pending_first_run(svc: Services, kind: str) -> bool:
    """True while `kind` is on its first run: never finished one, and one is queued, running or waiting."""
    if _ever_finished(svc, kind):
        return False
    if svc.redis.exists(FIRST_RUN_WAITING_KEY.format(kind=kind)):
        return True
    return any(store.list_runs(svc.state_engine, kind, limit=1, status=status) for status in (RUN_QUEUED, RUN_RUNNING))


def _blocking_first_runs(svc: Services, kind: str) -> list[str]:
    return [before for before in FIRST_RUN_AFTER.get(kind, ()) if _pending_first_run(svc, before)]


def _start_waiting_first_runs(svc: Services, finished_kind: str, jobs: Jobs) -> None:
    """After a run of `finished_kind` ended: start the waiting first runs that waited only for it."""
    for kind, after in FIRST_RUN_AFTER.items():
        if finished_kind not in after:
            continue
        waiting_key = FIRST_RUN_WAITING_KEY.format(kind=kind)
        if not svc.redis.exists(waiting_key) or _blocking_first_runs(svc, kind):
            continue
        if svc.redis.delete(waiting_key):  # whoever deletes the mark starts the run
            started = enqueue_run(svc, jobs[kind], kind, TRIGGER_SCHEDULE)
            log.info("first run started", extra={"kind": kind, "after": finished_kind, "run_id": started.run_id})
