"""`/metrics`: the Prometheus text exposition of the metrics every process keeps in Redis (`syncapi.metrics`),
with the queue depths and the age of each kind's last completed run read at scrape time."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime

import redis as redis_lib
from flask import Blueprint, Response, current_app
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from rq.registry import FailedJobRegistry

from syncapi import services
from syncapi.metrics import COUNTERS, HISTOGRAMS, Histogram, warn
from syncapi.services import Services
from syncapi.state.run_history import last_completed


class ServiceCollector:
    """Collects, at scrape time, the Redis-kept counters and histograms, queue depths and run ages."""

    def __init__(self, svc: Services):
        self.svc = svc

    def collect(self) -> Iterable:
        redis_ok = True
        try:
            yield from self._stored()
            yield from self._queues()
        except redis_lib.RedisError as exc:
            redis_ok = False
            warn(f"metrics: Redis did not answer: {exc}")
        database_ok = True
        try:
            yield self._last_success_ages()
        except Exception as exc:  # the state tables may not exist yet, or the database is down
            database_ok = False
            warn(f"metrics: state database did not answer: {type(exc).__name__}: {str(exc).splitlines()[0]}")
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
    registry.register(ServiceCollector(services.of_app(app)))
    app.extensions["metrics_registry"] = registry
    app.register_blueprint(bp)
