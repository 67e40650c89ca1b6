"""The sandbox itself: schema validation, Magento-style answers, test controls, and running as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from sandbox import Sandbox, SandboxControl
from sandbox import state as sandbox_state
from sandbox.routing import ROUTER
from sandbox.schema import BodySchemas, template_key
from syncapi import config as service_config
from syncapi.magento.client import auth_for
from tests.fixtures_magento import magento_test_settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_sandbox_route_is_in_the_official_schema(magento_schema_path):
    schemas = BodySchemas.load(magento_schema_path)
    missing = [f"{r.method} {r.template}" for r in ROUTER.routes if not schemas.known(r.method, r.template)]
    assert missing == []
    assert template_key("/V1/products/{sku}/media/{entryId}") == "/V1/products/{}/media/{}"


def test_wrongly_typed_body_is_rejected_and_recorded(magento, signed):
    answer = signed(
        "POST", "/all/V1/products", json={"product": {"sku": "T-1", "name": "T", "price": 5, "status": "1"}}
    )
    assert answer.status_code == 400
    assert answer.json()["message"] == (
        'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.'
    )
    assert answer.json()["parameters"] == {"value": "1", "type": "integer"}
    found = magento.violations(clear=True)
    assert found["violations"] == [
        {
            "request": "POST /rest/all/V1/products",
            "template": "/V1/products",
            "errors": [{"where": "product.status", "message": 'expected integer, got "1"'}],
        }
    ]
    assert magento.state("products") == {}


def test_missing_wrapper_and_unknown_keys_are_rejected(magento, signed):
    missing = signed("POST", "/all/V1/inventory/source-items", json={"items": []})
    assert missing.status_code == 400
    messages = {missing.json()["message"], *(e["message"] for e in missing.json().get("errors", []))}
    assert '"%fieldName" is required. Enter and try again.' in messages
    assert '"%fieldName" is not supported. Correct the field name and try again.' in messages
    unknown = signed(
        "POST", "/all/V1/products", json={"product": {"sku": "U-1", "name": "U", "price": 1, "colour": "x"}}
    )
    assert unknown.status_code == 400
    assert unknown.json()["parameters"] == {"fieldName": "Colour"}
    assert len(magento.violations(clear=True)["violations"]) == 2


def test_nested_required_misses_are_only_warnings(magento, signed):
    body = {"product": {"sku": "W-1", "name": "W", "price": 1, "custom_attributes": [{"attribute_code": "material"}]}}
    assert signed("POST", "/all/V1/products", json=body).status_code == 200
    found = magento.violations(clear=True)
    assert found["violations"] == []
    assert found["warnings"][0]["warnings"] == [
        {"where": "product.custom_attributes[0].value", "message": "required key 'value' is missing"}
    ]


def test_bodies_magento_cannot_read(magento, signed):
    form = signed("POST", "/all/V1/products", data={"product": "x"})
    assert (form.status_code, form.json()["message"]) == (400, "Content-Type header is invalid.")
    broken = signed("POST", "/all/V1/products", data=b"{not json", headers={"Content-Type": "application/json"})
    assert (broken.status_code, broken.json()["message"]) == (400, "Decoding error.")


def test_routes_stores_and_methods(magento, signed):
    assert signed("GET", "/all/V1/nothing").json() == {"message": "Request does not match any route."}
    assert signed("DELETE", "/all/V1/store/storeViews").status_code == 404
    assert signed("GET", "/all/async/bulk/V1/products").status_code == 404
    unknown_store = signed("GET", "/nowhere/V1/store/storeViews")
    assert unknown_store.status_code == 404
    assert "store that was requested wasn't found" in unknown_store.json()["message"]
    assert signed("GET", "/V1/store/storeViews").status_code == 200, "no store code = the default store view"
    missing_criteria = signed("GET", "/all/V1/orders")
    assert missing_criteria.status_code == 400
    assert missing_criteria.json()["parameters"] == {"fieldName": "searchCriteria"}


def test_unsigned_request_is_refused_like_magento(magento):
    answer = requests.get(f"{magento.base_url}/rest/all/V1/orders?searchCriteria=", timeout=5)
    assert answer.status_code == 401
    assert answer.json() == {
        "message": "The consumer isn't authorized to access %resources.",
        "parameters": {"resources": "Magento_Sales::actions_view"},
    }


def test_request_log_and_reset(magento, signed):
    magento.configure(allow_bearer=True, denied_resources=["Magento_Catalog::products"])
    magento.add_fault(path_prefix="/V1/orders", fail_next=1)
    signed("GET", "/default/V1/store/storeViews")
    assert magento.requests() == [
        {
            "time": magento.requests()[0]["time"],
            "method": "GET",
            "path": "/rest/default/V1/store/storeViews",
            "query": "",
            "store": "default",
            "route": "/V1/store/storeViews",
            "template": "/V1/store/storeViews",
            "body": None,
            "status": 200,
        }
    ]
    magento.reset()
    config = magento.state("config")
    assert (config["allow_bearer"], config["denied_resources"]) == (False, [])
    assert magento.state("faults") == [] and magento.requests() == []


def test_controls_refuse_bad_input(magento):
    with pytest.raises(RuntimeError, match="unknown fault fields"):
        magento.add_fault(path="/V1")
    with pytest.raises(RuntimeError, match="unknown switches"):
        magento.configure(consumer=False)
    with pytest.raises(RuntimeError, match="unknown record kinds"):
        magento.seed(shipments=[])
    with pytest.raises(RuntimeError, match="refers to unknown customer 5"):
        magento.seed(orders=[{"lines": [{"sku": "A", "name": "A", "qty": 1, "price": 1}], "customer_id": 5}])
    with pytest.raises(RuntimeError, match="cannot build an order"):
        magento.seed(orders=[{"lines": [{"sku": "A", "name": "A", "qty": 1, "price": 1}], "colour": "red"}])
    with pytest.raises(RuntimeError, match="not a valid email address"):
        magento.seed(
            products=[{"sku": "KEPT?", "name": "Kept?", "price": 1.0}],
            customers=[{"email": "nobody", "firstname": "No", "lastname": "Body"}],
        )
    with pytest.raises(RuntimeError, match="must be a list of JSON objects"):
        magento.seed(customers="everyone")
    assert magento.state("products") == {}, "a refused seed request changes nothing"
    assert magento.state("orders") == [] and magento.state("customers") == []
    with pytest.raises(RuntimeError, match="unknown section"):
        magento.state("everything")


def test_seeding_builds_realistic_sales_records(magento, signed):
    ids = magento.seed(
        customers=[
            {"email": "zoe@example.com", "firstname": "Zoe", "lastname": "Zed", "updated_at": "2024-06-01 07:00:00"}
        ],
        orders=[
            {
                "lines": [{"sku": "TEE-S", "name": "Tee S", "qty": 2, "price": 12.5, "parent_sku": "TEE"}],
                "customer_id": 1,
                "state": "processing",
                "updated_at": "2024-06-01 08:00:00",
            }
        ],
        invoices=[{"order_id": 1}],
        categories=[{"name": "Shoes", "parent_id": 2}],
    )
    assert ids == {"customers": [1], "orders": [1], "invoices": [1], "categories": [3]}
    order = signed("GET", "/all/V1/orders/1").json()
    assert (order["customer_email"], order["customer_is_guest"], order["state"]) == ("zoe@example.com", 0, "processing")
    assert (order["updated_at"], order["grand_total"]) == ("2024-06-01 08:00:00", 30.0)
    assert [(i["product_type"], i.get("parent_item_id")) for i in order["items"]] == [
        ("configurable", None),
        ("simple", order["items"][0]["item_id"]),
    ]
    assert signed("GET", "/all/V1/customers/1").json()["updated_at"] == "2024-06-01 07:00:00"
    invoice = signed("GET", "/all/V1/invoices/1").json()
    assert (invoice["order_id"], invoice["grand_total"], len(invoice["items"])) == (1, 30.0, 2)


def test_sandbox_runs_as_a_process(magento_schema_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--schema", str(magento_schema_path), "--demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = process.stdout.readline()
        assert banner.startswith("Magento sandbox on http://127.0.0.1:"), banner + process.stderr.read()
        base_url = banner.split()[3].removesuffix("/rest/all/V1")
        control = SandboxControl(base_url)
        assert len(control.state("orders")) == 3, "--demo seeds the demo sales"
        auth = auth_for(magento_test_settings(base_url))
        answer = requests.get(f"{base_url}/rest/all/V1/store/storeViews", auth=auth, timeout=5)
        assert answer.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_in_process_sandbox_starts_and_stops_on_a_free_port():
    with Sandbox() as sandbox:
        url = sandbox.base_url
        assert requests.get(url + "/_sandbox/config", timeout=5).json()["allow_bearer"] is False
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_sandbox/config", timeout=2)


def test_default_credentials_are_the_services_development_ones():
    """`make run` starts the sandbox with no credentials given; the service's development defaults must match."""
    assert (
        sandbox_state.CONSUMER_KEY,
        sandbox_state.CONSUMER_SECRET,
        sandbox_state.ACCESS_TOKEN,
        sandbox_state.ACCESS_TOKEN_SECRET,
    ) == (
        service_config.DEV_MAGENTO_CONSUMER_KEY,
        service_config.DEV_MAGENTO_CONSUMER_SECRET,
        service_config.DEV_MAGENTO_ACCESS_TOKEN,
        service_config.DEV_MAGENTO_ACCESS_TOKEN_SECRET,
    )
