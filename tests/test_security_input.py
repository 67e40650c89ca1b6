"""Hostile input that reaches Magento or the POS: SKUs no URL path can carry (`.`, `..`, `/`, control
characters) are refused where they enter and never put in a Magento path; text with NUL characters or lone
surrogates fails its record once, by name, while the rest of the run goes on."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from syncapi.magento import products
from syncapi.magento.client import path
from syncapi.magento.errors import MagentoUnsafePathError
from syncapi.magento.products import PRODUCT
from syncapi.pos import models as m
from syncapi.pos.errors import PosValidationError
from syncapi.pos.gateway import CustomerIn, Product
from syncapi.pos.validation import valid_customer
from syncapi.state import RUN_PARTIAL, RUN_SUCCEEDED
from syncapi.textcheck import record_problem, sku_problem, text_problem
from tests.conftest import TEST_API_TOKEN
from tests.test_pos_timestamp_forms import insert_products

API_AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
#: SKUs no Magento URL path can carry, and why each one is refused.
#: A time well before the runs' checkpoints, so an incremental run reads these rows only when they change.
PAST = "'2024-03-01 09:30:00'"
UNSAFE_SKUS = [".", "..", "A/B", "../A", "TAB\tX", "NEW\nLINE", "DEL\x7f", "NUL\x00", "LONE\ud800"]


@pytest.mark.parametrize("sku", UNSAFE_SKUS)
def test_the_sku_rule_refuses_what_a_url_path_cannot_carry(sku):
    assert sku_problem(sku) is not None


@pytest.mark.parametrize("sku", ["TEE-BLK-M", "...", ".A", "A.", "TEE BLK #1&?", "Größe-42"])
def test_the_sku_rule_accepts_ordinary_skus(sku):
    assert sku_problem(sku) is None


def test_text_problems_name_the_character_and_where_it_is():
    assert text_problem("ab\x00c") == "contains a NUL character at position 2"
    assert "lone surrogate U+DC80 at position 1" in text_problem("a\udc80")
    assert text_problem("Crème brûlée 🍮") is None


def test_a_record_problem_names_the_field():
    from datetime import UTC, datetime
    from decimal import Decimal

    product = Product(
        "TEE", "..", "Tee", None, None, None, None, None, Decimal(1), None, "Default", True, (), datetime.now(UTC)
    )
    assert record_problem(product).startswith("parent_sku: '..' cannot be sent to Magento")
    product = Product(
        "TEE", None, "Tee\x00", None, None, None, None, None, Decimal(1), None, "Default", True, (), datetime.now(UTC)
    )
    assert record_problem(product) == "name: contains a NUL character at position 3"


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_no_magento_path_is_built_with_a_dot_segment(value):
    with pytest.raises(MagentoUnsafePathError, match="cannot be put in a Magento URL path"):
        path(PRODUCT, sku=value)


def test_percent_encoding_cannot_make_dot_segments_safe_on_the_wire():
    # The reason for refusing them: the HTTP library resolves `..` and decodes `%2E` back to a dot segment.
    import requests

    assert requests.Request("PUT", "http://m/rest/all/V1/products/..").prepare().url == "http://m/rest/all/V1/"
    assert requests.Request("PUT", "http://m/rest/all/V1/products/%2E").prepare().url.endswith("/products/.")


@pytest.mark.parametrize("sku", [".", ".."])
def test_the_client_refuses_a_dot_segment_sku_before_any_request(magento, magento_client, sku):
    magento.requests(clear=True)
    with pytest.raises(MagentoUnsafePathError):
        products.update(magento_client, sku, {"sku": sku, "name": "x"})
    assert magento.requests() == []


def test_dot_segment_and_control_character_skus_in_the_pos_are_refused_before_any_magento_call(outbound, magento):
    outbound.start(MAGENTO_USE_BULK="false")
    bad = [".", "..", "A/B", "TAB\tX"]
    insert_products(outbound.engine, [(sku, PAST) for sku in [*bad, "GOOD-1"]])
    magento.requests(clear=True)
    run = outbound.push("products", full=True)
    assert run.status == RUN_PARTIAL, run.reason
    assert run.counts["created"] == 1 and run.counts["failed"] == len(bad)
    errors = {error.key: error.message for error in run.errors}
    assert set(errors) == set(bad)
    assert all("cannot be sent to Magento" in message for message in errors.values())
    sent = magento.requests()
    assert sent, "the good product was pushed"
    for entry in sent:
        assert entry["path"].rstrip("/") not in ("/rest/all/V1", "/rest/default/V1"), entry
        assert not entry["path"].endswith("/products/"), entry
        if "{sku}" in (entry["template"] or ""):
            assert "GOOD-1" in entry["path"], entry
        body = json.dumps(entry.get("body"))
        assert not [sku for sku in bad if json.dumps(sku) in body], entry
    assert "GOOD-1" in magento.state("products")
    assert not set(bad) & set(magento.state("products"))
    # Refused records are not retried by the next run (older than its settle window, they are not read again).
    assert outbound.push("products").counts["failed"] == 0


def test_a_nul_in_a_pos_name_fails_that_product_once_by_name(outbound, magento):
    insert_products(outbound.engine, [("PLAIN-1", PAST), ("PLAIN-2", PAST)])
    with outbound.engine.begin() as connection:
        connection.execute(text("UPDATE products SET name = 'Nul' || char(0) || 'Tee' WHERE sku = 'PLAIN-2'"))
    run = outbound.push("products", full=True)
    assert run.status == RUN_PARTIAL
    assert [(e.key, e.message) for e in run.errors] == [("PLAIN-2", "name: contains a NUL character at position 3")]
    assert set(magento.state("products")) >= {"PLAIN-1"} and "PLAIN-2" not in magento.state("products")
    again = outbound.push("products")
    assert again.status == RUN_SUCCEEDED and again.counts["failed"] == 0
    # Asked for by SKU, it fails with the same one error (it is in the POS, not missing from it).
    by_key = outbound.push("products", keys=["PLAIN-2"])
    assert [(e.key, e.message) for e in by_key.errors] == [("PLAIN-2", "name: contains a NUL character at position 3")]


def test_bytes_that_are_not_utf8_fail_that_product_not_the_pos(outbound, magento):
    # Another program wrote Latin-1 bytes into SQLite: reading them used to fail the whole read as "POS
    # unavailable", retried at every schedule.
    insert_products(outbound.engine, [("LATIN-1", "CURRENT_TIMESTAMP"), ("UTF8-1", "CURRENT_TIMESTAMP")])
    with outbound.engine.begin() as connection:
        connection.execute(text("UPDATE products SET name = CAST(X'4372E86D65' AS TEXT) WHERE sku = 'LATIN-1'"))
    run = outbound.push("products", full=True)
    assert run.status == RUN_PARTIAL, run.reason
    assert [(e.key, e.message) for e in run.errors] == [
        ("LATIN-1", "name: contains a lone surrogate U+DCE8 at position 2 (not valid Unicode)")
    ]
    assert "UTF8-1" in magento.state("products")


def test_stock_and_price_pushes_refuse_unsafe_skus_by_name(outbound, magento):
    insert_products(outbound.engine, [("..", "CURRENT_TIMESTAMP"), ("OK-STOCK", "CURRENT_TIMESTAMP")])
    insert_stock = text("INSERT INTO stock (sku, location_code, on_hand, updated_at) VALUES (:sku, 'WEB', 4, :at)")
    with outbound.engine.begin() as connection:
        connection.execute(
            insert_stock, [{"sku": "..", "at": "2024-03-01 09:30:00"}, {"sku": "OK-STOCK", "at": "2024-03-01 09:30:00"}]
        )
    assert outbound.push("products", full=True).counts["created"] == 1
    magento.requests(clear=True)
    for kind in ("stock", "prices"):
        run = outbound.push(kind, full=True, force=True)
        assert [(e.key, "cannot be sent to Magento" in e.message) for e in run.errors] == [("..", True)], kind
        by_key = outbound.push(kind, keys=[".."])
        assert [(e.key, "cannot be sent to Magento" in e.message) for e in by_key.errors] == [("..", True)], kind
    assert not [entry for entry in magento.requests() if ".." in entry["path"] or '".."' in json.dumps(entry["body"])]


@pytest.mark.parametrize("sku", [".", "..", "A/B", "X\x00", "X\x1b[31m"])
def test_the_operator_api_refuses_unsafe_skus(outbound, sku):
    client = outbound.app.test_client()
    for url, body in (
        ("/api/v1/sync/products", {"skus": ["OK", sku]}),
        ("/api/v1/pos/changes", {"stock": ["OK", sku]}),
        ("/api/v1/pos/changes", {"products": [sku]}),
    ):
        response = client.post(url, json=body, headers=API_AUTH)
        assert response.status_code == 400, (url, response.get_json())
        assert "SKU" in response.get_json()["message"]
        assert response.get_json()["error"] == "Bad Request"
    assert outbound.svc.redis.keys("syncapi:announced:*") == []


def test_the_openapi_document_states_the_sku_rule(outbound):
    spec = outbound.app.test_client().get("/api/openapi.json").get_json()
    rendered = str(spec)
    assert "'not': {'enum': ['.', '..']}" in rendered


def test_sync_sku_on_the_command_line_refuses_unsafe_skus(outbound, magento):
    magento.requests(clear=True)
    result = outbound.app.test_cli_runner().invoke(args=["sync", "products", "--sku", ".."])
    assert result.exit_code == 2
    assert "cannot be sent to Magento" in result.output
    assert magento.requests() == []


def test_pos_writes_refuse_nul_and_lone_surrogates_naming_the_field():
    with pytest.raises(PosValidationError, match=r"customer 'a@example\.com': first name contains a NUL character"):
        valid_customer(CustomerIn(email="a@example.com", first_name="A\x00"))
    with pytest.raises(
        PosValidationError, match=r"customer 'a@example\.com': last name contains a lone surrogate U\+D800"
    ):
        valid_customer(CustomerIn(email="a@example.com", last_name="\ud800"))


@pytest.mark.parametrize("name", ["Nul\x00", "Lone\ud800"], ids=["nul", "lone surrogate"])
def test_an_inbound_customer_with_bad_text_fails_once_and_is_not_written(inbound, name):
    inbound.magento.seed(
        customers=[
            {"id": 601, "email": "bad@example.com", "firstname": name, "lastname": "X"},
            {"id": 602, "email": "good@example.com", "firstname": "Good", "lastname": "Y"},
        ]
    )
    inbound.deliver("customer", 601)
    inbound.deliver("customer", 602)
    inbound.work()
    assert inbound.run_due_retries() == []
    assert [c.email for c in inbound.customers()] == ["good@example.com"]
    link = inbound.link("customer", 601)
    assert link["status"] == "failed"
    assert "first name contains a" in link["error"]
    assert inbound.count(m.Customer) == 1
