"""Failed jobs: GET /api/v1/jobs/failed, POST /api/v1/jobs/failed/<job_id>/retry, POST /api/v1/jobs/failed/retry."""

from __future__ import annotations

from flask import abort, current_app
from marshmallow import RAISE
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from syncapi import services
from syncapi.api import common
from syncapi.api.schemas import FailedJobSchema, FailedJobsQuerySchema, RequeuedAllSchema, RequeuedSchema
from syncapi.logs import SecretMaskFilter, secret_values
from syncapi.queues import QUEUE_NAMES
from syncapi.run_lifecycle import requeued, run_of_job

blp = common.blueprint("jobs", __name__, "Jobs that failed after their retries, and retrying them.")


def _registries(svc, queue_name: str | None = None) -> list[FailedJobRegistry]:
    names = QUEUE_NAMES if queue_name is None else (queue_name,)
    return [FailedJobRegistry(name, connection=svc.redis) for name in names]


def _describe(svc, job: Job) -> dict:
    result = job.latest_result()
    exc = None
    if result is not None and result.exc_string:
        lines = [line.strip() for line in result.exc_string.strip().splitlines() if line.strip()]
        # An exception may quote a credential (a client echoing its Authorization header): never pass it on.
        exc = SecretMaskFilter(secret_values(svc.settings)).mask(lines[-1]) if lines else None
    try:
        args, kwargs = list(job.args), dict(job.kwargs)
    except Exception as error:  # a job whose function or arguments can no longer be loaded is still listed
        args, kwargs = [], {"unreadable": f"{type(error).__name__}: {error}"}
    return {
        "id": job.id,
        "func": job.func_name,
        "args": args,
        "kwargs": kwargs,
        "exc": exc,
        "failed_at": job.ended_at,
        "queue": job.origin,
        "run_id": run.run_id if (run := run_of_job(svc, job)) is not None else None,
    }


@blp.get("/jobs/failed")
@blp.arguments(FailedJobsQuerySchema, location="query", unknown=RAISE)
@blp.response(200, FailedJobSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def list_failed(query: dict):
    """Jobs that failed for good (retries used up), newest first, across the queues (or one `queue`)."""
    queue_name = query.get("queue")
    if queue_name is not None and queue_name not in QUEUE_NAMES:
        abort(404, description=f"unknown queue {queue_name!r}; queues: {', '.join(QUEUE_NAMES)}")
    svc = services.of_app(current_app)
    found = []
    for registry in _registries(svc, queue_name):
        job_ids = registry.get_job_ids(0, query["limit"] - 1, desc=True)
        found.extend(job for job in Job.fetch_many(job_ids, connection=svc.redis) if job is not None)
    found.sort(key=lambda job: job.ended_at.timestamp() if job.ended_at else 0, reverse=True)
    return [_describe(svc, job) for job in found[: query["limit"]]]


@blp.post("/jobs/failed/<job_id>/retry")
@blp.response(202, RequeuedSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def retry_one(job_id: str):
    """Queue one failed job again (its run, if it carries one, goes back to queued)."""
    svc = services.of_app(current_app)
    for registry in _registries(svc):
        if job_id in registry:
            try:
                job = registry.requeue(job_id)
            except (InvalidJobOperation, NoSuchJobError):
                break  # requeued or expired meanwhile
            requeued(svc, job)
            return {"job_id": job.id, "queue": job.origin, "status": "queued"}
    abort(404, description=f"no failed job {job_id!r}")


@blp.post("/jobs/failed/retry")
@blp.response(202, RequeuedAllSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def retry_all():
    """Queue every failed job again."""
    svc = services.of_app(current_app)
    done, skipped = [], []
    for registry in _registries(svc):
        for job_id in registry.get_job_ids():
            try:
                job = registry.requeue(job_id)
            except (InvalidJobOperation, NoSuchJobError):
                skipped.append(job_id)
                continue
            requeued(svc, job)
            done.append(job.id)
    return {"requeued": done, "count": len(done), "skipped": skipped}
