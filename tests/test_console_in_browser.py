"""The console in a real headless Chromium (Debian's `chromium`, driven by Playwright) against the service as
processes (gunicorn and an rq worker) and the sandbox: log in, find the order a webhook planted with an unknown
SKU, read why, fix the cause in the POS, click Retry, see it gone; accessibility basics (labels, keyboard,
contrast).

Skipped where chromium or Playwright is missing, required under CI=true (`.ci/run` installs chromium)."""

from __future__ import annotations

import shutil
import time

import pytest

from tests.conftest import IN_CI
from tests.fixtures_pos import add_product
from tests.fixtures_reliability import API_AUTH

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("magento")]

USER, PASSWORD = "office", "a-long-console-password-1"
#: Seconds the worker may take to import (and re-import) the order.
IMPORT_WAIT_S = 30
#: WCAG 2.1 AA: the least contrast of normal text against its background.
MIN_CONTRAST = 4.5


def _browser_parts():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if chromium and sync_playwright:
        return chromium, sync_playwright
    if IN_CI:
        pytest.fail("chromium and playwright are required under CI=true")
    pytest.skip("chromium or playwright is not installed")


def _wait_for(predicate, what: str, timeout_s: float = IMPORT_WAIT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


#: The contrast ratio of an element's text against the first opaque background behind it (WCAG's formula).
CONTRAST_JS = """
(el) => {
  const rgb = (s) => s.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  let node = el, bg = null;
  while (node && node.nodeType === 1) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length < 4 || c[3] > 0) { bg = c; break; }
    node = node.parentElement;
  }
  bg = bg || [255, 255, 255];
  const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}
"""

#: Form controls (not hidden) that no <label> names.
UNLABELLED_JS = """
() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter((el) => !el.labels || el.labels.length === 0).map((el) => el.outerHTML)
"""


def test_find_a_stuck_order_fix_it_and_retry_in_a_real_browser(sqlite_stack, tmp_path):
    chromium, sync_playwright = _browser_parts()
    stack = sqlite_stack
    stack.settings.update(DASHBOARD_USER=USER, DASHBOARD_PASSWORD=PASSWORD)
    stack.add_products(["HAT-BEANIE"], on_hand=5)
    base = stack.start_web()
    stack.start_workers(1)
    stack.seed_orders([4711], ["WEB-TEE-RED-M"])
    assert stack.deliver(4711).status_code == 202
    api = stack.app.test_client()

    def refused() -> bool:
        listed = api.get("/api/v1/attention?code=unknown_sku", headers=API_AUTH).get_json()
        return any(item["magento_number"] == "000004711" for item in listed)

    _wait_for(refused, "the order on the attention list, refused for its SKU")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{base}/console")
        assert page.url.endswith("/console/login")

        # Keyboard: the first Tab stop is the username field, the next the password; Enter sends the form.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "username"
        page.keyboard.type(USER)
        page.keyboard.press("Tab")
        page.keyboard.type("not the password")
        page.keyboard.press("Enter")
        page.wait_for_load_state()
        assert page.get_by_role("alert").inner_text() == "Wrong username or password."

        page.get_by_label("Username").fill(USER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/console/attention")
        assert page.evaluate(UNLABELLED_JS) == []
        page.get_by_role("link", name="Needs attention").click()

        row = page.locator("tr", has_text="000004711")
        assert "SKU WEB-TEE-RED-M is not in the POS" in row.inner_text()
        assert int(row.locator("td").nth(3).inner_text()) >= 1
        for selector in ("h1", "td", "header a", "button"):
            ratio = page.locator(selector).first.evaluate(CONTRAST_JS)
            assert ratio >= MIN_CONTRAST, f"{selector}: contrast {ratio:.2f}"

        add_product(stack.engine, "WEB-TEE-RED-M", on_hand=3)
        row.get_by_role("button", name="Retry", exact=True).click()
        page.wait_for_load_state()
        assert "queued" in page.get_by_role("status").inner_text()

        def gone() -> bool:
            page.goto(f"{base}/console/attention")
            return "Nothing needs attention." in page.content()

        _wait_for(gone, "the order to leave the list after its retry")
        browser.close()
    assert stack.sales_by_order() == {4711: 1}
