"""Run history: one row per push or pull (`sync_runs`) with its counts, and its errors (`sync_run_errors`).

Lifecycle: `create_run` (queued) → `start_run` (running; again on each retry) → `add_counts` / `add_error`
while it works (atomic, so several jobs or threads of one run may report at once) → `finish_run`
(succeeded, partial or failed). `requeue_run` puts a run back to queued when its job will be tried again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, literal, select, update

from syncapi.state._sql import IN_CHUNK, choice, chunks, clip
from syncapi.state.models import KEY_LENGTH, RunDifferenceRow, RunErrorRow, RunRow, UTCDateTime, utcnow

KIND_PRODUCTS = "products"
KIND_STOCK = "stock"
KIND_PRICES = "prices"
KIND_CATEGORIES = "categories"
KIND_CUSTOMERS = "customers"
KIND_SALES = "sales"
#: POS fulfilments of web orders, each becoming one Magento shipment.
KIND_FULFILMENTS = "fulfilments"
#: What a run can push (POS → Magento) ...
PUSH_KINDS = (KIND_PRODUCTS, KIND_STOCK, KIND_PRICES, KIND_CATEGORIES, KIND_CUSTOMERS, KIND_FULFILMENTS)
#: ... or pull (Magento → POS: sales reconciliation).
RUN_KINDS = (*PUSH_KINDS, KIND_SALES)
#: Kinds whose runs can be limited to some SKUs.
SKU_KINDS = (KIND_PRODUCTS, KIND_STOCK, KIND_PRICES)

TRIGGER_SCHEDULE = "schedule"
TRIGGER_MANUAL = "manual"
TRIGGER_ANNOUNCED = "announced"
TRIGGER_CLI = "cli"
#: A webhook delivery whose events could not all be queued (their errors are the run's).
TRIGGER_WEBHOOK = "webhook"
#: A stock or price run for SKUs that were not in Magento yet, queued when their product push ended.
TRIGGER_DEFERRED = "deferred"
TRIGGERS = (TRIGGER_SCHEDULE, TRIGGER_MANUAL, TRIGGER_ANNOUNCED, TRIGGER_CLI, TRIGGER_WEBHOOK, TRIGGER_DEFERRED)

RUN_QUEUED = "queued"
RUN_RUNNING = "running"
RUN_SUCCEEDED = "succeeded"
RUN_PARTIAL = "partial"
RUN_FAILED = "failed"
RUN_STATUSES = (RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED, RUN_PARTIAL, RUN_FAILED)
FINAL_STATUSES = (RUN_SUCCEEDED, RUN_PARTIAL, RUN_FAILED)
#: Statuses of a run that got to the end of its work (`partial`: some items failed).
COMPLETED_STATUSES = (RUN_SUCCEEDED, RUN_PARTIAL)

#: Errors kept per run; later ones are only counted (`error_count`), so a run over a broken catalogue
#: cannot fill the database.
MAX_STORED_ERRORS = 1000
#: Longest stored error message; longer ones are cut, never refused.
MAX_ERROR_CHARS = 2000
#: Largest `params` document a run may carry, in characters of JSON.
MAX_PARAMS_CHARS = 1_000_000
#: Most runs `list_runs` returns at once.
MAX_LIST_LIMIT = 1000

COUNT_FIELDS = ("created", "updated", "unchanged", "failed")

_RUNS = RunRow.__table__
_ERRORS = RunErrorRow.__table__
_DIFFERENCES = RunDifferenceRow.__table__


class RunNotFoundError(LookupError):
    """No run has that id."""


@dataclass(frozen=True)
class RunError:
    """One error a run recorded: the record it concerns (SKU, id; may be empty) and what went wrong."""

    key: str
    message: str


@dataclass(frozen=True)
class Run:
    """A run as stored. `errors` is filled by `get_run` only (`list_runs` leaves it empty)."""

    run_id: int
    kind: str
    trigger: str
    status: str
    params: dict[str, Any]
    job_id: str | None
    attempts: int
    reason: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    created: int
    updated: int
    unchanged: int
    failed: int
    error_count: int
    errors: tuple[RunError, ...] = field(default=())

    @property
    def counts(self) -> dict[str, int]:
        """The four counts by name."""
        return {name: getattr(self, name) for name in COUNT_FIELDS}

    @property
    def finished(self) -> bool:
        """True once the run has a final status."""
        return self.status in FINAL_STATUSES


def create_run(
    engine: Engine,
    kind: str,
    trigger: str,
    params: Mapping[str, Any] | None = None,
    job_id: str | None = None,
) -> Run:
    """A new run of `kind`, queued. `params` (JSON) records what was asked, e.g. `{"full": true}`."""
    kind = choice("kind", kind, RUN_KINDS)
    trigger = choice("trigger", trigger, TRIGGERS)
    params = dict(params or {})
    encoded = json.dumps(params)  # refuses what JSON cannot hold, before anything is written
    if len(encoded) > MAX_PARAMS_CHARS:
        raise ValueError(f"run params must be at most {MAX_PARAMS_CHARS} characters of JSON, got {len(encoded)}")
    values = {
        "kind": kind,
        "trigger": trigger,
        "status": RUN_QUEUED,
        "params": params,
        "job_id": job_id,
        "attempts": 0,
        "created_at": utcnow(),
        "created_count": 0,
        "updated_count": 0,
        "unchanged_count": 0,
        "failed_count": 0,
        "error_count": 0,
    }
    with engine.begin() as connection:
        run_id = connection.execute(insert(_RUNS).values(values)).inserted_primary_key[0]
        return _fetch(connection, run_id)


def set_run_job(engine: Engine, run_id: int, job_id: str) -> Run:
    """Record the id of the job that carries the run."""
    return _update(engine, run_id, job_id=job_id)


def delete_run(engine: Engine, run_id: int) -> bool:
    """Remove a run and its errors (a run whose job was never queued); True when there was one."""
    with engine.begin() as connection:
        connection.execute(delete(_ERRORS).where(_ERRORS.c.run_id == run_id))
        connection.execute(delete(_DIFFERENCES).where(_DIFFERENCES.c.run_id == run_id))
        return bool(connection.execute(delete(_RUNS).where(_RUNS.c.id == run_id)).rowcount)


def start_run(engine: Engine, run_id: int, *, reset: bool = True) -> Run:
    """Mark the run running and count an attempt; `started_at` keeps the first start.

    With `reset` (the default), a second or later attempt starts with zero counts and no errors, because a
    retried job does its work again: the counts then describe the attempt that finished the run.
    """
    with engine.begin() as connection:
        connection.execute(
            update(_RUNS)
            .where(_RUNS.c.id == run_id)
            .values(
                status=RUN_RUNNING,
                attempts=_RUNS.c.attempts + 1,
                started_at=func.coalesce(_RUNS.c.started_at, literal(utcnow(), UTCDateTime())),
                finished_at=None,
            )
        )
        run = _fetch(connection, run_id)
        if reset and run.attempts > 1:
            connection.execute(delete(_ERRORS).where(_ERRORS.c.run_id == run_id))
            connection.execute(delete(_DIFFERENCES).where(_DIFFERENCES.c.run_id == run_id))
            connection.execute(
                update(_RUNS)
                .where(_RUNS.c.id == run_id)
                .values(created_count=0, updated_count=0, unchanged_count=0, failed_count=0, error_count=0)
            )
            run = _fetch(connection, run_id)
        return run


def add_counts(engine: Engine, run_id: int, created: int = 0, updated: int = 0, unchanged: int = 0, failed: int = 0):
    """Add to the run's counts in one atomic UPDATE (safe from several processes at once)."""
    increments = {"created": created, "updated": updated, "unchanged": unchanged, "failed": failed}
    for name, value in increments.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number of 0 or more, got {value!r}")
    if not any(increments.values()):
        if get_run(engine, run_id, with_errors=False) is None:
            raise RunNotFoundError(f"no run {run_id}")
        return
    with engine.begin() as connection:
        _increment(connection, run_id, {f"{name}_count": value for name, value in increments.items()})


