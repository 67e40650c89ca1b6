"""Tier prices from the POS's price levels: replaced per SKU, groups matched by code without case, unknown groups
reported and never created, levels the POS drops removed, nothing sent twice."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, update

from syncapi.pos import models as m
from tests.fixtures_pos import add_product, add_rows

TIER_TEMPLATES = ("/V1/products/tier-prices", "/V1/products/tier-prices-delete")


def level(sku: str, group: str, qty: str, price: str) -> m.PriceLevel:
    return m.PriceLevel(sku=sku, customer_group=group, min_qty=Decimal(qty), price=Decimal(price))


def tiers(magento, sku: str) -> list[tuple]:
    found = [e for e in magento.state("tier_prices") if e["sku"] == sku]
    return sorted((e["customer_group"], e["quantity"], e["price"], e["website_id"], e["price_type"]) for e in found)


def tier_writes(outbound) -> list[dict]:
    return [e for e in outbound.writes(clear=True) if e["template"] in TIER_TEMPLATES]


def test_price_levels_become_tier_prices_with_magentos_group_codes(outbound, magento):
    add_product(outbound.engine, "TIER-1", price="20.00")
    add_product(outbound.engine, "TIER-2", price="30.00")
    add_rows(
        outbound.engine,
        level("TIER-1", "ALL GROUPS", "10", "18.00"),
        level("TIER-1", "wholesale", "1", "15.50"),
        level("TIER-2", "General", "5", "27.00"),
    )
    run = outbound.push("products")
    assert run.status == "succeeded"
    assert tiers(magento, "TIER-1") == [("Wholesale", 1, 15.5, 0, "fixed"), ("all groups", 10, 18, 0, "fixed")]
    assert tiers(magento, "TIER-2") == [("General", 5, 27, 0, "fixed")]
    sent = [e for e in outbound.writes(clear=True) if e["template"] == "/V1/products/tier-prices"]
    assert [e["method"] for e in sent] == ["PUT"], "one replace call for the batch"
    assert {row["customer_group"] for row in sent[0]["body"]["prices"]} == {"ALL GROUPS", "Wholesale", "General"}

    run = outbound.push("prices")
    assert run.counts["updated"] == 0
    assert tier_writes(outbound) == [], "unchanged levels are not sent again"


def test_a_level_change_alone_is_found_by_content_and_dropped_levels_go(outbound, magento):
    add_product(outbound.engine, "TIER-3")
    add_product(outbound.engine, "TIER-4")
    add_rows(
        outbound.engine,
        level("TIER-3", "General", "2", "9.00"),
        level("TIER-3", "General", "5", "8.00"),
        level("TIER-4", "Retailer", "3", "7.00"),
    )
    outbound.push("products")
    outbound.writes(clear=True)
    with outbound.engine.begin() as connection:
        # Edited without touching the product row, and with an old timestamp: content decides, not time.
        connection.execute(
            update(m.PriceLevel)
            .where(m.PriceLevel.sku == "TIER-3", m.PriceLevel.min_qty == 5)
            .values(price=Decimal("7.50"), updated_at=m.PriceLevel.updated_at)
        )
        connection.execute(delete(m.PriceLevel).where(m.PriceLevel.sku == "TIER-4"))
    run = outbound.push("prices")
    assert run.status == "succeeded" and run.counts["updated"] == 2
    assert tiers(magento, "TIER-3") == [("General", 2, 9, 0, "fixed"), ("General", 5, 7.5, 0, "fixed")]
    assert tiers(magento, "TIER-4") == [], "the levels the POS dropped are removed"
    writes = tier_writes(outbound)
    assert [(e["method"], e["template"]) for e in writes] == [
        ("PUT", "/V1/products/tier-prices"),
        ("POST", "/V1/products/tier-prices-delete"),
    ]
    assert [row["sku"] for row in writes[0]["body"]["prices"]] == ["TIER-3", "TIER-3"], "a SKU's levels together"
    assert outbound.push("prices").counts["updated"] == 0
    assert tier_writes(outbound) == []


def test_an_unknown_group_is_reported_never_created_and_the_others_go_on(outbound, magento):
    add_product(outbound.engine, "TIER-5")
    add_product(outbound.engine, "TIER-6")
    add_rows(
        outbound.engine,
        level("TIER-5", "TRADE", "1", "6.00"),
        level("TIER-5", "General", "1", "9.00"),
        level("TIER-6", "General", "2", "9.00"),
    )
    run = outbound.push("products")
    assert any(e.key == "TIER-5" and "customer group 'TRADE' is not in Magento" in e.message for e in run.errors), (
        run.errors
    )
    assert tiers(magento, "TIER-5") == [], "none of the SKU's levels is sent"
    assert tiers(magento, "TIER-6") == [("General", 2, 9, 0, "fixed")]
    assert {g["code"] for g in magento.state("customer_groups")} == {
        "NOT LOGGED IN",
        "General",
        "Wholesale",
        "Retailer",
    }, "never created"

    run = outbound.push("prices")
    assert run.status == "partial" and run.counts["failed"] == 1
    magento.add_customer_group("Trade")
    run = outbound.push("prices")
    assert run.status == "succeeded"
    assert tiers(magento, "TIER-5") == [("General", 1, 9, 0, "fixed"), ("Trade", 1, 6, 0, "fixed")]


def test_magentos_per_row_refusals_fail_only_their_sku(outbound, magento):
    add_product(outbound.engine, "TIER-7")
    add_product(outbound.engine, "TIER-8")
    add_rows(
        outbound.engine,
        level("TIER-7", "General", "0", "9.00"),  # Magento refuses a quantity of 0
        level("TIER-8", "General", "2", "9.00"),
    )
    run = outbound.push("products")
    failures = [e for e in run.errors if e.key == "TIER-7"]
    assert failures and "Quantity" in failures[0].message, run.errors
    assert tiers(magento, "TIER-8") == [("General", 2, 9, 0, "fixed")]
    run = outbound.push("prices")
    assert run.counts["failed"] == 1, "sent again: nothing was stored for it"
