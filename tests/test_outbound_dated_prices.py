"""Dated sale prices: special prices with their first and last day, in the store's time zone; an ended sale is
not sent and is removed from Magento."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from syncapi.config import Settings, SettingsError
from syncapi.outbound.prices import store_today
from syncapi.pos import models as m
from tests.fixtures_pos import add_product
from tests.test_outbound_prices_stock import change


def specials(magento, sku: str) -> list[dict]:
    return [entry for entry in magento.state("special_prices") if entry["sku"] == sku]


def test_a_dated_sale_is_sent_with_its_days_inclusive_and_replaced_when_the_dates_move(outbound, magento):
    today = store_today("UTC")
    first, last = today + timedelta(days=3), today + timedelta(days=5)
    add_product(outbound.engine, "PROMO-1", sale_price=Decimal("7.50"), sale_price_from=first, sale_price_to=last)
    add_product(outbound.engine, "OPEN-1", sale_price=Decimal("6.00"))
    outbound.push("products")
    assert specials(magento, "PROMO-1") == [
        {
            "sku": "PROMO-1",
            "store_id": 0,
            "price": 7.5,
            "price_from": f"{first.isoformat()} 00:00:00",
            "price_to": f"{last.isoformat()} 23:59:59",
        }
    ]
    assert specials(magento, "OPEN-1")[0]["price_from"] == "2000-01-01 00:00:00"
    assert specials(magento, "OPEN-1")[0].get("price_to") is None, "no last day: open-ended"
    outbound.writes(clear=True)
    assert outbound.push("prices").counts["updated"] == 0
    assert outbound.writes() == [], "nothing sent twice"

    later = last + timedelta(days=7)
    change(outbound.engine, m.Product, m.Product.sku == "PROMO-1", sale_price_to=later)
    run = outbound.push("prices")
    assert run.status == "succeeded" and run.counts["updated"] == 1
    assert [(e["price_from"], e["price_to"]) for e in specials(magento, "PROMO-1")] == [
        (f"{first.isoformat()} 00:00:00", f"{later.isoformat()} 23:59:59")
    ]
    writes = outbound.writes(clear=True)
    assert [e["template"] for e in writes] == [
        "/V1/products/base-prices",
        "/V1/products/special-price-delete",
        "/V1/products/special-price",
    ], "the entry with the old dates goes first (exact price_from, as staging needs), then the new one"
    deleted = writes[1]
    assert deleted["body"]["prices"][0]["price_to"] == f"{last.isoformat()} 23:59:59"


def test_an_ended_sale_is_not_sent_and_is_removed_without_a_pos_change(outbound, magento):
    today = store_today("UTC")
    add_product(
        outbound.engine,
        "OVER-1",
        sale_price=Decimal("5.00"),
        sale_price_from=today - timedelta(days=10),
        sale_price_to=today - timedelta(days=1),
    )
    add_product(outbound.engine, "ENDS-TODAY", sale_price=Decimal("5.00"), sale_price_to=today)
    add_product(outbound.engine, "ENDS-SOON", sale_price=Decimal("5.00"), sale_price_to=today)
    outbound.push("products")
    assert specials(magento, "OVER-1") == [], "an ended sale is not sent"
    assert specials(magento, "ENDS-TODAY")[0]["price_to"] == f"{today.isoformat()} 23:59:59", "the last day counts"
    assert specials(magento, "ENDS-SOON")[0]["price_to"] == f"{today.isoformat()} 23:59:59"
    # Days pass: the sale's last day is behind us, though nothing changed in the POS (its row keeps its time).
    with outbound.engine.begin() as connection:
        row = connection.execute(select(m.Product.updated_at).where(m.Product.sku == "ENDS-SOON")).one()
        connection.execute(
            update(m.Product)
            .where(m.Product.sku == "ENDS-SOON")
            .values(sale_price_to=today - timedelta(days=1), updated_at=row.updated_at)
        )
    outbound.writes(clear=True)
    run = outbound.push("prices")
    assert run.status == "succeeded"
    assert specials(magento, "ENDS-SOON") == [], "the ended sale was removed"
    assert specials(magento, "ENDS-TODAY") != [], "the sale ending today stays"
    assert [e["template"] for e in outbound.writes(clear=True)] == [
        "/V1/products/base-prices",
        "/V1/products/special-price-delete",
    ]
    assert run.counts["updated"] == 1
    again = outbound.push("prices")
    assert again.counts["updated"] == 0 and again.counts["failed"] == 0, "ended sales already removed"
    assert outbound.writes() == []


def test_a_sale_whose_first_day_is_after_its_last_is_refused_and_nothing_is_sent(outbound, magento):
    add_product(
        outbound.engine,
        "BACKWARDS-1",
        sale_price=Decimal("5.00"),
        sale_price_from=date(2030, 5, 2),
        sale_price_to=date(2030, 5, 1),
    )
    run = outbound.push("products")
    assert any("sale_price_from 2030-05-02 is after sale_price_to 2030-05-01" in e.message for e in run.errors)
    assert specials(magento, "BACKWARDS-1") == []
    outbound.writes(clear=True)
    run = outbound.push("prices", keys=["BACKWARDS-1"])
    assert run.counts["failed"] == 1 and "is after" in run.errors[0].message
    assert outbound.writes() == []


def test_the_store_time_zone_decides_the_day(outbound):
    def settings(**values):
        return Settings.from_env({}, outbound.settings(**values))

    assert settings(STORE_TIMEZONE="Pacific/Kiritimati").store_timezone == "Pacific/Kiritimati"
    assert settings().store_timezone == "UTC"
    with pytest.raises(SettingsError, match="STORE_TIMEZONE is invalid: expected an IANA time zone"):
        settings(STORE_TIMEZONE="Mars/Olympus")
    assert store_today("Pacific/Kiritimati") - store_today("Pacific/Niue") == timedelta(days=1)
