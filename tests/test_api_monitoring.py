"""`/metrics` (Prometheus text, counters kept in Redis across processes) and the `/rq` dashboard's guard."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from syncapi import db, metrics, services
from syncapi.queues import QUEUE_INBOUND
from syncapi.state import add_counts, create_run, finish_run
from tests.conftest import TEST_REDIS_URL, base_settings

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD_PASSWORD = "ops-dashboard-password-0123"


def _samples(text: str) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def noop(n: int) -> int:
    return n


@pytest.fixture
def make_app(redis, tmp_path):
    """Build an app with extra settings; cleaned up after the test."""

    def build(**overrides):
        return create_app(base_settings(tmp_path, **overrides))

    yield build
    db.dispose_all()
    services._current = None


# --- /metrics -------------------------------------------------------------------------------------------


def test_metrics_exposes_every_metric_recorded_anywhere(app_with_state, redis):
    svc = app_with_state.extensions["services"]
    metrics.count_webhook("sales.order.created", "queued", connection=redis)
    metrics.count_webhook("sales.order.created", "queued", connection=redis)
    metrics.count_webhook("sales.order.created", 401, connection=redis)
    metrics.observe_job("jobs.inbound.import_order", "succeeded", 0.3, connection=redis)
    metrics.observe_job("jobs.inbound.import_order", "failed", 12.0, connection=redis)
    metrics.count_items("stock", "updated", 40, connection=redis)
    metrics.count_items("stock", "unchanged", 0, connection=redis)  # nothing to count: no series
    metrics.observe_magento("/V1/products/{sku}", "put", 200, 0.2, connection=redis)
    metrics.observe_magento("/V1/products/{sku}", "PUT", 200, 45.0, connection=redis)
    for n in range(3):
        svc.queues.enqueue(QUEUE_INBOUND, noop, n, job_id=f"waiting-{n}")
    run = create_run(svc.state_engine, "stock", "schedule")
    add_counts(svc.state_engine, run.run_id, updated=1)
    finish_run(svc.state_engine, run.run_id)

    response = app_with_state.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    samples = _samples(text)

    assert samples[("syncapi_webhooks_total", (("event", "sales.order.created"), ("status", "queued")))] == 2
    assert samples[("syncapi_webhooks_total", (("event", "sales.order.created"), ("status", "401")))] == 1
    job = ("func", "jobs.inbound.import_order")
    assert samples[("syncapi_jobs_total", (job, ("outcome", "failed")))] == 1
    assert samples[("syncapi_job_duration_seconds_count", (job,))] == 2
    assert samples[("syncapi_job_duration_seconds_sum", (job,))] == pytest.approx(12.3)
    assert samples[("syncapi_job_duration_seconds_bucket", (job, ("le", "0.5")))] == 1
    assert samples[("syncapi_job_duration_seconds_bucket", (job, ("le", "10.0")))] == 1
    assert samples[("syncapi_job_duration_seconds_bucket", (job, ("le", "30.0")))] == 2
    assert samples[("syncapi_job_duration_seconds_bucket", (job, ("le", "+Inf")))] == 2
    assert samples[("syncapi_items_pushed_total", (("kind", "stock"), ("outcome", "updated")))] == 40
    assert ("syncapi_items_pushed_total", (("kind", "stock"), ("outcome", "unchanged"))) not in samples
    put = (("endpoint", "/V1/products/{sku}"), ("method", "PUT"), ("status", "200"))
    assert samples[("syncapi_magento_requests_total", put)] == 2
    endpoint = ("endpoint", "/V1/products/{sku}")
    assert samples[("syncapi_magento_request_duration_seconds_bucket", (endpoint, ("le", "30.0")))] == 1
    assert samples[("syncapi_magento_request_duration_seconds_bucket", (endpoint, ("le", "+Inf")))] == 2
    assert samples[("syncapi_queue_depth", (("queue", "inbound"),))] == 3
    assert samples[("syncapi_queue_depth", (("queue", "outbound"),))] == 0
    age = samples[("syncapi_last_success_age_seconds", (("kind", "stock"),))]
    assert 0 <= age < 60
    assert samples[("syncapi_scrape_source_up", (("source", "redis"),))] == 1
    assert samples[("syncapi_scrape_source_up", (("source", "state_database"),))] == 1
    for name in (
        "syncapi_webhooks_total",
        "syncapi_queue_depth",
        "syncapi_jobs_total",
        "syncapi_job_duration_seconds",
        "syncapi_items_pushed_total",
        "syncapi_magento_requests_total",
        "syncapi_magento_request_duration_seconds",
        "syncapi_last_success_age_seconds",
    ):
        assert f"\n{name}" in text, name


def test_counters_from_another_process_reach_the_web(app_with_state, redis, tmp_path):
    """A worker is another process: what it counts must show on the web's /metrics."""
    code = (
        "import redis; from syncapi import metrics; "
        f"connection = redis.Redis.from_url({TEST_REDIS_URL!r}); "
        "metrics.observe_job('jobs.outbound.push_stock', 'succeeded', 2.5, connection=connection); "
        "metrics.count_items('stock', 'created', 7, connection=connection)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
    samples = _samples(app_with_state.test_client().get("/metrics").get_data(as_text=True))
    assert samples[("syncapi_jobs_total", (("func", "jobs.outbound.push_stock"), ("outcome", "succeeded")))] == 1
    assert samples[("syncapi_items_pushed_total", (("kind", "stock"), ("outcome", "created")))] == 7


def test_recording_never_fails_the_caller_and_scrapes_survive_outages(make_app, caplog, monkeypatch):
    application = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    monkeypatch.setattr(metrics, "_last_warning", 0.0)  # an earlier test's warning must not throttle this one
    down = application.extensions["services"].redis
    metrics.count_webhook("customer.created", "queued", connection=down)  # Redis is down: a warning, no exception
    metrics.observe_magento("/V1/orders/{id}", "GET", 200, 0.1, connection=down)
    assert "metrics not recorded" in caplog.text
    response = application.test_client().get("/metrics")
    assert response.status_code == 200
    samples = _samples(response.get_data(as_text=True))
    assert samples[("syncapi_scrape_source_up", (("source", "redis"),))] == 0
    # No `state init` yet: the age of runs cannot be read, the rest is still served.
    assert samples[("syncapi_scrape_source_up", (("source", "state_database"),))] == 0


def test_label_values_are_bounded(app, redis):
    metrics.count_webhook("x" * 500, "queued", connection=redis)
    (field,) = redis.hkeys("syncapi:metrics:syncapi_webhooks")
    assert len(field) < 150


# --- /rq ------------------------------------------------------------------------------------------------


def _basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        _basic("ops", "wrong"),
        _basic("wrong", DASHBOARD_PASSWORD),
        _basic("ops", ""),
        {"Authorization": f"Bearer {DASHBOARD_PASSWORD}"},
    ],
    ids=["none", "wrong-password", "wrong-user", "empty-password", "bearer"],
)
@pytest.mark.parametrize("path", ["/rq/", "/rq/0/data/queues.json", "/rq/static/css/main.css"])
def test_dashboard_refuses_without_the_credentials(make_app, headers, path):
    application = make_app(DASHBOARD_USER="ops", DASHBOARD_PASSWORD=DASHBOARD_PASSWORD)
    response = application.test_client().get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert set(response.get_json()) == {"error", "message"}


