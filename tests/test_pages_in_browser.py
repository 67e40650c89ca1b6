"""The pages a person opens, in a real headless browser (Debian's `chromium`) against gunicorn: they render with
no network beyond this machine, under the service's own Content-Security-Policy, and show hostile text as text.

Skipped where chromium is not installed, required under CI=true (`.ci/run` installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import IN_CI

#: Milliseconds of page time chromium gives scripts before it prints the page.
SCRIPT_BUDGET_MS = 8000
#: Seconds a page may take in all (chromium's start included).
PAGE_TIMEOUT_S = 90


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if IN_CI:
        pytest.fail("chromium is not installed (required under CI=true; .ci/run installs Debian's package)")
    pytest.skip("chromium is not installed: `apt-get install chromium` to run the browser tests")


def rendered(url: str, tmp_path) -> str:
    """The page at `url` as the browser holds it after its scripts ran (the DOM, serialised)."""
    profile = tmp_path / "chromium-profile"
    result = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",  # tests run as root here; the sandbox refuses to start as root
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={SCRIPT_BUDGET_MS}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT_S,
        env={**os.environ, "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.slow
def test_swagger_ui_renders_the_api_offline_under_the_pages_policy(webhook_server, tmp_path):
    """Swagger UI's own scripts ran (served by the service, allowed by its CSP) and drew the API's operations."""
    dom = rendered(f"{webhook_server}/api/docs", tmp_path)
    assert 'class="swagger-ui"' in dom or "swagger-ui" in dom
    # Operations appear only once Swagger UI's JavaScript has fetched /api/openapi.json and rendered it.
    assert "opblock" in dom, dom[:2000]
    assert "/api/v1/sync/{kind}" in dom or "/api/v1/sync/" in dom


@pytest.mark.slow
def test_the_landing_page_renders_its_links(webhook_server, tmp_path):
    dom = rendered(f"{webhook_server}/", tmp_path)
    for target in ('href="/api/docs"', 'href="/healthz"', 'href="/rq"'):
        assert target in dom, (target, dom[:2000])