def add_error(engine: Engine, run_id: int, key: str | int | None, message: str) -> None:
    """Record one error of the run (`key`: the SKU or id it concerns, or None); see `add_errors`."""
    add_errors(engine, run_id, [(key, message)])


def add_errors(engine: Engine, run_id: int, errors: Iterable[tuple[str | int | None, str]], failed: int = 0) -> None:
    """Record errors of the run, and add `failed` to its failed count, in one transaction.

    Every error is counted in `error_count`; only the first `MAX_STORED_ERRORS` of a run are stored. Keys and
    messages that are too long are cut, never refused: losing an error would be worse.
    """
    errors = [(_error_key(key), clip(str(message), MAX_ERROR_CHARS)) for key, message in errors]
    if isinstance(failed, bool) or not isinstance(failed, int) or failed < 0:
        raise ValueError(f"failed must be a whole number of 0 or more, got {failed!r}")
    if not errors and not failed:
        return
    with engine.begin() as connection:
        # The UPDATE locks the run's row until commit, so concurrent writers see each other's totals and the
        # cap holds exactly.
        total = _increment(connection, run_id, {"failed_count": failed, "error_count": len(errors)})
        room = MAX_STORED_ERRORS - (total - len(errors))
        if room > 0 and errors:
            now = utcnow()
            rows = [{"run_id": run_id, "key": k, "message": m, "created_at": now} for k, m in errors[:room]]
            connection.execute(insert(_ERRORS), rows)


