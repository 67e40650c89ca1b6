"""GET /api/v1/runs/<run_id> and GET /api/v1/runs: what pushes and pulls did."""

from __future__ import annotations

from flask import abort, current_app
from marshmallow import RAISE

from syncapi import services
from syncapi.api import common
from syncapi.api.schemas import RunSchema, RunsQuerySchema, RunSummarySchema
from syncapi.run_lifecycle import refresh_run
from syncapi.state import run_history as store

blp = common.blueprint("runs", __name__, "Follow pushes and pulls: status, counts and errors.")

#: The largest run id there can be (PostgreSQL's INTEGER); a larger one is a 404, not a database error.
MAX_RUN_ID = 2**31 - 1


def _as_dict(run: store.Run, with_errors: bool) -> dict:
    answer = {
        "run_id": run.run_id,
        "kind": run.kind,
        "trigger": run.trigger,
        "status": run.status,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "counts": run.counts,
        "error_count": run.error_count,
        "reason": run.reason,
        "attempts": run.attempts,
        "params": run.params,
        "job_id": run.job_id,
    }
    if with_errors:
        answer["errors"] = [{"key": error.key, "message": error.message} for error in run.errors]
    return answer


@blp.get(f"/runs/<int(max={MAX_RUN_ID}):run_id>")
@blp.response(200, RunSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def get_run(run_id: int):
    """One run: status, counts and the errors it recorded."""
    svc = services.of_app(current_app)
    run = store.get_run(svc.state_engine, run_id)
    if run is None:
        abort(404, description=f"no run {run_id}")
    if not run.finished and refresh_run(svc, run).finished:
        run = store.get_run(svc.state_engine, run_id)
    return _as_dict(run, with_errors=True)


@blp.get("/runs")
@blp.arguments(RunsQuerySchema, location="query", unknown=RAISE)
@blp.response(200, RunSummarySchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def list_runs(query: dict):
    """Runs newest first, optionally of one kind or status (`limit` 1 to 1000, default 50)."""
    svc = services.of_app(current_app)
    found = store.list_runs(svc.state_engine, kind=query.get("kind"), limit=query["limit"], status=query.get("status"))
    return [_as_dict(refresh_run(svc, run), with_errors=False) for run in found]
