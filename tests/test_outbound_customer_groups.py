"""A POS customer's group code is pushed as the Magento customer's `group_id`; an unknown code is reported."""

from __future__ import annotations

from syncapi.pos import models as m
from tests.fixtures_pos import add_rows
from tests.test_outbound_prices_stock import change


def by_email(magento) -> dict[str, dict]:
    return {c["email"]: c for c in magento.state("customers")}


def test_group_codes_become_group_ids_and_an_unknown_code_is_reported(outbound, magento):
    add_rows(
        outbound.engine,
        m.Customer(email="trade@example.com", first_name="Tina", last_name="Trade", customer_group="wholesale"),
        m.Customer(email="plain@example.com", first_name="Paul", last_name="Plain"),
        m.Customer(email="odd@example.com", first_name="Olga", last_name="Odd", customer_group="TRADE"),
    )
    run = outbound.push("customers")
    assert run.status == "partial" and run.counts["created"] == 2 and run.counts["failed"] == 1
    [error] = run.errors
    assert "customer group 'TRADE' is not in Magento" in error.message
    stored = by_email(magento)
    assert stored["trade@example.com"]["group_id"] == 2, "Wholesale, matched without case"
    assert stored["plain@example.com"]["group_id"] == 1, "no code: Magento's default group"
    assert "odd@example.com" not in stored, "nothing written for the customer with an unknown group"
    assert len(magento.state("customer_groups")) == 4, "groups are never created"

    magento.add_customer_group("Trade")
    outbound.writes(clear=True)
    run = outbound.push("customers")
    assert run.status == "succeeded" and run.counts["created"] == 1
    assert by_email(magento)["odd@example.com"]["group_id"] == 4

    with outbound.engine.connect() as connection:
        tina = connection.scalar(
            m.Customer.__table__.select()
            .with_only_columns(m.Customer.id)
            .where(m.Customer.email == "trade@example.com")
        )
    change(outbound.engine, m.Customer, m.Customer.id == tina, customer_group="Retailer")
    outbound.writes(clear=True)
    run = outbound.push("customers")
    assert run.counts["updated"] == 1
    assert by_email(magento)["trade@example.com"]["group_id"] == 3
    outbound.writes(clear=True)
    assert outbound.push("customers").counts["updated"] == 0
    assert outbound.writes() == [], "an unchanged group is not sent again"