def finish_run(engine: Engine, run_id: int, failed_reason: str | None = None) -> Run:
    """End the run and return it: `failed` with `failed_reason` (the run itself died), else from its counts.

    Without a reason: no failed items and no errors → succeeded; some failed items or errors alongside
    successful ones → partial; failures and nothing else → failed. A run that already ended is returned as is.
    """
    with engine.begin() as connection:
        run = _fetch(connection, run_id)
        if run.finished:
            return run
        if failed_reason is not None:
            status, reason = RUN_FAILED, clip(str(failed_reason), MAX_ERROR_CHARS) or "failed"
        else:
            status, reason = _outcome(run)
        connection.execute(
            update(_RUNS).where(_RUNS.c.id == run_id).values(status=status, reason=reason, finished_at=utcnow())
        )
        return _fetch(connection, run_id)


def requeue_run(engine: Engine, run_id: int, reason: str | None = None) -> Run:
    """Put the run back to queued (its job will run again: an RQ retry, or an operator's requeue)."""
    return _update(
        engine,
        run_id,
        status=RUN_QUEUED,
        finished_at=None,
        reason=clip(str(reason), MAX_ERROR_CHARS) if reason else None,
    )


def get_run(engine: Engine, run_id: int, *, with_errors: bool = True) -> Run | None:
    """The run with its stored errors (oldest first), or None when there is no such run."""
    with engine.connect() as connection:
        row = connection.execute(select(_RUNS).where(_RUNS.c.id == run_id)).one_or_none()
        if row is None:
            return None
        errors: tuple[RunError, ...] = ()
        if with_errors:
            query = select(_ERRORS.c.key, _ERRORS.c.message).where(_ERRORS.c.run_id == run_id).order_by(_ERRORS.c.id)
            errors = tuple(RunError(key, message) for key, message in connection.execute(query))
        return _run(row, errors)


