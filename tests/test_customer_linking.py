"""The first customer sync with customers already on both sides: the push (POS → Magento) and the import
(Magento → POS) link them by email, in any case as Magento matches emails, and duplicate no one; over HTTP
against the sandbox, real Redis, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from syncapi.pos import models as m
from syncapi.pos.gateway import CustomerIn
from tests.fixtures_pos import add_rows

pytestmark = pytest.mark.usefixtures("magento")


def magento_customers(inbound) -> dict[str, dict]:
    return {c["email"].lower(): c for c in inbound.magento.state("customers")}


def seed_both_sides(inbound) -> dict[str, int]:
    """Ada typed at a till in her own case, Grace on the web only, Linus on both, Ken in the POS only."""
    add_rows(
        inbound.pos.engine,
        m.Customer(email="Ada.Lovelace@Example.COM", first_name="Ada", last_name="Lovelace"),
        m.Customer(email="linus@example.com", first_name="Linus", last_name="T"),
        m.Customer(email="ken@example.com", first_name="Ken", last_name="Thompson"),
    )
    ids = inbound.magento.seed(
        customers=[
            {"email": "ada.lovelace@example.com", "firstname": "Ada", "lastname": "Lovelace"},
            {"email": "grace@example.com", "firstname": "Grace", "lastname": "Hopper"},
            {"email": "Linus@Example.com", "firstname": "Linus", "lastname": "T"},
        ]
    )["customers"]
    return dict(zip(("ada", "grace", "linus"), ids, strict=True))


def pos_magento_ids(inbound) -> dict[str, int | None]:
    return {email.lower(): magento_id for email, _first, _last, magento_id in inbound.customers()}


def test_the_first_push_links_magento_customers_by_email_in_any_case(inbound):
    web = seed_both_sides(inbound)
    result = inbound.app.test_cli_runner().invoke(args=["sync", "customers", "--full"])
    assert result.exit_code == 0, result.output
    assert "1 created, 2 updated" in result.stdout  # Ken created; Ada and Linus linked

    stored = magento_customers(inbound)
    assert len(inbound.magento.state("customers")) == 4, "nobody duplicated in Magento"
    assert pos_magento_ids(inbound) == {
        "ada.lovelace@example.com": web["ada"],
        "linus@example.com": web["linus"],
        "ken@example.com": stored["ken@example.com"]["id"],
    }
    assert inbound.count(m.Customer) == 3


def test_the_first_import_links_pos_customers_by_email_in_any_case(inbound):
    web = seed_both_sides(inbound)
    for number in web.values():
        assert inbound.deliver("customer", number).status_code == 202
    inbound.deliver("customer", web["ada"])  # again: still once
    inbound.work()

    assert inbound.count(m.Customer) == 4, "Ada and Linus linked, only Grace created"
    assert pos_magento_ids(inbound) == {
        "ada.lovelace@example.com": web["ada"],
        "linus@example.com": web["linus"],
        "ken@example.com": None,
        "grace@example.com": web["grace"],
    }
    assert {n: inbound.link("customer", n)["status"] for n in web.values()} == dict.fromkeys(web.values(), "synced")
    # The till's spelling stays as the POS wrote it.
    assert "Ada.Lovelace@Example.COM" in {email for email, *_ in inbound.customers()}


def test_push_then_import_then_push_again_keeps_one_customer_per_email_on_each_side(inbound):
    web = seed_both_sides(inbound)
    runner = inbound.app.test_cli_runner()
    assert runner.invoke(args=["sync", "customers", "--full"]).exit_code == 0
    assert runner.invoke(args=["sync", "sales", "--full"]).exit_code == 0  # the poll queues the customer imports
    inbound.work()
    assert runner.invoke(args=["sync", "customers", "--full"]).exit_code == 0

    assert inbound.count(m.Customer) == 4
    assert len(inbound.magento.state("customers")) == 4
    linked = pos_magento_ids(inbound)
    assert linked["grace@example.com"] == web["grace"]
    assert sorted(linked.values()) == sorted(c["id"] for c in inbound.magento.state("customers"))


def test_a_sale_whose_buyer_the_till_typed_in_another_case_uses_that_customer(inbound):
    add_rows(inbound.pos.engine, m.Customer(email="Guest.Buyer@Example.com", first_name="G", last_name="B"))
    inbound.add_product("CAP-1")
    inbound.seed_order(
        901, [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}], guest_email="guest.buyer@example.com"
    )
    inbound.deliver("order", 901)
    inbound.work()
    assert inbound.count(m.Customer) == 1
    assert inbound.pos.find_sale(901).customer_id == inbound.pos.find_customer(email="GUEST.BUYER@example.com").id


def test_an_import_refuses_an_email_linked_to_another_magento_customer_and_changes_nothing(inbound):
    inbound.pos.ensure_customer(CustomerIn(email="dup@example.com", first_name="D", last_name="U", magento_id=5001))
    number = inbound.magento.seed(customers=[{"email": "Dup@Example.com", "firstname": "D", "lastname": "U"}])
    number = number["customers"][0]
    inbound.deliver("customer", number)
    inbound.work()
    link = inbound.link("customer", number)
    assert link["status"] == "failed"
    assert "is linked to Magento customer 5001" in link["error"]
    assert pos_magento_ids(inbound) == {"dup@example.com": 5001}
