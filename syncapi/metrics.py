"""The service's Prometheus metrics, kept in Redis so every web and worker process shares them.

The web runs several gunicorn processes and the workers are separate processes, maybe on other machines, so
counters kept in one process's memory would show only that process. Instead every counter and histogram lives
in a Redis hash (`syncapi:metrics:<name>`, one field per label set) that any process increments with one
pipelined round trip, and `/metrics` (`syncapi.metrics_view`) reads them back at scrape time. Recording is
best effort: a Redis hiccup loses a sample and logs a warning, it never fails the webhook, job or Magento call
being measured.

Call these from the rest of the service, with the process's Redis connection (`connection=svc.redis`):
    count_webhook(event, status)                        syncapi_webhooks_total{event,status}
    webhook_counter(event)                              the same, counted by Queues.enqueue as it queues
    observe_job(func, outcome, seconds)                 syncapi_jobs_total{func,outcome},
                                                        syncapi_job_duration_seconds{func}
    count_items(kind, outcome, n=1)                     syncapi_items_pushed_total{kind,outcome}
    observe_magento(endpoint, method, status, seconds)  syncapi_magento_requests_total{endpoint,method,status},
                                                        syncapi_magento_request_duration_seconds{endpoint}
Label values must come from small fixed sets (an endpoint template such as `/V1/products/{sku}`, never a URL
with a SKU in it): every distinct value is a series kept forever.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis as redis_lib

log = logging.getLogger(__name__)

KEY_PREFIX = "syncapi:metrics:"
#: Longest label value kept; longer ones are cut so a bad caller cannot store unbounded strings.
MAX_LABEL_CHARS = 100
#: Seconds between two warnings about metrics that could not be recorded (Redis down: one line, not thousands).
WARN_EVERY_S = 60

#: Buckets of job durations, in seconds: webhook imports take well under a second, full pushes many minutes.
JOB_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800)
#: Buckets of Magento request durations, in seconds.
MAGENTO_BUCKETS_S = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass(frozen=True)
class Counted:
    """A counter hash field to add 1 to by an enqueue's outcome: `queued_field` or `duplicate_field` of `key`."""

    key: str
    queued_field: str
    duplicate_field: str


@dataclass(frozen=True)
class Counter:
    """A counter kept in Redis: `name` is the family name, exposed with `_total`."""

    name: str
    documentation: str
    labels: tuple[str, ...]

    @property
    def key(self) -> str:
        return KEY_PREFIX + self.name


@dataclass(frozen=True)
class Histogram:
    """A histogram kept in Redis: per label set, a count per bucket (not cumulative), a sum and a count."""

    name: str
    documentation: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...]

    @property
    def key(self) -> str:
        return KEY_PREFIX + self.name


WEBHOOKS = Counter("syncapi_webhooks", "Webhook deliveries by event name and answer.", ("event", "status"))
JOBS = Counter("syncapi_jobs", "Jobs run, by function and outcome.", ("func", "outcome"))
JOB_DURATION = Histogram("syncapi_job_duration_seconds", "Seconds jobs ran, by function.", ("func",), JOB_BUCKETS_S)
ITEMS_PUSHED = Counter(
    "syncapi_items_pushed", "Records handled by runs, by kind and outcome (created, updated, ...).", ("kind", "outcome")
)
MAGENTO_REQUESTS = Counter(
    "syncapi_magento_requests",
    "Requests to Magento's REST API by endpoint, method and status.",
    ("endpoint", "method", "status"),
)
MAGENTO_DURATION = Histogram(
    "syncapi_magento_request_duration_seconds",
    "Seconds Magento took to answer, by endpoint.",
    ("endpoint",),
    MAGENTO_BUCKETS_S,
)
COUNTERS = (WEBHOOKS, JOBS, ITEMS_PUSHED, MAGENTO_REQUESTS)
HISTOGRAMS = (JOB_DURATION, MAGENTO_DURATION)

_last_warning = 0.0


def count_webhook(event: str, status: str | int, *, connection: redis_lib.Redis) -> None:
    """Count one webhook delivery of `event` answered with `status` (e.g. `queued`, `duplicate`, 401)."""
    _record(connection, [(WEBHOOKS, (event, status), 1)], [])


@functools.lru_cache(maxsize=64)  # event names are checked against the known ones before anything is queued
def webhook_counter(event: str) -> Counted:
    """Where `Queues.enqueue` counts a delivery of `event` by its outcome, in the enqueue's own round trip."""
    return Counted(WEBHOOKS.key, _field((event, "queued")), _field((event, "duplicate")))


def observe_job(func: str, outcome: str, seconds: float, *, connection: redis_lib.Redis) -> None:
    """Count one job of `func` (dotted name) ending in `outcome` (succeeded, failed, retried) after `seconds`."""
    _record(connection, [(JOBS, (func, outcome), 1)], [(JOB_DURATION, (func,), seconds)])


def count_items(kind: str, outcome: str, n: int = 1, *, connection: redis_lib.Redis) -> None:
    """Count `n` records of `kind` (products, stock, ...) handled with `outcome` (created, updated, failed ...)."""
    if n:
        _record(connection, [(ITEMS_PUSHED, (kind, outcome), n)], [])


def observe_magento(
    endpoint: str, method: str, status: str | int, seconds: float, *, connection: redis_lib.Redis
) -> None:
    """Count one Magento request to `endpoint` (a path template) answered with `status` after `seconds`."""
    _record(
        connection,
        [(MAGENTO_REQUESTS, (endpoint, method.upper(), status), 1)],
        [(MAGENTO_DURATION, (endpoint,), seconds)],
    )


def _record(connection, counts, observations) -> None:
    try:
        with connection.pipeline(transaction=False) as pipeline:
            for counter, labels, amount in counts:
                pipeline.hincrby(counter.key, _field(labels), int(amount))
            for histogram, labels, seconds in observations:
                seconds = max(float(seconds), 0.0)
                index = next((i for i, bound in enumerate(histogram.buckets) if seconds <= bound), None)
                bucket = "inf" if index is None else str(index)
                pipeline.hincrby(histogram.key, _field(labels, bucket), 1)
                pipeline.hincrby(histogram.key, _field(labels, "count"), 1)
                pipeline.hincrbyfloat(histogram.key, _field(labels, "sum"), seconds)
            pipeline.execute()
    except Exception as exc:  # metrics are best effort: never fail what is being measured
        warn(f"metrics not recorded: {type(exc).__name__}: {exc}")


def _field(labels: Sequence, part: str | None = None) -> str:
    values = [str(value)[:MAX_LABEL_CHARS] for value in labels]
    return json.dumps(values if part is None else [*values, part], separators=(",", ":"))


def warn(message: str) -> None:
    """Log `message` as a warning, at most once every WARN_EVERY_S (Redis down: one line, not thousands)."""
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY_S:
        _last_warning = now
        log.warning(message)


class Metrics:
    """The recorders above bound to one Redis connection: a process's `Services.metrics`."""

    def __init__(self, connection: redis_lib.Redis):
        self.connection = connection

    def count_webhook(self, event: str, status: str | int) -> None:
        """See `count_webhook`."""
        count_webhook(event, status, connection=self.connection)

    def count_items(self, kind: str, outcome: str, n: int = 1) -> None:
        """See `count_items`."""
        count_items(kind, outcome, n, connection=self.connection)
