"""What the service tells browsers, and what its pages show: security headers on every answer, a script policy
that lets a page run only the scripts it was served with, dashboard actions only from the dashboard's own pages,
and `<script>` carried in a job's data shown as text on every page (the rq-dashboard job page rendered with its own
underscore template in Node, as the browser renders it)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import rq_dashboard
from rq import Queue, SimpleWorker

from syncapi import headers
from syncapi.queues import QUEUE_INBOUND
from tests.conftest import TEST_API_TOKEN, base_settings

USER, PASSWORD = "ops", "dashboard-pw"
LOGIN = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
#: Markup an attacker would like a page to run.
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
#: rq-dashboard's own copy of underscore.js, which its pages load.
UNDERSCORE = Path(rq_dashboard.__file__).parent / "static" / "js" / "underscore-umd-min.js"
#: Renders an underscore template with data, as rq-dashboard's job.js does: `_.template(tpl)({d: job})`.
RENDER_JS = """
const _ = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
global.url_for_single_job_view = (id) => "/rq/0/view/job/" + encodeURIComponent(id);
process.stdout.write(_.template(input.template)({d: input.data}));
"""


def fail_loudly(text: str) -> None:
    """A job that fails with `text` in its exception."""
    raise ValueError(text)


@pytest.fixture
def app_settings(tmp_path) -> dict:
    return base_settings(tmp_path, DASHBOARD_USER=USER, DASHBOARD_PASSWORD=PASSWORD)


def _policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _assert_common(response) -> None:
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert _policy(response)["frame-ancestors"] == ["'none'"]


# --- headers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,auth",
    [
        ("/healthz", {}),
        ("/metrics", {}),
        ("/api/openapi.json", {}),
        ("/api/v1/runs", {"Authorization": f"Bearer {TEST_API_TOKEN}"}),
        ("/api/v1/runs", {}),
        ("/no/such/page", {}),
        ("/rq/0/data/queues.json", LOGIN),
        ("/rq/static/js/jquery-3.5.1.min.js", LOGIN),
    ],
)
def test_data_answers_allow_nothing(client, redis, path, auth):
    response = client.get(path, headers=auth)  # errors too (a 401, a 404, a 503 for the missing state tables)
    _assert_common(response)
    assert _policy(response)["default-src"] == ["'none'"]
    assert "script-src" not in _policy(response)


def test_webhook_answers_carry_the_headers(client, redis):
    response = client.post("/webhooks/magento", data=b"{}", content_type="application/json")
    assert response.status_code == 401
    _assert_common(response)
    assert _policy(response)["default-src"] == ["'none'"]


@pytest.mark.parametrize("path", ["/rq/", "/rq/0/view/workers", "/rq/0/view/jobs/inbound/failed/8/asc/1", "/api/docs"])
def test_pages_run_only_their_own_scripts(client, redis, path):
    response = client.get(path, headers=LOGIN)
    assert response.status_code == 200 and response.mimetype == "text/html"
    _assert_common(response)
    policy = _policy(response)
    scripts = policy["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts and "*" not in scripts
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    # Each inline script of the page is allowed by the hash of exactly its text, and nothing else inline is.
    html = response.get_data(as_text=True)
    inline = [body for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S) if "src=" not in attrs]
    runnable = [body for body in inline if body.strip() and "text/template" not in html.split(body)[0][-40:]]
    expected = {f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in runnable}
    assert runnable and {s for s in scripts if s.startswith("'sha256-")} == expected


def test_an_injected_inline_script_gets_no_hash(app):
    page = (
        '<script src="/a.js"></script><script type="text/template"><b><%= d.x %></b></script>'
        "<script>var ok = 1;</script><script type='module'>import './m.js';</script>"
    )
    digest = base64.b64encode(hashlib.sha256(b"var ok = 1;").digest()).decode()
    module = base64.b64encode(hashlib.sha256(b"import './m.js';").digest()).decode()
    assert headers.inline_script_hashes(page) == [digest, module]
    # A script the page gains later (from data put into it by its own JavaScript) has no hash in the policy.
    with app.app_context():
        policy = headers.page_policy(page)
    assert f"'sha256-{digest}'" in policy and f"'sha256-{module}'" in policy
    assert base64.b64encode(hashlib.sha256(b"alert(1)").digest()).decode() not in policy


def test_swagger_ui_assets_are_allowed_from_where_they_are_served(app, client):
    ui_url = app.config["OPENAPI_SWAGGER_UI_URL"]
    policy = _policy(client.get("/api/docs"))
    if ui_url.startswith(("http://", "https://")):
        origin = "/".join(ui_url.split("/")[:3])
        assert origin in policy["script-src"] and origin in policy["style-src"]
    else:
        assert [s for s in policy["script-src"] if not s.startswith("'sha256-")] == ["'self'"]


# --- dashboard actions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin_headers,allowed",
    [
        ({}, False),
        ({"Origin": "null"}, False),
        ({"Origin": "https://attacker.example"}, False),
        ({"Origin": "http://localhost.attacker.example"}, False),
        ({"Sec-Fetch-Site": "same-site"}, False),
        ({"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"}, False),
        ({"Sec-Fetch-Site": "none"}, False),
        ({"Origin": "http://localhost"}, True),
        ({"Sec-Fetch-Site": "same-origin"}, True),
        ({"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}, True),
    ],
)
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_dashboard_actions_need_a_same_origin_request(client, redis, origin_headers, allowed, method):
    queue = Queue(QUEUE_INBOUND, connection=redis)
    queue.enqueue(fail_loudly, "x", job_id="kept-1")
    response = client.open("/rq/job/kept-1/delete", method=method, headers={**LOGIN, **origin_headers})
    if method == "DELETE":
        # rq-dashboard routes no DELETE: the router refuses it (405) before anything runs.
        assert response.status_code in (403, 405)
        assert queue.job_ids == ["kept-1"]
        return
    if allowed:
        assert response.status_code == 200, response.get_data(as_text=True)
        assert queue.job_ids == []
    else:
        assert response.status_code == 403
        assert "own pages" in response.get_json()["message"]
        assert queue.job_ids == ["kept-1"]


def test_dashboard_get_that_requeues_needs_a_same_origin_request(client, redis):
    assert client.get("/rq/requeue/inbound", headers=LOGIN).status_code == 403
    assert client.get("/rq/requeue/inbound", headers={**LOGIN, "Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_dashboard_pages_still_open_without_fetch_metadata(client, redis):
    assert client.get("/rq/", headers=LOGIN).status_code == 200
    assert client.get("/rq/0/data/queues.json", headers=LOGIN).status_code == 200


# --- escaping ---------------------------------------------------------------------------------------------


@pytest.fixture
def hostile_job(app, redis) -> str:
    """A failed import job as a signed delivery leaves it, with `HOSTILE` in its meta, arguments and exception."""
    queue = Queue(QUEUE_INBOUND, connection=redis)
    job = queue.enqueue(
        fail_loudly,
        HOSTILE,
        job_id="order-4242",
        meta={"delivery_id": HOSTILE, "event": "sales.order.created", "style": "cloudevents"},
    )
    SimpleWorker([queue], connection=redis).work(burst=True)
    job.refresh()
    assert job.is_failed
    return job.id


def _render_underscore(template: str, data: dict) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to render rq-dashboard's templates (apt-get install -y nodejs)")
    result = subprocess.run(
        [node, "-e", RENDER_JS, str(UNDERSCORE)],
        input=json.dumps({"template": template, "data": data}),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


def _template(page: str, name: str) -> str:
    match = re.search(rf'<script name="{name}" type="text/template">(.*?)</script>', page, re.S)
    assert match, f"rq-dashboard's page has no template {name!r}"
    return match.group(1)


def test_the_job_page_shows_hostile_job_data_as_text(client, hostile_job):
    page = client.get(f"/rq/0/view/job/{hostile_job}", headers=LOGIN)
    assert page.status_code == 200
    data = client.get(f"/rq/0/data/job/{hostile_job}.json", headers=LOGIN).get_json()
    # The data really carries the markup (in the description, the metadata and the exception).
    assert all("alert(1)" in data[field] for field in ("description", "metadata", "exc_info"))
    rendered = _render_underscore(_template(page.get_data(as_text=True), "job-info"), data)
    assert "alert(1)" in rendered and "alert(2)" in rendered
    assert "<script" not in rendered.lower() and "<img" not in rendered.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered


def test_the_jobs_list_escapes_what_its_template_does_not(client, hostile_job):
    listing = client.get("/rq/0/data/jobs/inbound/failed/8/asc/1.json", headers=LOGIN).get_json()
    (row,) = listing["jobs"]
    # The row template escapes description and exc_info itself (jQuery's .text()); the rest is escaped here.
    assert HOSTILE in row["description"] and HOSTILE in row["exc_info"]
    page = client.get("/rq/0/view/jobs/inbound/failed/8/asc/1", headers=LOGIN).get_data(as_text=True)
    template = _template(page, "job-row")
    assert "$('<div/>').text(d.description).html()" in template and "$('<div/>').text(d.exc_info).html()" in template
    raw_fields = set(re.findall(r"<%=\s*d\.(\w+)\s*%>", template))
    assert raw_fields.isdisjoint({"description", "exc_info"})


@pytest.mark.parametrize(
    "path",
    [
        "/rq/",
        "/rq/0/view/workers",
        "/rq/0/view/jobs/inbound/failed/8/asc/1",
        "/rq/0/view/job/order-4242",
        "/rq/0/data/queues.json",
        "/rq/0/data/workers.json",
        "/rq/0/data/job/order-4242.json",
        "/api/docs",
        "/api/v1/jobs/failed",
        "/metrics",
    ],
)
def test_no_answer_carries_the_markup_unescaped_where_a_page_inserts_it_raw(client, hostile_job, path):
    response = client.get(path, headers={**LOGIN, "Authorization": LOGIN["Authorization"]})
    if path.startswith("/api/v1"):
        response = client.get(path, headers={"Authorization": f"Bearer {TEST_API_TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    text = response.get_data(as_text=True)
    if response.mimetype == "text/html":
        assert "<script>alert" not in text and "<img src=x" not in text
    elif path.startswith("/rq/"):
        # JSON the dashboard's JavaScript inserts into its pages: escaped before it leaves.
        assert "alert(1)</script>" not in json.dumps(response.get_json(), ensure_ascii=False)
    else:
        # JSON for programs (the operator API, metrics): served as data, never rendered by the service's pages.
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert _policy(response)["default-src"] == ["'none'"]
