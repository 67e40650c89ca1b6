"""Several websites (`ORDER_LOCATIONS`): each order's store view, found through Magento's store views and
websites (read once per process), picks the POS location its sale is written at and its stock taken from; an
unmapped store goes to POS_LOCATION_CODE with a log line. Over HTTP against the sandbox, real Redis, SQLite and
PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from syncapi.config import Settings, SettingsError
from syncapi.pos import models as m
from tests.conftest import base_settings
from tests.fixtures_pos import add_rows

pytestmark = pytest.mark.usefixtures("magento")

CAP = [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}]
#: Magento's default website `base` (store view 1, `default`) plus two websites as a store keeps them.
STORES = {
    "websites": [
        {"id": 2, "code": "oceania", "name": "Oceania", "default_group_id": 2},
        {"id": 3, "code": "europe", "name": "Europe", "default_group_id": 3},
    ],
    "store_views": [
        {"id": 2, "code": "nz_store", "name": "New Zealand", "website_id": 2, "store_group_id": 2},
        {"id": 3, "code": "au_store", "name": "Australia", "website_id": 2, "store_group_id": 2},
        {"id": 4, "code": "fr_store", "name": "France", "website_id": 3, "store_group_id": 3},
    ],
}


@pytest.fixture
def several_websites(inbound_settings):
    inbound_settings["ORDER_LOCATIONS"] = "base:WEBUS, nz_store:WEBNZ, europe:WEBEU"


def stock(inbound) -> dict[tuple[str, str], int]:
    with inbound.pos.engine.connect() as connection:
        rows = connection.execute(select(m.Stock.sku, m.Stock.location_code, m.Stock.on_hand)).all()
    return {(sku, location): int(on_hand) for sku, location, on_hand in rows}


def sale_location(inbound, order_id: int) -> str:
    with inbound.pos.engine.connect() as connection:
        return connection.scalar(select(m.Sale.location_code).where(m.Sale.magento_order_id == order_id))


def test_each_store_writes_its_orders_at_its_location(several_websites, inbound, caplog):
    inbound.magento.seed(**STORES)
    inbound.add_product("CAP-1", on_hand=10)  # at WEB, POS_LOCATION_CODE
    add_rows(
        inbound.pos.engine,
        m.Stock(sku="CAP-1", location_code="WEBUS", on_hand=5),
        m.Stock(sku="CAP-1", location_code="WEBNZ", on_hand=5),
    )
    for order_id, store_id in ((1001, 1), (1002, 2), (1003, 3), (1004, 4), (1005, 2)):
        inbound.seed_order(order_id, CAP, store_id=store_id)
        inbound.deliver("order", order_id)
    inbound.magento.requests(clear=True)
    with caplog.at_level(logging.WARNING, logger="syncapi.inbound.locations"):
        inbound.work()

    assert {n: sale_location(inbound, n) for n in range(1001, 1006)} == {
        1001: "WEBUS",  # website base
        1002: "WEBNZ",  # store view nz_store
        1003: "WEB",  # au_store, website oceania: neither mapped
        1004: "WEBEU",  # website europe
        1005: "WEBNZ",
    }
    assert stock(inbound) == {
        ("CAP-1", "WEB"): 9,
        ("CAP-1", "WEBUS"): 4,
        ("CAP-1", "WEBNZ"): 3,
        ("CAP-1", "WEBEU"): -1,  # nothing counted in there yet: negative, as at a till
    }
    unmapped = [r for r in caplog.records if r.getMessage() == "order from a store with no ORDER_LOCATIONS entry"]
    assert [(r.magento_id, r.store_code, r.website_code, r.location) for r in unmapped] == [
        (1003, "au_store", "oceania", "WEB")
    ]
    # The store views and websites were read once for the five orders.
    reads = [r["route"] for r in inbound.magento.requests() if r["route"].startswith("/V1/store/")]
    assert sorted(reads) == ["/V1/store/storeViews", "/V1/store/websites"]
    # Delivered again: written once, stock taken once.
    inbound.deliver("order", 1002)
    inbound.work()
    assert stock(inbound)[("CAP-1", "WEBNZ")] == 3


def test_a_store_view_added_after_start_is_read_when_an_order_names_it(several_websites, inbound):
    inbound.add_product("CAP-1", on_hand=10)
    inbound.seed_order(1011, CAP, store_id=1)
    inbound.deliver("order", 1011)
    inbound.work()
    inbound.magento.seed(**STORES)
    inbound.seed_order(1012, CAP, store_id=2)
    inbound.deliver("order", 1012)
    inbound.work()
    assert (sale_location(inbound, 1011), sale_location(inbound, 1012)) == ("WEBUS", "WEBNZ")


def test_without_order_locations_every_order_goes_to_pos_location_code_and_no_store_is_read(inbound):
    inbound.magento.seed(**STORES)
    inbound.add_product("CAP-1", on_hand=10)
    inbound.seed_order(1021, CAP, store_id=2)
    inbound.deliver("order", 1021)
    inbound.magento.requests(clear=True)
    inbound.work()
    assert sale_location(inbound, 1021) == "WEB"
    assert stock(inbound) == {("CAP-1", "WEB"): 9}
    assert not [r for r in inbound.magento.requests() if r["route"].startswith("/V1/store/")]


def test_a_store_list_magento_refuses_fails_the_order_for_good_and_writes_nothing(several_websites, inbound):
    inbound.add_product("CAP-1", on_hand=10)
    inbound.magento.configure(denied_resources=["Magento_Backend::store"])
    inbound.seed_order(1031, CAP)
    inbound.deliver("order", 1031)
    inbound.work()
    link = inbound.link("order", 1031)
    assert link["status"] == "failed"
    assert "Magento did not give its store views, which pick the POS location" in link["error"]
    assert inbound.pos.find_sale(1031) is None
    assert stock(inbound) == {("CAP-1", "WEB"): 10}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("base=WEB", "expected code:LOCATION pairs separated by commas, e.g. base:WEB,nz_store:WEBNZ; got 'base=WEB'"),
        ("base:", "expected code:LOCATION pairs"),
        (":WEB", "expected code:LOCATION pairs"),
        ("base:WEB:X", "expected code:LOCATION pairs"),
        ("nz store:WEBNZ", "'nz store' is not a Magento website or store code"),
        ("base:WEB US", "'WEB US' is not a POS location code"),
        ("base:" + "W" * 33, "is not a POS location code (at most 32 characters"),
        ("base:WEB,base:WEB2", "'base' is given twice"),
    ],
)
def test_a_malformed_order_locations_is_refused_with_one_line(value, message):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(environ={}, overrides={"ORDER_LOCATIONS": value})
    text = str(refused.value)
    assert text.startswith("setting ORDER_LOCATIONS is invalid: ") and message in text
    assert "\n" not in text


def test_order_locations_reads_pairs_and_empty_means_none(tmp_path):
    parsed = Settings.from_env(
        environ={}, overrides=base_settings(tmp_path, ORDER_LOCATIONS=" base:WEB , nz_store:WEBNZ ,")
    )
    assert parsed.order_locations == (("base", "WEB"), ("nz_store", "WEBNZ"))
    assert Settings.from_env(environ={}, overrides=base_settings(tmp_path, ORDER_LOCATIONS="")).order_locations == ()
