"""The operator API (docs/reference.md#operator-api) against real Redis, RQ and the state database."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate as validate_openapi
from rq import SimpleWorker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry

from app import create_app
from syncapi import db, services
from syncapi.queues import QUEUE_DEFAULT, QUEUE_INBOUND, QUEUE_OUTBOUND
from syncapi.state import (
    add_counts,
    add_error,
    create_run,
    finish_run,
    get_run,
    list_runs,
    record_link,
    set_run_job,
    start_run,
    upgrade,
)
from tests.conftest import TEST_API_TOKEN, base_settings

AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}

#: Every operator endpoint, for the authentication checks.
ENDPOINTS = [
    ("post", "/api/v1/sync/products"),
    ("get", "/api/v1/runs/1"),
    ("get", "/api/v1/runs"),
    ("post", "/api/v1/pos/changes"),
    ("get", "/api/v1/links/order/1"),
    ("get", "/api/v1/jobs/failed"),
    ("post", "/api/v1/jobs/failed/some-job/retry"),
    ("post", "/api/v1/jobs/failed/retry"),
    ("get", "/api/v1/attention"),
    ("post", "/api/v1/attention/link-order-1/retry"),
    ("post", "/api/v1/attention/retry"),
    ("post", "/api/v1/attention/link-order-1/dismiss"),
]


def rejected_by_magento(order_id: int) -> None:
    """A job that fails: what a permanent Magento error looks like to RQ."""
    raise RuntimeError(f"Magento answered 404 for order {order_id}")


@pytest.fixture
def api(app_with_state):
    return app_with_state.test_client()


@pytest.fixture
def svc(app_with_state):
    return app_with_state.extensions["services"]


def _is_error(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error", "message"}, body
    for word in words:
        assert word in body["message"]
    return body


# --- authentication and documentation -------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TEST_API_TOKEN}"},
        {"Authorization": f"Bearer {TEST_API_TOKEN}x"},
        {"Authorization": "Bearer "},
    ],
    ids=["missing", "wrong", "basic", "longer", "empty"],
)
def test_every_endpoint_needs_the_token(api, svc, redis, method, path, headers):
    response = getattr(api, method)(path, headers=headers, json={"products": ["A"]} if method == "post" else None)
    body = _is_error(response, 401)
    assert body["error"] == "Unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # Nothing was done.
    assert list_runs(svc.state_engine) == []
    assert redis.keys("syncapi:announced:*") == []


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_answers_with_the_token(api, method, path):
    response = getattr(api, method)(path, headers=AUTH, json={"products": ["A"]} if method == "post" else None)
    assert response.status_code != 401
    assert response.is_json


def test_openapi_document_is_public_valid_and_complete(api):
    response = api.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    validate_openapi(spec)
    assert set(spec["paths"]) == {
        "/api/v1/sync/{kind}",
        "/api/v1/runs/{run_id}",
        "/api/v1/runs",
        "/api/v1/pos/changes",
        "/api/v1/links/{entity}/{magento_id}",
        "/api/v1/jobs/failed",
        "/api/v1/jobs/failed/{job_id}/retry",
        "/api/v1/jobs/failed/retry",
        "/api/v1/attention",
        "/api/v1/attention/{item_id}/retry",
        "/api/v1/attention/retry",
        "/api/v1/attention/{item_id}/dismiss",
    }
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearerAuth": []}]
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {"error", "message"}
    sync = spec["paths"]["/api/v1/sync/{kind}"]["post"]
    assert {"202", "401", "404", "422", "503"} <= set(sync["responses"])
    assert set(sync["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1:]) == {"SyncRequest"}


def test_docs_page_is_served(api):
    response = api.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "/api/openapi.json" in page and "swagger-ui" in page


# --- POST /api/v1/sync/<kind> ---------------------------------------------------------------------------


INCREMENTAL = {"full": False, "keys": None, "force": False}


@pytest.mark.parametrize(
    ("kind", "body", "func", "queue", "kwargs"),
    [
        (
            "products",
            None,
            "jobs.outbound.push_products",
            QUEUE_OUTBOUND,
            {"full": False, "keys": None, "force": False},
        ),
        (
            "stock",
            {"full": True},
            "jobs.outbound.push_stock",
            QUEUE_OUTBOUND,
            {"full": True, "keys": None, "force": False},
        ),
        (
            "prices",
            {"skus": ["P-1", "P-2", "P-1"]},
            "jobs.outbound.push_prices",
            QUEUE_OUTBOUND,
            {"full": False, "keys": ["P-1", "P-2"], "force": False},
        ),
        (
            "categories",
            {"force": True},
            "jobs.outbound.push_categories",
            QUEUE_OUTBOUND,
            {"full": False, "keys": None, "force": True},
        ),
        (
            "customers",
            {},
            "jobs.outbound.push_customers",
            QUEUE_OUTBOUND,
            {"full": False, "keys": None, "force": False},
        ),
        ("sales", {"full": True}, "jobs.reconcile.reconcile_sales", QUEUE_INBOUND, {"full": True}),
    ],
)
def test_sync_queues_a_run(api, svc, redis, kind, body, func, queue, kwargs):
    response = api.post(f"/api/v1/sync/{kind}", headers=AUTH, json=body)
    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    run_id = answer["run_id"]
    assert answer == {
        "run_id": run_id,
        "job_id": f"sync-{kind}-{run_id}",
        "status": "queued",
        "status_url": f"/api/v1/runs/{run_id}",
    }
    job = Job.fetch(answer["job_id"], connection=redis)
    assert (job.func_name, job.args, job.kwargs) == (func, (run_id,), kwargs)
    assert job.get_status() == JobStatus.QUEUED and job.id in svc.queues[queue].job_ids
    followed = api.get(answer["status_url"], headers=AUTH).get_json()
    assert (followed["kind"], followed["status"], followed["trigger"]) == (kind, "queued", "manual")


@pytest.mark.parametrize(
    ("kind", "body", "status", "words"),
    [
        (
            "orders",
            {},
            404,
            ["unknown kind 'orders'", "products, stock, prices, categories, customers, fulfilments, sales"],
        ),
        ("customers", {"skus": ["A"]}, 422, ["skus is only accepted for products, stock, prices"]),
        ("sales", {"skus": ["A"]}, 422, ["skus is only accepted"]),
        ("sales", {"force": True}, 422, ["force is not accepted for sales"]),
        ("stock", {"full": True, "skus": ["A"]}, 422, ["either full or skus"]),
        ("stock", {"skus": []}, 422, ["skus"]),
        ("stock", {"skus": ["ok", " "]}, 422, ["skus.1", "blank"]),
        ("stock", {"skus": "A"}, 422, ["skus", "Not a valid list"]),
        ("stock", {"skus": [12]}, 422, ["skus.0", "Not a valid string"]),
        ("stock", {"full": "yes"}, 422, ["full", "Not a valid boolean"]),
        ("stock", {"full": 1}, 422, ["full", "Not a valid boolean"]),
        ("stock", {"everything": True}, 422, ["everything", "Unknown field"]),
        ("stock", ["full"], 422, ["Invalid input type"]),
    ],
)
def test_sync_refuses_bad_requests_and_queues_nothing(api, svc, kind, body, status, words):
    _is_error(api.post(f"/api/v1/sync/{kind}", headers=AUTH, json=body), status, *words)
    assert list_runs(svc.state_engine) == []
    assert all(len(queue) == 0 for queue in svc.queues)


def test_sync_refuses_bodies_that_are_not_json(api, svc):
    _is_error(api.post("/api/v1/sync/stock", headers=AUTH, data="full=true"), 415, "Content-Type: application/json")
    response = api.post("/api/v1/sync/stock", headers=AUTH, data="{not json", content_type="application/json")
    assert response.status_code == 400 and set(response.get_json()) == {"error", "message"}
    assert list_runs(svc.state_engine) == []


def test_sync_without_redis_is_503_and_leaves_no_queued_run(redis, tmp_path):
    application = create_app(base_settings(tmp_path, REDIS_URL="redis://127.0.0.1:1/0"))
    engine = application.extensions["services"].state_engine
    upgrade(engine)
    try:
        response = application.test_client().post("/api/v1/sync/products", headers=AUTH, json={"full": True})
        _is_error(response, 503, "Redis", "retry later")
        assert response.headers["Retry-After"] == "10"
        assert [run.status for run in list_runs(engine)] == ["failed"]
        changes = application.test_client().post("/api/v1/pos/changes", headers=AUTH, json={"stock": ["S1"]})
        _is_error(changes, 503)
        assert changes.headers["Retry-After"] == "10"
    finally:
        db.dispose_all()
        services._current = None


def test_sync_without_the_state_tables_is_503(app, redis):
    # No `state init` yet: the state database answers, but without its tables; say what to do.
    _is_error(app.test_client().post("/api/v1/sync/products", headers=AUTH), 503, "flask --app app state init")
    assert all(len(queue) == 0 for queue in app.extensions["services"].queues)


def test_api_without_the_state_database_is_503(redis, tmp_path):
    application = create_app(base_settings(tmp_path, STATE_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/x"))
    try:
        response = application.test_client().get("/api/v1/runs", headers=AUTH)
        _is_error(response, 503, "state database did not answer")
        assert response.headers["Retry-After"] == "10"
    finally:
        db.dispose_all()
        services._current = None


# --- runs -----------------------------------------------------------------------------------------------


def test_get_run_answers_the_contract_shape(api, svc):
    run = create_run(svc.state_engine, "products", "schedule", {"full": False, "keys": None, "force": False})
    start_run(svc.state_engine, run.run_id)
    add_counts(svc.state_engine, run.run_id, created=2, updated=1, unchanged=7, failed=1)
    add_error(svc.state_engine, run.run_id, "SKU-9", "attribute set 'Shoes' does not exist in Magento")
    finish_run(svc.state_engine, run.run_id)
    response = api.get(f"/api/v1/runs/{run.run_id}", headers=AUTH)
    assert response.status_code == 200
    body = response.get_json()
    stored = get_run(svc.state_engine, run.run_id)
    assert body["run_id"] == run.run_id
    assert (body["kind"], body["status"], body["trigger"]) == ("products", "partial", "schedule")
    assert body["counts"] == {"created": 2, "updated": 1, "unchanged": 7, "failed": 1}
    assert body["errors"] == [{"key": "SKU-9", "message": "attribute set 'Shoes' does not exist in Magento"}]
    assert body["started_at"] == stored.started_at.isoformat()
    assert body["finished_at"] == stored.finished_at.isoformat()
    assert {"run_id", "kind", "status", "started_at", "finished_at", "counts", "errors"} <= set(body)


def test_get_run_404(api):
    _is_error(api.get("/api/v1/runs/999", headers=AUTH), 404, "no run 999")
    _is_error(api.get("/api/v1/runs/abc", headers=AUTH), 404)


def test_get_run_reports_a_dead_job(api, svc, redis):
    run = create_run(svc.state_engine, "stock", "manual")
    enqueued = svc.queues.enqueue(QUEUE_OUTBOUND, rejected_by_magento, run.run_id, job_id="dead-stock")
    set_run_job(svc.state_engine, run.run_id, enqueued.job_id)
    SimpleWorker([svc.queues[QUEUE_OUTBOUND]], connection=redis).work(burst=True)
    body = api.get(f"/api/v1/runs/{run.run_id}", headers=AUTH).get_json()
    assert body["status"] == "failed"
    assert body["reason"] == f"job dead-stock is failed: RuntimeError: Magento answered 404 for order {run.run_id}"


def test_list_runs_newest_first(api, svc):
    ids = [create_run(svc.state_engine, kind, "schedule").run_id for kind in ("stock", "prices", "stock")]
    body = api.get("/api/v1/runs", headers=AUTH).get_json()
    assert [run["run_id"] for run in body] == ids[::-1]
    assert "errors" not in body[0] and body[0]["counts"]["created"] == 0
    assert [r["run_id"] for r in api.get("/api/v1/runs?kind=stock", headers=AUTH).get_json()] == [ids[2], ids[0]]
    assert [r["run_id"] for r in api.get("/api/v1/runs?limit=1", headers=AUTH).get_json()] == [ids[2]]
    _is_error(api.get("/api/v1/runs?kind=orders", headers=AUTH), 422, "kind")
    _is_error(api.get("/api/v1/runs?limit=0", headers=AUTH), 422, "limit")
    _is_error(api.get("/api/v1/runs?limit=many", headers=AUTH), 422, "limit")
    _is_error(api.get("/api/v1/runs?sort=old", headers=AUTH), 422, "sort")


# --- POST /api/v1/pos/changes ---------------------------------------------------------------------------


def test_pos_changes_coalesce_into_one_run_per_kind(api, svc, redis):
    first = api.post("/api/v1/pos/changes", headers=AUTH, json={"products": ["A", "B"], "customers": [12, "13"]})
    assert first.status_code == 202, first.get_json()
    queued = first.get_json()["queued"]
    assert set(queued) == {"products", "customers"}
    products = queued["products"]
    assert products["job_id"] == "sync-products-announced" and products["status"] == "queued"
    assert products["announced"] == 2 and products["status_url"] == f"/api/v1/runs/{products['run_id']}"

    second = api.post("/api/v1/pos/changes", headers=AUTH, json={"products": ["B", "C"], "stock": ["A"]})
    assert second.status_code == 202
    again = second.get_json()["queued"]
    assert again["products"]["status"] == "duplicate"
    assert again["products"]["run_id"] == products["run_id"]
    assert again["stock"]["status"] == "queued"

    # One job per kind waits, and it will find every key announced so far.
    assert sorted(svc.queues[QUEUE_OUTBOUND].job_ids) == [
        "sync-customers-announced",
        "sync-products-announced",
        "sync-stock-announced",
    ]
    assert sorted(redis.smembers("syncapi:announced:products")) == [b"A", b"B", b"C"]
    assert sorted(redis.smembers("syncapi:announced:customers")) == [b"12", b"13"]
    runs = list_runs(svc.state_engine)
    assert sorted(run.kind for run in runs) == ["customers", "products", "stock"]
    assert {run.trigger for run in runs} == {"announced"}
    job = Job.fetch("sync-products-announced", connection=redis)
    assert job.args == (products["run_id"],)
    assert job.kwargs == {"full": False, "keys": None, "force": False}


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (None, 400, ["announce at least one key"]),
        ({}, 400, ["announce at least one key"]),
        ({"products": [], "stock": []}, 400, ["announce at least one key"]),
        ({"orders": ["1"]}, 422, ["orders", "Unknown field"]),
        ({"products": "A"}, 422, ["products", "Not a valid list"]),
        ({"products": ["A", ""]}, 422, ["products.1"]),
        ({"customers": [True]}, 422, ["customers.0"]),
        ({"products": ["x" * 256]}, 422, ["products.0"]),
    ],
)
def test_pos_changes_refuses_bad_bodies_and_changes_nothing(api, svc, redis, body, status, words):
    _is_error(api.post("/api/v1/pos/changes", headers=AUTH, json=body), status, *words)
    assert redis.keys("syncapi:announced:*") == []
    assert list_runs(svc.state_engine) == []


# --- links ----------------------------------------------------------------------------------------------


def test_links(api, svc):
    record_link(svc.state_engine, "order", "1001", "synced", pos_id="S-77")
    record_link(svc.state_engine, "customer", "5", "failed", error="email already used by POS customer 9")
    body = api.get("/api/v1/links/order/1001", headers=AUTH).get_json()
    assert body["entity"] == "order" and body["magento_id"] == "1001"
    assert (body["pos_id"], body["status"], body["error"]) == ("S-77", "synced", None)
    assert body["synced_at"].endswith("+00:00")
    failed = api.get("/api/v1/links/customer/5", headers=AUTH).get_json()
    assert (failed["status"], failed["pos_id"], failed["synced_at"]) == ("failed", None, None)
    assert failed["error"] == "email already used by POS customer 9"
    _is_error(api.get("/api/v1/links/order/1002", headers=AUTH), 404, "no order with Magento id '1002'")
    _is_error(api.get("/api/v1/links/invoice/1001", headers=AUTH), 404)
    _is_error(api.get("/api/v1/links/shipment/1", headers=AUTH), 404, "unknown entity", "creditmemo")
    _is_error(api.get(f"/api/v1/links/order/{'9' * 65}", headers=AUTH), 404)


# --- failed jobs ----------------------------------------------------------------------------------------


def test_failed_jobs_are_listed_and_retried_one_by_one(api, svc, redis):
    svc.queues.enqueue(QUEUE_INBOUND, rejected_by_magento, 41, job_id="order-41")
    svc.queues.enqueue(QUEUE_DEFAULT, rejected_by_magento, 42, job_id="order-42")
    SimpleWorker([svc.queues[QUEUE_INBOUND], svc.queues[QUEUE_DEFAULT]], connection=redis).work(burst=True)

    listed = api.get("/api/v1/jobs/failed", headers=AUTH)
    assert listed.status_code == 200
    jobs = {job["id"]: job for job in listed.get_json()}
    assert set(jobs) == {"order-41", "order-42"}
    assert jobs["order-41"]["func"] == "tests.test_api.rejected_by_magento"
    assert jobs["order-41"]["args"] == [41] and jobs["order-41"]["kwargs"] == {}
    assert jobs["order-41"]["exc"] == "RuntimeError: Magento answered 404 for order 41"
    assert jobs["order-41"]["queue"] == "inbound" and jobs["order-42"]["queue"] == "default"
    assert jobs["order-41"]["failed_at"] and jobs["order-41"]["run_id"] is None
    only_inbound = api.get("/api/v1/jobs/failed?queue=inbound", headers=AUTH).get_json()
    assert [job["id"] for job in only_inbound] == ["order-41"]
    _is_error(api.get("/api/v1/jobs/failed?queue=nope", headers=AUTH), 404, "unknown queue")

    retried = api.post("/api/v1/jobs/failed/order-41/retry", headers=AUTH)
    assert retried.status_code == 202
    assert retried.get_json() == {"job_id": "order-41", "queue": "inbound", "status": "queued"}
    assert Job.fetch("order-41", connection=redis).get_status() == JobStatus.QUEUED
    assert "order-41" in svc.queues[QUEUE_INBOUND].job_ids
    assert "order-41" not in FailedJobRegistry(QUEUE_INBOUND, connection=redis)
    assert [job["id"] for job in api.get("/api/v1/jobs/failed", headers=AUTH).get_json()] == ["order-42"]
    _is_error(api.post("/api/v1/jobs/failed/order-41/retry", headers=AUTH), 404, "no failed job 'order-41'")
    _is_error(api.post("/api/v1/jobs/failed/nothing-1/retry", headers=AUTH), 404)

    # It runs again, and fails again: back in the registry.
    SimpleWorker([svc.queues[QUEUE_INBOUND]], connection=redis).work(burst=True)
    assert "order-41" in FailedJobRegistry(QUEUE_INBOUND, connection=redis)


def test_retry_all_failed_jobs(api, svc, redis):
    for order_id in (51, 52, 53):
        svc.queues.enqueue(QUEUE_INBOUND, rejected_by_magento, order_id, job_id=f"order-{order_id}")
    SimpleWorker([svc.queues[QUEUE_INBOUND]], connection=redis).work(burst=True)
    response = api.post("/api/v1/jobs/failed/retry", headers=AUTH)
    assert response.status_code == 202
    body = response.get_json()
    assert sorted(body["requeued"]) == ["order-51", "order-52", "order-53"]
    assert (body["count"], body["skipped"]) == (3, [])
    assert sorted(svc.queues[QUEUE_INBOUND].job_ids) == ["order-51", "order-52", "order-53"]
    assert api.get("/api/v1/jobs/failed", headers=AUTH).get_json() == []
    assert api.post("/api/v1/jobs/failed/retry", headers=AUTH).get_json() == {"requeued": [], "count": 0, "skipped": []}


def test_retrying_the_failed_job_of_a_run_puts_the_run_back_to_queued(api, svc, redis):
    run = create_run(svc.state_engine, "products", "manual")
    job_id = f"sync-products-{run.run_id}"
    svc.queues.enqueue(QUEUE_OUTBOUND, rejected_by_magento, run.run_id, job_id=job_id)
    set_run_job(svc.state_engine, run.run_id, job_id)
    SimpleWorker([svc.queues[QUEUE_OUTBOUND]], connection=redis).work(burst=True)
    assert api.get(f"/api/v1/runs/{run.run_id}", headers=AUTH).get_json()["status"] == "failed"
    listed = api.get("/api/v1/jobs/failed", headers=AUTH).get_json()
    assert [(job["id"], job["run_id"]) for job in listed] == [(job_id, run.run_id)]

    assert api.post(f"/api/v1/jobs/failed/{job_id}/retry", headers=AUTH).status_code == 202
    body = api.get(f"/api/v1/runs/{run.run_id}", headers=AUTH).get_json()
    assert (body["status"], body["reason"], body["finished_at"]) == ("queued", f"job {job_id} requeued", None)
