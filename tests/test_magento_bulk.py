"""The async bulk API: submit, poll, per-operation results, a stopped consumer, a store without bulk routes."""

from __future__ import annotations

import time

import pytest

from syncapi.magento import bulk, products
from syncapi.magento.errors import MagentoBulkTimeoutError, MagentoBulkUnsupportedError

FAST_POLL = {"poll_interval_s": 0.05, "stall_timeout_s": 2.0, "timeout_s": 10.0}


def product(sku: str, name: str | None = None) -> dict:
    return {
        "sku": sku,
        "name": name or f"Product {sku}",
        "price": 15.0,
        "attribute_set_id": 4,
        "custom_attributes": [{"attribute_code": "url_key", "value": sku.lower()}],
    }


def test_bulk_path_names_path_parameters():
    assert bulk.bulk_path("/V1/products") == "/async/bulk/V1/products"
    assert bulk.bulk_path("/V1/products/{sku}/media") == "/async/bulk/V1/products/bySku/media"
    assert bulk.bulk_path("/V1/configurable-products/{sku}/child") == "/async/bulk/V1/configurable-products/bySku/child"


def test_bulk_save_reports_each_operation(magento, magento_client):
    bodies = [product("BULK-1"), product("BULK-2"), {"sku": "BULK-3", "price": 1.0}, product("BULK-4")]
    results = products.bulk_save(magento_client, bodies, **FAST_POLL)
    assert [(r.index, r.status_name) for r in results] == [
        (0, "complete"),
        (1, "complete"),
        (2, "failed"),
        (3, "complete"),
    ]
    assert results[2].message == 'The "Product Name" attribute value is empty. Set the attribute and try again.'
    assert sorted(magento.state("products")) == ["BULK-1", "BULK-2", "BULK-4"]
    submitted = [e for e in magento.requests() if e["method"] == "POST"]
    assert [(e["path"], e["status"]) for e in submitted] == [("/rest/all/async/bulk/V1/products", 202)]


def test_bulk_is_sent_in_batches_and_results_keep_their_index(magento, magento_client_factory):
    client = magento_client_factory(batch_size=2)
    results = products.bulk_save(client, [product(f"BATCH-{n}") for n in range(5)], **FAST_POLL)
    assert [r.index for r in results] == [0, 1, 2, 3, 4]
    assert all(r.ok for r in results)
    posts = [e for e in magento.requests() if e["method"] == "POST"]
    assert [len(e["body"]) for e in posts] == [2, 2, 1]


def test_accepted_is_not_done(magento, magento_client):
    magento.configure(bulk_operation_delay_s=0.3)
    submission = bulk.submit(magento_client, "POST", "/V1/products", [{"product": product("SLOW-1")}])
    assert submission.accepted == [0]
    status = magento_client.get(f"/V1/bulk/{submission.bulk_uuid}/status")
    assert [op["status"] for op in status["operations_list"]] == [bulk.STATUS_OPEN]
    result = bulk.wait(magento_client, submission, **FAST_POLL)
    assert result.ok and result.counts == {"complete": 1}


def test_by_sku_route_takes_the_path_parameter_from_each_body(magento, magento_client):
    products.save(magento_client, product("PUT-1"))
    submission = bulk.submit(
        magento_client,
        "PUT",
        "/V1/products/{sku}",
        [{"sku": "PUT-1", "product": {"sku": "PUT-1", "name": "Bulk name"}}],
    )
    result = bulk.wait(magento_client, submission, **FAST_POLL)
    assert result.ok
    assert magento.product("PUT-1")["values"]["all"]["name"] == "Bulk name"
    puts = [(e["path"], e["status"]) for e in magento.requests() if e["method"] == "PUT"]
    assert puts == [("/rest/all/async/bulk/V1/products/bySku", 202)]


def test_bodies_breaking_the_schema_are_rejected_at_submission(magento, magento_client):
    bodies = [{"product": product("OK-1")}, {"product": {**product("BAD-1"), "price": "15"}}]
    submission = bulk.submit(magento_client, "POST", "/V1/products", bodies)
    assert submission.accepted == [0]
    assert submission.rejected == {
        1: 'The "15" value\'s type is invalid. The "number" type was expected. Verify and try again.'
    }
    result = bulk.wait(magento_client, submission, **FAST_POLL)
    assert result.counts == {"complete": 1, "rejected": 1}
    assert [op.index for op in result.failed] == [1]
    taken = magento.violations(clear=True)["violations"]
    assert [(v["request"], v["errors"][0]["where"]) for v in taken] == [
        ("POST /rest/all/async/bulk/V1/products [1]", "product.price")
    ]


def test_stopped_consumer_gives_a_clear_error(magento, magento_client):
    magento.configure(consumer_running=False)
    started = time.monotonic()
    with pytest.raises(MagentoBulkTimeoutError) as caught:
        products.bulk_save(magento_client, [product("STUCK-1")], poll_interval_s=0.05, stall_timeout_s=0.5)
    assert time.monotonic() - started < 3
    assert "async.operations.all consumer is probably not running" in str(caught.value)
    assert caught.value.counts == {"open": 1}
    assert magento.state("products") == {}
    magento.configure(consumer_running=True)
    deadline = time.monotonic() + 3
    while not magento.state("products") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(magento.state("products")) == ["STUCK-1"], "the queued operation runs once the consumer is back"


def test_store_without_bulk_routes_is_detected(magento, magento_client):
    magento.configure(bulk_enabled=False)
    with pytest.raises(MagentoBulkUnsupportedError, match="Magento_WebapiAsync") as caught:
        products.bulk_save(magento_client, [product("NOBULK-1")], **FAST_POLL)
    assert caught.value.status == 404
    assert "Request does not match any route." in caught.value.message
    assert magento.state("products") == {}