def list_runs(engine: Engine, kind: str | None = None, limit: int = 50, status: str | None = None) -> list[Run]:
    """Runs newest first, optionally of one kind and/or status; without their errors."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit!r}")
    query = select(_RUNS).order_by(_RUNS.c.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(_RUNS.c.kind == choice("kind", kind, RUN_KINDS))
    if status is not None:
        query = query.where(_RUNS.c.status == choice("status", status, RUN_STATUSES))
    with engine.connect() as connection:
        return [_run(row) for row in connection.execute(query)]


def prune_runs(engine: Engine, older_than_days: int) -> int:
    """Delete finished runs (and their errors) created more than `older_than_days` days ago; returns how many."""
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, int) or older_than_days < 0:
        raise ValueError(f"older_than_days must be a whole number of 0 or more, got {older_than_days!r}")
    cutoff = utcnow() - timedelta(days=older_than_days)
    with engine.begin() as connection:
        old = connection.execute(
            select(_RUNS.c.id).where(_RUNS.c.created_at < cutoff, _RUNS.c.status.in_(FINAL_STATUSES))
        )
        run_ids = [run_id for (run_id,) in old]
        for batch in chunks(run_ids, IN_CHUNK):
            connection.execute(delete(_ERRORS).where(_ERRORS.c.run_id.in_(batch)))
            connection.execute(delete(_DIFFERENCES).where(_DIFFERENCES.c.run_id.in_(batch)))
            connection.execute(delete(_RUNS).where(_RUNS.c.id.in_(batch)))
    return len(run_ids)


def last_completed(engine: Engine) -> dict[str, datetime]:
    """Per kind, when its latest run that got to the end (succeeded or partial) finished."""
    query = (
        select(_RUNS.c.kind, func.max(_RUNS.c.finished_at))
        .where(_RUNS.c.status.in_(COMPLETED_STATUSES))
        .group_by(_RUNS.c.kind)
    )
    with engine.connect() as connection:
        return dict(connection.execute(query).all())


def _outcome(run: Run) -> tuple[str, str | None]:
    failures = run.failed or run.error_count
    if not failures:
        return RUN_SUCCEEDED, None
    if run.created or run.updated or run.unchanged:
        return RUN_PARTIAL, f"{run.failed} failed, {run.error_count} error(s)"
    return RUN_FAILED, f"every item failed ({run.failed} failed, {run.error_count} error(s))"


def _increment(connection, run_id: int, increments: Mapping[str, int]) -> int:
    """Add `increments` (by column) to the run's row; returns its error count after the change."""
    values = {column: _RUNS.c[column] + value for column, value in increments.items() if value}
    if values and not connection.execute(update(_RUNS).where(_RUNS.c.id == run_id).values(values)).rowcount:
        raise RunNotFoundError(f"no run {run_id}")
    total = connection.execute(select(_RUNS.c.error_count).where(_RUNS.c.id == run_id)).scalar_one_or_none()
    if total is None:
        raise RunNotFoundError(f"no run {run_id}")
    return total


def _update(engine: Engine, run_id: int, **values) -> Run:
    with engine.begin() as connection:
        if not connection.execute(update(_RUNS).where(_RUNS.c.id == run_id).values(values)).rowcount:
            raise RunNotFoundError(f"no run {run_id}")
        return _fetch(connection, run_id)


def _fetch(connection, run_id: int) -> Run:
    row = connection.execute(select(_RUNS).where(_RUNS.c.id == run_id)).one_or_none()
    if row is None:
        raise RunNotFoundError(f"no run {run_id}")
    return _run(row)


def _run(row, errors: tuple[RunError, ...] = ()) -> Run:
    r = row._mapping
    return Run(
        run_id=r["id"],
        kind=r["kind"],
        trigger=r["trigger"],
        status=r["status"],
        params=r["params"],
        job_id=r["job_id"],
        attempts=r["attempts"],
        reason=r["reason"],
        created_at=r["created_at"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
        created=r["created_count"],
        updated=r["updated_count"],
        unchanged=r["unchanged_count"],
        failed=r["failed_count"],
        error_count=r["error_count"],
        errors=errors,
    )


def _error_key(key: str | int | None) -> str:
    return "" if key is None else clip(str(key), KEY_LENGTH)
