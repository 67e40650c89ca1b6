"""The demo a fresh `make run` shows: the sandbox's demo sales are sold from the POS demo shop."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.seed import demo_sales
from syncapi.pos import models as m
from syncapi.pos.seed import seed_demo


def test_demo_sales_use_the_pos_demo_skus_prices_and_customers(pos_engine):
    seed_demo(pos_engine, "WEB")
    sales = demo_sales()
    with Session(pos_engine) as session:
        prices = dict(session.execute(select(m.Product.sku, m.Product.retail_price)).all())
        parents = dict(session.execute(select(m.Product.sku, m.Product.parent_sku)).all())
        emails = set(session.scalars(select(m.Customer.email)))
    sold = [item for order in sales["orders"] for item in order["items"] if item["product_type"] == "simple"]
    assert len(sold) == 4
    for item in sold:
        assert item["sku"] in prices, item["sku"]
    priced = [item for order in sales["orders"] for item in order["items"] if not item.get("parent_item_id")]
    for item in priced:
        assert Decimal(str(item["price"])) == prices[item["sku"]], item["sku"]
    variant = next(
        i for i in sales["orders"][0]["items"] if i["sku"] == "TEE-CLASSIC-BLACK-M" and i.get("parent_item_id")
    )
    assert parents[variant["sku"]] == "TEE-CLASSIC"
    assert {c["email"] for c in sales["customers"]} <= emails
    for document in sales["invoices"] + sales["creditmemos"]:
        assert {line["sku"] for line in document["items"]} <= set(prices)
