"""Prometheus metrics at `/metrics`, shared by every web and worker process through Redis.

The web runs several gunicorn processes and the workers are separate processes, maybe on other machines, so
counters kept in one process's memory would show only that process. Instead every counter and histogram lives
in a Redis hash (`syncapi:metrics:<name>`, one field per label set) that any process increments with one
pipelined round trip, and `/metrics` reads them back at scrape time. Queue depths and the age of each kind's
last completed run are read at scrape time too. Recording is best effort: a Redis hiccup loses a sample and
logs a warning, it never fails the webhook, job or Magento call being measured.

Call these from the rest of the service:
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
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import redis as redis_lib
from flask import Blueprint, Response, current_app
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from rq.registry import FailedJobRegistry

from syncapi import services
from syncapi.queues import Counted

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


def count_webhook(event: str, status: str | int, *, connection: redis_lib.Redis | None = None) -> None:
    """Count one webhook delivery of `event` answered with `status` (e.g. `queued`, `duplicate`, 401)."""
    _record(connection, [(WEBHOOKS, (event, status), 1)], [])


@functools.lru_cache(maxsize=64)  # event names are checked against the known ones before anything is queued
def webhook_counter(event: str) -> Counted:
    """Where `Queues.enqueue` counts a delivery of `event` by its outcome, in the enqueue's own round trip."""
    return Counted(WEBHOOKS.key, _field((event, "queued")), _field((event, "duplicate")))


def observe_job(func: str, outcome: str, seconds: float, *, connection: redis_lib.Redis | None = None) -> None:
    """Count one job of `func` (dotted name) ending in `outcome` (succeeded, failed, retried) after `seconds`."""
    _record(connection, [(JOBS, (func, outcome), 1)], [(JOB_DURATION, (func,), seconds)])


def count_items(kind: str, outcome: str, n: int = 1, *, connection: redis_lib.Redis | None = None) -> None:
    """Count `n` records of `kind` (products, stock, ...) handled with `outcome` (created, updated, failed ...)."""
    if n:
        _record(connection, [(ITEMS_PUSHED, (kind, outcome), n)], [])


def observe_magento(
    endpoint: str, method: str, status: str | int, seconds: float, *, connection: redis_lib.Redis | None = None
) -> None:
    """Count one Magento request to `endpoint` (a path template) answered with `status` after `seconds`."""
    _record(
        connection,
        [(MAGENTO_REQUESTS, (endpoint, method.upper(), status), 1)],
        [(MAGENTO_DURATION, (endpoint,), seconds)],
    )


def _record(connection, counts, observations) -> None:
    try:
        connection = connection if connection is not None else services.current().redis
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
        _warn(f"metrics not recorded: {type(exc).__name__}: {exc}")


def _field(labels: Sequence, part: str | None = None) -> str:
    values = [str(value)[:MAX_LABEL_CHARS] for value in labels]
    return json.dumps(values if part is None else [*values, part], separators=(",", ":"))


def _warn(message: str) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY_S:
        _last_warning = now
        log.warning(message)


class ServiceCollector:
    """Collects, at scrape time, the Redis-kept counters and histograms, queue depths and run ages."""

    def __init__(self, svc: services.Services):
        self.svc = svc

    def collect(self) -> Iterable:
        redis_ok = True
        try:
            yield from self._stored()
            yield from self._queues()
        except redis_lib.RedisError as exc:
            redis_ok = False
            _warn(f"metrics: Redis did not answer: {exc}")
        database_ok = True
        try:
            yield self._last_success_ages()
        except Exception as exc:  # the state tables may not exist yet, or the database is down
            database_ok = False
            _warn(f"metrics: state database did not answer: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        up = GaugeMetricFamily("syncapi_scrape_source_up", "1 when /metrics could read that source.", labels=["source"])
        up.add_metric(["redis"], 1 if redis_ok else 0)
        up.add_metric(["state_database"], 1 if database_ok else 0)
        yield up

    def _stored(self):
        with self.svc.redis.pipeline(transaction=False) as pipeline:
            for metric in (*COUNTERS, *HISTOGRAMS):
                pipeline.hgetall(metric.key)
            stored = dict(zip((*COUNTERS, *HISTOGRAMS), pipeline.execute(), strict=True))
        families = []
        for counter in COUNTERS:
            family = CounterMetricFamily(counter.name, counter.documentation, labels=counter.labels)
            for field, value in sorted(stored[counter].items()):
                labels = json.loads(field)
                if len(labels) == len(counter.labels):
                    family.add_metric(labels, int(value))
            families.append(family)
        for histogram in HISTOGRAMS:
            families.append(_histogram_family(histogram, stored[histogram]))
        return families

    def _queues(self):
        depth = GaugeMetricFamily("syncapi_queue_depth", "Jobs waiting in each queue.", labels=["queue"])
        failed = GaugeMetricFamily("syncapi_failed_jobs", "Jobs in each queue's failed registry.", labels=["queue"])
        for queue in self.svc.queues:
            depth.add_metric([queue.name], queue.count)
            registry = FailedJobRegistry(queue.name, connection=self.svc.redis)
            failed.add_metric([queue.name], registry.count)
        return [depth, failed]

    def _last_success_ages(self):
        from syncapi.state.runs import last_completed

        family = GaugeMetricFamily(
            "syncapi_last_success_age_seconds",
            "Seconds since the latest run of each kind that got to the end (succeeded or partial) finished.",
            labels=["kind"],
        )
        now = datetime.now(UTC)
        for kind, finished_at in sorted(last_completed(self.svc.state_engine).items()):
            family.add_metric([kind], max((now - finished_at).total_seconds(), 0.0))
        return family


def _histogram_family(histogram: Histogram, stored: dict) -> HistogramMetricFamily:
    family = HistogramMetricFamily(histogram.name, histogram.documentation, labels=histogram.labels)
    series: dict[tuple, dict[str, float]] = {}
    for field, value in stored.items():
        *labels, part = json.loads(field)
        if len(labels) == len(histogram.labels):
            series.setdefault(tuple(labels), {})[part] = float(value)
    for labels, parts in sorted(series.items()):
        cumulative = 0.0
        buckets = []
        for index, bound in enumerate(histogram.buckets):
            cumulative += parts.get(str(index), 0.0)
            buckets.append((_bound(bound), cumulative))
        buckets.append(("+Inf", cumulative + parts.get("inf", 0.0)))
        family.add_metric(list(labels), buckets, parts.get("sum", 0.0))
    return family


def _bound(value: float) -> str:
    return "+Inf" if math.isinf(value) else repr(float(value))


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics_view():
    """The Prometheus text exposition of the service's metrics."""
    registry = current_app.extensions["metrics_registry"]
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def init_app(app) -> None:
    """Serve `/metrics` for `app`, collecting from its services."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(app.extensions["services"]))
    app.extensions["metrics_registry"] = registry
    app.register_blueprint(bp)
