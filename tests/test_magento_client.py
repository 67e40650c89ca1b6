"""The Magento client against the sandbox over real HTTP: authentication, retries, timeouts, error mapping,
percent-encoded SKUs, searchCriteria and paging."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
from werkzeug.serving import make_server

from sandbox import seed
from syncapi import services
from syncapi.magento import MagentoClient, client_for, products
from syncapi.magento.client import ClientOptions, batches, path
from syncapi.magento.errors import (
    MagentoAuthError,
    MagentoNotFoundError,
    MagentoPermanentError,
    MagentoTransientError,
    format_message,
)
from syncapi.magento.search import Filter, SearchCriteria
from tests.fixtures_magento import FAST_RETRIES, magento_test_settings

UNAUTHORIZED_PRODUCTS = "The consumer isn't authorized to access Magento_Catalog::products."


def simple(sku: str, name: str | None = None, url_key: str | None = None) -> dict:
    product = {"sku": sku, "name": name or f"Product {sku}", "price": 10.0, "attribute_set_id": 4}
    if url_key:
        product["custom_attributes"] = [{"attribute_code": "url_key", "value": url_key}]
    return product


def wait_for_requests(magento, count: int, timeout_s: float = 3.0) -> list[dict]:
    """The request log once it holds `count` entries (a timed-out request is logged when the server finishes)."""
    deadline = time.monotonic() + timeout_s
    while True:
        entries = magento.requests()
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


# --- messages and builders (no I/O) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "parameters", "expected"),
    [
        ("The consumer isn't authorized to access %resources.", {"resources": "A::b"}, "... access A::b."),
        ('The "%1" attribute value is empty.', ["Product Name"], 'The "Product Name" attribute value is empty.'),
        ("Invalid attribute %fieldName = %fieldValue.", ["SKU", "X-1"], "Invalid attribute SKU = X-1."),
        ("%1 and %2, %1", ["a", "b"], "a and b, a"),
        ("No parameters %here", None, "No parameters %here"),
        ("Missing %name stays", {"other": "x"}, "Missing %name stays"),
    ],
)
def test_format_message_fills_list_and_named_parameters(message, parameters, expected):
    filled = format_message(message, parameters)
    if expected.startswith("..."):
        assert filled.endswith(expected[4:])
    else:
        assert filled == expected


def test_search_criteria_builds_magento_query_parameters():
    criteria = (
        SearchCriteria()
        .where("updated_at", "2024-05-01 00:00:00", "gteq")
        .where_any(("state", "complete"), Filter("state", ["closed", "canceled"], "in"))
        .order_by("updated_at", "desc")
        .page(50, 2)
    )
    assert criteria.to_params() == {
        "searchCriteria[filter_groups][0][filters][0][field]": "updated_at",
        "searchCriteria[filter_groups][0][filters][0][value]": "2024-05-01 00:00:00",
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "gteq",
        "searchCriteria[filter_groups][1][filters][0][field]": "state",
        "searchCriteria[filter_groups][1][filters][0][value]": "complete",
        "searchCriteria[filter_groups][1][filters][0][condition_type]": "eq",
        "searchCriteria[filter_groups][1][filters][1][field]": "state",
        "searchCriteria[filter_groups][1][filters][1][value]": "closed,canceled",
        "searchCriteria[filter_groups][1][filters][1][condition_type]": "in",
        "searchCriteria[sort_orders][0][field]": "updated_at",
        "searchCriteria[sort_orders][0][direction]": "DESC",
        "searchCriteria[page_size]": "50",
        "searchCriteria[current_page]": "2",
    }
    assert SearchCriteria().to_params() == {"searchCriteria": ""}
    with pytest.raises(ValueError, match="unknown condition type"):
        SearchCriteria().where("x", 1, "equals")
    with pytest.raises(ValueError):
        SearchCriteria().order_by("x", "sideways")


def test_path_encodes_every_reserved_character_of_a_sku():
    assert path("/V1/products/{sku}/media", sku="A/B #1 & ?x%") == "/V1/products/A%2FB%20%231%20%26%20%3Fx%25/media"
    assert list(batches(range(5), 2)) == [[0, 1], [2, 3], [4]]


# --- authentication -------------------------------------------------------------------------------------


def test_oauth_signed_calls_are_accepted(magento, magento_client):
    products.save(magento_client, simple("OAUTH-1"))
    assert products.get(magento_client, "OAUTH-1")["name"] == "Product OAUTH-1"
    assert all(entry["status"] == 200 for entry in magento.requests())


def test_wrong_consumer_secret_raises_auth_error_with_magento_message(magento, magento_client_factory):
    client = magento_client_factory({"MAGENTO_CONSUMER_SECRET": "not-the-secret"})
    with pytest.raises(MagentoAuthError) as caught:
        products.get(client, "ANY")
    assert caught.value.status == 401
    assert caught.value.message == UNAUTHORIZED_PRODUCTS
    assert caught.value.parameters == {"resources": "Magento_Catalog::products"}
    assert len(magento.requests()) == 1, "an auth failure is permanent: not retried"


def test_sandbox_checks_the_signature_not_just_the_keys(magento, magento_client):
    products.save(magento_client, simple("SIG-1"))
    magento.configure(access_token_secret="rotated-secret")
    with pytest.raises(MagentoAuthError):
        products.get(magento_client, "SIG-1")


def test_a_replayed_oauth_request_is_refused(magento, magento_settings):
    from syncapi.magento.client import auth_for

    session = requests.Session()
    prepared = session.prepare_request(
        requests.Request("GET", f"{magento.base_url}/rest/all/V1/store/storeViews", auth=auth_for(magento_settings))
    )
    assert session.send(prepared, timeout=5).status_code == 200
    assert session.send(prepared, timeout=5).status_code == 401, "same nonce and timestamp twice"


def test_bearer_token_is_refused_unless_the_store_allows_it(magento, magento_client_factory):
    client = magento_client_factory({"MAGENTO_AUTH": "bearer"})
    with pytest.raises(MagentoAuthError, match="isn't authorized"):
        client.get("/V1/store/storeViews")
    magento.configure(allow_bearer=True)
    assert [view["code"] for view in client.get("/V1/store/storeViews")] == ["admin", "default"]
    wrong = magento_client_factory({"MAGENTO_AUTH": "bearer", "MAGENTO_ACCESS_TOKEN": "someone-elses"})
    with pytest.raises(MagentoAuthError):
        wrong.get("/V1/store/storeViews")


def test_missing_acl_resource_names_it(magento, magento_client):
    magento.configure(denied_resources=["Magento_Sales::actions_view"])
    with pytest.raises(MagentoAuthError, match="Magento_Sales::actions_view"):
        magento_client.search("/V1/orders", SearchCriteria().page(1))
    assert magento_client.get("/V1/store/storeViews")


# --- retries and timeouts ---------------------------------------------------------------------------------


def test_429_with_retry_after_is_waited_for(magento, magento_client):
    magento.add_fault(path_prefix="/V1/store", status_codes=[429], fail_next=1, retry_after_s=0.6)
    started = time.monotonic()
    views = magento_client.get("/V1/store/storeViews")
    waited = time.monotonic() - started
    assert [v["code"] for v in views] == ["admin", "default"]
    assert waited >= 0.6, f"the client waited {waited:.3f} s, Magento asked for 0.6 s"
    assert [e["status"] for e in magento.requests()] == [429, 200]


def test_a_burst_of_503s_is_survived(magento, magento_client_factory):
    client = magento_client_factory({"MAGENTO_MAX_RETRIES": 5})
    magento.add_fault(path_prefix="/V1/products", status_codes=[503, 502, 500], fail_next=3)
    saved = products.save(client, simple("BURST-1"))
    assert saved["sku"] == "BURST-1"
    assert [e["status"] for e in magento.requests()] == [503, 502, 500, 200]
    assert list(magento.state("products")) == ["BURST-1"], "stored once"


def test_retries_used_up_raise_a_transient_error(magento, magento_client_factory):
    client = magento_client_factory({"MAGENTO_MAX_RETRIES": 2})
    magento.add_fault(path_prefix="/V1/store", status_codes=[503], fail_next=10)
    with pytest.raises(MagentoTransientError) as caught:
        client.get("/V1/store/storeViews")
    assert caught.value.status == 503
    assert caught.value.attempts == 3
    assert "gave up after 3 attempts" in str(caught.value)
    assert len(magento.requests()) == 3


def test_retry_after_beyond_the_wait_cap_gives_up_at_once(magento, magento_client_factory):
    client = magento_client_factory(max_total_wait_s=1.0)
    magento.add_fault(path_prefix="/V1/store", status_codes=[429], fail_next=5, retry_after_s=30)
    started = time.monotonic()
    with pytest.raises(MagentoTransientError, match="asked to wait 30 s"):
        client.get("/V1/store/storeViews")
    assert time.monotonic() - started < 1.0


def test_read_timeout_is_retried_then_raised(magento, magento_client_factory):
    client = magento_client_factory({"MAGENTO_READ_TIMEOUT": 0.3, "MAGENTO_MAX_RETRIES": 2})
    magento.add_fault(path_prefix="/V1/store", latency_ms=700)
    started = time.monotonic()
    with pytest.raises(MagentoTransientError, match=r"did not answer within 0\.3 s") as caught:
        client.get("/V1/store/storeViews")
    assert caught.value.status is None
    assert caught.value.attempts == 3
    assert time.monotonic() - started >= 0.9
    assert len(wait_for_requests(magento, 3)) == 3


def test_a_post_that_may_have_landed_is_not_repeated(magento, magento_client):
    magento.add_fault(path_prefix="/V1/customers", methods=["POST"], status_codes=[500], fail_next=1)
    with pytest.raises(MagentoTransientError) as caught:
        magento_client.post(
            "/V1/customers", {"customer": {"email": "a@example.com", "firstname": "A", "lastname": "B"}}
        )
    assert caught.value.may_have_applied
    assert len(magento.requests()) == 1


def test_a_post_refused_with_503_is_repeated(magento, magento_client):
    magento.add_fault(path_prefix="/V1/customers", methods=["POST"], status_codes=[503], fail_next=1)
    created = magento_client.post(
        "/V1/customers", {"customer": {"email": "a@example.com", "firstname": "A", "lastname": "B"}}
    )
    assert created["id"] == 1
    assert [e["status"] for e in magento.requests()] == [503, 200]


def test_connection_refused_is_retried_then_raised():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = client_for(magento_test_settings(f"http://127.0.0.1:{port}", MAGENTO_MAX_RETRIES=2), **FAST_RETRIES)
    with pytest.raises(MagentoTransientError, match=r"could not reach 127\.0\.0\.1") as caught:
        client.get("/V1/store/storeViews")
    assert caught.value.attempts == 3
    assert not caught.value.may_have_applied


# --- answers ------------------------------------------------------------------------------------------------


def test_not_found_carries_magento_message(magento_client):
    with pytest.raises(MagentoNotFoundError) as caught:
        products.get(magento_client, "NOPE")
    assert caught.value.status == 404
    assert caught.value.message == "The product that was requested doesn't exist. Verify the product and try again."


def test_rejected_body_raises_permanent_error_with_parameters_filled(magento, magento_client):
    with pytest.raises(MagentoPermanentError) as caught:
        products.save(magento_client, {"sku": "NO-NAME", "price": 5.0})
    assert caught.value.status == 400
    assert caught.value.message == 'The "Product Name" attribute value is empty. Set the attribute and try again.'
    assert caught.value.body == {
        "message": 'The "%1" attribute value is empty. Set the attribute and try again.',
        "parameters": ["Product Name"],
    }
    assert "Magento answered 400" in str(caught.value)
    assert len(magento.requests()) == 1, "a 400 is permanent: not retried"
    assert magento.state("products") == {}


def test_schema_rejection_through_the_client_is_permanent(magento, magento_client):
    with pytest.raises(MagentoPermanentError) as caught:
        products.save(magento_client, {"sku": "TYPED", "name": "Typed", "price": "10.00"})
    assert caught.value.message == (
        'The "10.00" value\'s type is invalid. The "number" type was expected. Verify and try again.'
    )
    taken = magento.violations(clear=True)["violations"]
    assert [e["where"] for e in taken[0]["errors"]] == ["product.price"]


def test_sku_with_slash_spaces_and_reserved_characters(magento, magento_client):
    sku = "TEE/BLK M #1&?"
    products.save(magento_client, simple(sku, url_key="tee-blk-m-1"))
    assert products.get(magento_client, sku)["sku"] == sku
    products.update(magento_client, sku, {"sku": sku, "name": "Renamed"})
    assert magento.product(sku)["values"]["all"]["name"] == "Renamed"
    paths = [e["path"] for e in magento.requests() if e["method"] != "POST"]
    assert paths == ["/rest/all/V1/products/TEE%2FBLK%20M%20%231%26%3F"] * 2


def test_writes_go_to_the_configured_store_code(magento, magento_client_factory):
    client = magento_client_factory({"MAGENTO_STORE_CODE": "default"})
    products.save(client, simple("SCOPED-1"))
    client.put(path("/V1/products/{sku}", sku="SCOPED-1"), {"product": {"sku": "SCOPED-1", "name": "Store name"}})
    stored = magento.product("SCOPED-1")
    assert stored["values"]["all"]["name"] == "Product SCOPED-1"
    assert stored["values"]["default"]["name"] == "Store name", "a store-view write is an override"
    assert magento.requests()[-1]["path"] == "/rest/default/V1/products/SCOPED-1"


@pytest.fixture
def storefront():
    """A web server that answers HTML, like a shop's storefront or a proxy's error page."""

    def app(environ, start_response):
        status = "200 OK" if environ["PATH_INFO"].startswith("/rest/") else "404 Not Found"
        start_response(status, [("Content-Type", "text/html")])
        return [b"<html><body><h1>Welcome to our shop</h1></body></html>"]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_an_html_answer_is_a_clear_error(storefront):
    client = MagentoClient(storefront, None, ClientOptions(**FAST_RETRIES))
    with pytest.raises(MagentoPermanentError, match="not JSON, so this is probably not Magento's REST API") as caught:
        client.get("/V1/store/storeViews")
    assert "Welcome to our shop" in caught.value.message


# --- lists ---------------------------------------------------------------------------------------------------


def test_paging_reads_every_page_and_stops_at_total_count(magento, magento_client_factory):
    client = magento_client_factory(page_size=3)
    orders = [seed.order(i, [{"sku": "MUG", "name": "Mug", "qty": 1, "price": 5}]) for i in range(1, 8)]
    magento.seed(orders=orders)
    found = list(client.paginate("/V1/orders", SearchCriteria().order_by("entity_id")))
    assert [o["entity_id"] for o in found] == list(range(1, 8))
    pages = [e["query"] for e in magento.requests()]
    assert len(pages) == 3, "7 orders in pages of 3, and no fourth request"
    assert all("searchCriteria%5Bpage_size%5D=3" in q for q in pages)


def test_paging_past_the_end_does_not_repeat_the_last_page(magento, magento_client_factory):
    client = magento_client_factory(page_size=2)
    magento.seed(orders=[seed.order(i, [{"sku": "MUG", "name": "Mug", "qty": 1, "price": 5}]) for i in (1, 2, 3)])
    # Magento answers a page past the end with the last page again: the sandbox does too.
    beyond = client.search("/V1/orders", SearchCriteria().page(2, 5))
    assert [o["entity_id"] for o in beyond["items"]] == [3]
    assert [o["entity_id"] for o in client.paginate("/V1/orders")] == [1, 2, 3]


def test_send_in_batches_splits_list_endpoints(magento, magento_client_factory):
    client = magento_client_factory(batch_size=2)
    for n in range(5):
        products.save(client, simple(f"B-{n}", url_key=f"b-{n}"))
    magento.requests(clear=True)
    items = [{"sku": f"B-{n}", "source_code": "default", "quantity": n, "status": 1} for n in range(5)]
    client.send_in_batches("/V1/inventory/source-items", "sourceItems", items)
    assert [len(e["body"]["sourceItems"]) for e in magento.requests()] == [2, 2, 1]


def test_concurrent_calls_share_one_client(magento, magento_client):
    magento.configure(latency_ms=150)
    errors: list[Exception] = []

    def save(n: int) -> None:
        try:
            products.save(magento_client, simple(f"C-{n}", url_key=f"c-{n}"))
        except Exception as exc:
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=save, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(magento.state("products")) == sorted(f"C-{n}" for n in range(10))
    assert time.monotonic() - started < 1.2, "the sandbox serves requests concurrently"


def test_jobs_get_one_client_per_process(app):
    client = services.current().magento
    assert client is services.current().magento
    assert client.base_url == app.extensions["services"].settings.magento_base_url
    assert isinstance(client, MagentoClient)