def test_dashboard_accepts_the_credentials(make_app, redis):
    application = make_app(DASHBOARD_USER="ops", DASHBOARD_PASSWORD=DASHBOARD_PASSWORD)
    application.extensions["services"].queues.enqueue(QUEUE_INBOUND, noop, 1, job_id="visible-1")
    client = application.test_client()
    page = client.get("/rq/", headers=_basic("ops", DASHBOARD_PASSWORD))
    assert page.status_code == 200
    assert "RQ dashboard" in page.get_data(as_text=True)
    queues = client.get("/rq/0/data/queues.json", headers=_basic("ops", DASHBOARD_PASSWORD)).get_json()
    assert {"name": "inbound", "count": 1} in [{k: q[k] for k in ("name", "count")} for q in queues["queues"]]


def test_dashboard_refuses_actions_from_other_sites_even_with_credentials(make_app, redis):
    application = make_app(DASHBOARD_USER="ops", DASHBOARD_PASSWORD=DASHBOARD_PASSWORD)
    queue = application.extensions["services"].queues[QUEUE_INBOUND]
    application.extensions["services"].queues.enqueue(QUEUE_INBOUND, noop, 1, job_id="kept-1")
    client = application.test_client()
    login = _basic("ops", DASHBOARD_PASSWORD)
    cross = {**login, "Sec-Fetch-Site": "cross-site"}
    assert client.post("/rq/queue/inbound/queued/empty", headers=cross).status_code == 403
    assert client.get("/rq/requeue/inbound", headers={**cross, "Sec-Fetch-Mode": "navigate"}).status_code == 403
    assert client.get("/rq/0/data/queues.json", headers={**cross, "Sec-Fetch-Mode": "no-cors"}).status_code == 403
    assert queue.job_ids == ["kept-1"]
    # Following a link to the dashboard from elsewhere is fine; its own buttons work.
    assert client.get("/rq/", headers={**cross, "Sec-Fetch-Mode": "navigate"}).status_code == 200
    same = {**login, "Sec-Fetch-Site": "same-origin"}
    assert client.post("/rq/queue/inbound/queued/empty", headers=same).status_code == 200
    assert queue.job_ids == []


def test_dashboard_without_configured_credentials(make_app):
    production = make_app()
    response = production.test_client().get("/rq/", headers=_basic("ops", DASHBOARD_PASSWORD))
    assert response.status_code == 401
    assert "set DASHBOARD_USER and DASHBOARD_PASSWORD" in response.get_json()["message"]
    db.dispose_all()
    development = make_app(SYNCAPI_ENV="development", SYNCAPI_MAKE_RUN="1", HOST="127.0.0.1")
    assert development.test_client().get("/rq/").status_code == 200
