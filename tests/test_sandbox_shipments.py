"""The sandbox ships orders as Magento 2.4 does: ShipOrder's validation, MSI's source deduction and reservations,
the order's quantities and state, and the shipments read back; bodies checked against the official schema."""

from __future__ import annotations

import pytest

from syncapi.config import Settings, SettingsError

SHIP = "/all/V1/order/{}/ship"


def seed(magento, signed, *, state: str = "processing", on_hand: float = 3) -> dict:
    magento.seed(products=[{"sku": "CUP", "name": "Cup", "price": 4.0}])
    answer = signed(
        "POST",
        "/all/V1/inventory/source-items",
        json={"sourceItems": [{"sku": "CUP", "source_code": "default", "quantity": on_hand, "status": 1}]},
    )
    assert answer.status_code == 200
    magento.seed(
        orders=[{"entity_id": 7, "lines": [{"sku": "CUP", "name": "Cup", "qty": 2, "price": 4}], "state": state}]
    )
    return next(o for o in magento.state("orders") if o["entity_id"] == 7)


def salable(signed) -> float:
    return signed("GET", "/all/V1/inventory/get-product-salable-quantity/CUP/1").json()


def test_a_shipment_deducts_the_source_clears_the_reservation_and_completes_the_order(magento, signed):
    order = seed(magento, signed)
    item_id = order["items"][0]["item_id"]
    assert salable(signed) == 1, "3 on hand, 2 reserved by the order"
    body = {
        "items": [{"order_item_id": item_id, "qty": 1}],
        "notify": True,
        "tracks": [{"track_number": "T1", "title": "Post", "carrier_code": "custom"}],
        "arguments": {"extension_attributes": {"source_code": "default"}},
    }
    first = signed("POST", SHIP.format(7), json=body)
    assert first.status_code == 200, first.text
    shipment = signed("GET", f"/all/V1/shipment/{first.json()}").json()
    assert shipment["order_id"] == 7 and shipment["tracks"][0]["track_number"] == "T1"
    assert shipment["items"][0]["order_item_id"] == item_id
    [(item, _)] = [(i, i) for i in magento.state("source_items") if i["sku"] == "CUP"]
    assert item["quantity"] == 2 and salable(signed) == 1
    order = next(o for o in magento.state("orders") if o["entity_id"] == 7)
    assert order["items"][0]["qty_shipped"] == 1 and order["state"] == "processing"

    second = signed("POST", SHIP.format(7), json={**body, "tracks": []})
    assert second.status_code == 200
    order = next(o for o in magento.state("orders") if o["entity_id"] == 7)
    assert order["state"] == "complete", "everything shipped and invoiced"
    found = signed(
        "GET",
        "/all/V1/shipments",
        params={
            "searchCriteria[filter_groups][0][filters][0][field]": "order_id",
            "searchCriteria[filter_groups][0][filters][0][value]": "7",
        },
    ).json()
    assert found["total_count"] == 2
    assert magento.violations(clear=True)["violations"] == []


@pytest.mark.parametrize(
    ("state", "qty", "message"),
    [
        ("processing", 3, 'The quantity to ship must not be greater than the unshipped quantity for product "CUP".'),
        ("canceled", 1, "A shipment cannot be created when an order has a status of canceled"),
        ("holded", 1, "A shipment cannot be created when an order has a status of holded"),
    ],
)
def test_shipments_magento_refuses_change_nothing(magento, signed, state, qty, message):
    order = seed(magento, signed, state=state)
    body = {"items": [{"order_item_id": order["items"][0]["item_id"], "qty": qty}], "notify": True}
    answer = signed("POST", SHIP.format(7), json=body)
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("Shipment Document Validation Error(s):\n")
    assert message in answer.json()["message"].splitlines()
    assert magento.state("shipments") == []
    assert next(i for i in magento.state("source_items") if i["sku"] == "CUP")["quantity"] == 3


def test_a_source_without_the_units_refuses_the_shipment(magento, signed):
    order = seed(magento, signed, on_hand=1)
    body = {"items": [{"order_item_id": order["items"][0]["item_id"], "qty": 2}], "notify": True}
    answer = signed("POST", SHIP.format(7), json=body)
    assert answer.status_code == 400
    assert answer.json()["message"] == "Not all of your products are available in the requested quantity."
    assert magento.state("shipments") == [] and salable(signed) == -1


def test_a_ship_body_outside_the_schema_is_refused(magento, signed):
    seed(magento, signed)
    answer = signed("POST", SHIP.format(7), json={"items": [{"order_item_id": "x", "qty": 1}]})
    assert answer.status_code == 400
    assert magento.violations(clear=True)["violations"]
    assert magento.state("shipments") == []


BASE = {
    "MAGENTO_BASE_URL": "http://m",
    "WEBHOOK_SECRET": "w" * 20 + "x1Y",
    "API_TOKEN": "a" * 20 + "z9Q",
    "MAGENTO_AUTH": "bearer",
    "MAGENTO_ACCESS_TOKEN": "a",
}


def test_stock_sources_map_locations_and_default_to_the_one_location():
    assert Settings.from_env(BASE).stock_sources == {"WEB": "default"}
    assert Settings.from_env({**BASE, "POS_LOCATION_CODE": "MAIN", "MAGENTO_SOURCE_CODE": "src"}).stock_sources == {
        "MAIN": "src"
    }
    mapped = Settings.from_env({**BASE, "STOCK_SOURCES": " WEB:default , SHOP1:shop_1 "})
    assert mapped.stock_sources == {"WEB": "default", "SHOP1": "shop_1"}


@pytest.mark.parametrize("value", ["WEB", "WEB:", ":default", "WEB:a,WEB:b", ",", "WEB default"])
def test_a_malformed_stock_sources_refuses_start_up_naming_it(value):
    with pytest.raises(SettingsError, match=r"^setting STOCK_SOURCES is invalid: ") as raised:
        Settings.from_env({**BASE, "STOCK_SOURCES": value})
    assert "\n" not in str(raised.value)
