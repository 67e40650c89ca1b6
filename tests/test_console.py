"""The operator console over HTTP (Flask's client against the real app, worker, sandbox, Redis and databases):
login with the dashboard credentials, the "Needs attention" page with a failed order planted through a signed
webhook and its reason escaped, Retry after the fix, Retry all like this, Dismiss with a note; CSRF, cookie and
header rules."""

from __future__ import annotations

import re

import pytest

from tests.fixtures_inbound import inbound_test_settings

pytestmark = pytest.mark.usefixtures("magento")

USER, PASSWORD = "office", "a-long-console-password-1"


@pytest.fixture
def inbound_settings(tmp_path, database_url, magento) -> dict:
    return inbound_test_settings(
        tmp_path, database_url, magento.base_url, DASHBOARD_USER=USER, DASHBOARD_PASSWORD=PASSWORD
    )


def plant(inbound, order_id: int, sku: str) -> None:
    inbound.seed_order(order_id, [{"sku": sku, "name": "Tee", "qty": 1, "price": 9.0}])
    assert inbound.deliver("order", order_id).status_code == 202
    inbound.work()


def logged_in(inbound):
    client = inbound.app.test_client()
    response = client.post("/console/login", data={"username": USER, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_without_a_session_the_console_sends_to_its_login_form(inbound):
    client = inbound.app.test_client()
    for path in ("/console", "/console/", "/console/attention"):
        response = client.get(path)
        assert response.status_code in (301, 302, 308, 401), path
    response = client.get("/console/attention")
    assert response.headers["Location"].endswith("/console/login")
    form = client.get("/console/login").get_data(as_text=True)
    assert 'name="username"' in form and 'type="password"' in form
    assert '<label for="username">' in form and '<label for="password">' in form


def test_a_wrong_password_shows_the_form_again_with_a_message(inbound):
    client = inbound.app.test_client()
    response = client.post("/console/login", data={"username": USER, "password": "wrong"})
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Wrong username or password." in page and 'type="password"' in page
    assert "Set-Cookie" not in response.headers
    assert client.get("/console/attention").status_code == 302


def test_the_session_cookie_is_httponly_and_secure_behind_https(inbound):
    client = inbound.app.test_client()
    plain = client.post("/console/login", data={"username": USER, "password": PASSWORD})
    cookie = plain.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = inbound.app.test_client().post(
        "/console/login", data={"username": USER, "password": PASSWORD}, base_url="https://localhost"
    )
    assert "Secure" in secure.headers["Set-Cookie"]


def test_find_a_stuck_order_read_why_fix_it_and_retry(inbound):
    plant(inbound, 4711, "WEB-TEE-<b>RED</b>-M")
    client = logged_in(inbound)
    response = client.get("/console/attention")
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    assert "Needs attention" in page
    assert "order 000004711" in page
    # Text from Magento is shown as literal text: escaped, never stripped.
    assert "SKU WEB-TEE-&lt;b&gt;RED&lt;/b&gt;-M is not in the POS" in page
    assert "<b>RED</b>" not in page
    for label in ("Retry", "Retry all like this", "Dismiss"):
        assert f">{label}</button>" in page
    assert "unknown_sku" in page

    # Without its CSRF token a POST is refused and changes nothing.
    assert client.post("/console/attention/link-order-4711/retry").status_code == 400
    assert client.post("/console/attention/link-order-4711/retry", data={"csrf_token": "forged"}).status_code == 400
    assert inbound.link("order", 4711)["attempts"] == 1

    inbound.add_product("WEB-TEE-<b>RED</b>-M")
    response = client.post("/console/attention/link-order-4711/retry", data={"csrf_token": csrf(page)})
    assert response.status_code == 302
    inbound.work()
    assert inbound.link("order", 4711)["status"] == "synced"
    assert "Nothing needs attention." in client.get("/console/attention").get_data(as_text=True)


def test_retry_all_like_this_and_dismiss_with_a_note(inbound):
    plant(inbound, 301, "NEW-301")
    plant(inbound, 302, "NEW-302")
    inbound.deliver("invoice", 999)
    inbound.work()
    client = logged_in(inbound)
    page = client.get("/console/attention").get_data(as_text=True)
    token = csrf(page)

    assert client.post("/console/attention/link-invoice-999/dismiss", data={"csrf_token": token}).status_code == 302
    assert "link-invoice-999" in client.get("/console/attention").get_data(as_text=True)  # no note, not dismissed
    response = client.post(
        "/console/attention/link-invoice-999/dismiss", data={"csrf_token": token, "note": "a test invoice"}
    )
    assert response.status_code == 302
    page = client.get("/console/attention").get_data(as_text=True)
    assert "link-invoice-999" not in page

    inbound.add_product("NEW-301")
    inbound.add_product("NEW-302")
    assert client.post("/console/attention/retry", data={"code": "unknown_sku"}).status_code == 400
    response = client.post("/console/attention/retry", data={"csrf_token": token, "code": "unknown_sku"})
    assert response.status_code == 302
    inbound.work()
    assert "Nothing needs attention." in client.get("/console/attention").get_data(as_text=True)

    filtered = client.get("/console/attention?kind=invoice&older_than=1h").get_data(as_text=True)
    assert "Nothing needs attention." in filtered
    assert client.get("/console/attention?kind=nope").status_code == 400


def test_logout_ends_the_session(inbound):
    client = logged_in(inbound)
    page = client.get("/console/attention").get_data(as_text=True)
    assert client.post("/console/logout", data={"csrf_token": csrf(page)}).status_code == 302
    assert client.get("/console/attention").status_code == 302
