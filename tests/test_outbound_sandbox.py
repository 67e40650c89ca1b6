"""The sandbox's indexes that large pushes rely on: URL keys kept unique through renames, SKU searches that
render only what they name, bulk operations run in the order they were submitted."""

from __future__ import annotations

import pytest

from syncapi.magento import bulk, products
from syncapi.magento.errors import MagentoPermanentError
from syncapi.magento.search import SearchCriteria

FAST_POLL = {"poll_interval_s": 0.05, "stall_timeout_s": 5.0, "timeout_s": 10.0}


def product(sku: str, url_key: str) -> dict:
    return {
        "sku": sku,
        "name": f"Product {sku}",
        "price": 5,
        "attribute_set_id": 4,
        "custom_attributes": [{"attribute_code": "url_key", "value": url_key}],
    }


def test_a_url_key_is_taken_until_its_product_lets_it_go(magento, magento_client):
    products.save(magento_client, product("A", "shared"))
    with pytest.raises(MagentoPermanentError, match="URL key for specified store already exists"):
        products.save(magento_client, product("B", "shared"))
    assert "B" not in magento.state("products"), "a refused save stores nothing, its key included"
    products.update(
        magento_client, "A", {"sku": "A", "custom_attributes": [{"attribute_code": "url_key", "value": "a"}]}
    )
    products.save(magento_client, product("B", "shared"))
    with pytest.raises(MagentoPermanentError, match="URL key"):
        products.save(magento_client, product("C", "a"))
    products.save(magento_client, product("A", "a"))  # saving a product with its own key is no clash
    # A store-view override takes the key in that store too.
    products.update(
        magento_client,
        "B",
        {"sku": "B", "custom_attributes": [{"attribute_code": "url_key", "value": "b-default"}]},
        store="default",
    )
    with pytest.raises(MagentoPermanentError, match="URL key"):
        products.save(magento_client, product("D", "b-default"))
    magento.reset()
    products.save(magento_client, product("E", "shared"))


def test_a_search_by_skus_finds_exactly_those(magento, magento_client):
    for n in range(6):
        products.save(magento_client, product(f"S-{n}", f"s-{n}"))
    found = products.search(magento_client, SearchCriteria().where("sku", ["S-4", "S-1", "NONE"], "in").page(10))
    assert [item["sku"] for item in found["items"]] == ["S-1", "S-4"]
    assert found["total_count"] == 2
    found = products.search(magento_client, SearchCriteria().where("sku", "S-3").where("price", 6, "gt"))
    assert found["items"] == []
    assert products.search(magento_client, SearchCriteria().where("price", 5).page(2))["total_count"] == 6


def test_bulk_operations_run_in_submission_order(magento, magento_client):
    magento.configure(consumer_running=False)
    first = bulk.submit(magento_client, "POST", "/V1/products", [{"product": product("Q-1", "same")}])
    second = bulk.submit(magento_client, "POST", "/V1/products", [{"product": product("Q-2", "same")}])
    magento.configure(consumer_running=True)
    assert bulk.wait(magento_client, first, **FAST_POLL).ok
    result = bulk.wait(magento_client, second, **FAST_POLL)
    assert result.operations[0].status_name == "failed", "Q-1 ran first and holds the URL key"
    assert sorted(magento.state("products")) == ["Q-1"]
