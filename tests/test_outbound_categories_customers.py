"""The category and customer pushes: the POS tree in Magento with its ids stored back; customers created,
linked by email, and updated by merging, so what only Magento holds is never erased."""

from __future__ import annotations

from alembic import command
from sqlalchemy import update
from sqlalchemy.orm import Session

from sandbox import seed as sandbox_seed
from syncapi.magento import customers as magento_customers
from syncapi.magento.client import client_for
from syncapi.outbound import mapping
from syncapi.outbound.delta import HASH_CATEGORIES, hash_of
from syncapi.pos import models as m
from syncapi.pos.gateway import CategoryIn, iter_batches
from syncapi.state import get_hashes, get_link, put_hashes
from syncapi.state.migrate import alembic_config, current_revision, head_revision, upgrade
from tests.fixtures_magento import FAST_RETRIES
from tests.fixtures_pos import add_rows


def change(engine, model, where, **values) -> None:
    with Session(engine) as session:
        session.execute(update(model).where(where).values(updated_at=m.utcnow(), **values))
        session.commit()


def pos_categories(harness) -> dict[int, object]:
    return {c.id: c for batch in iter_batches(harness.pos.changed_categories) for c in batch.items}


def test_the_category_tree_is_created_parents_first_and_ids_stored_back(outbound, magento):
    outbound.seed_demo()
    run = outbound.push("categories")
    assert run.status == "succeeded" and run.counts["created"] == 12
    pos = pos_categories(outbound)
    stored = {int(k): v for k, v in magento.state("categories").items()}
    for category in pos.values():
        assert category.magento_id is not None
        saved = stored[category.magento_id]
        assert saved["values"]["all"]["name"] == category.name
        expected_parent = (
            sandbox_seed.DEFAULT_CATEGORY_ID if category.parent_id is None else pos[category.parent_id].magento_id
        )
        assert saved["parent_id"] == expected_parent
    assert len({c.magento_id for c in pos.values()}) == 12, "Knitwear under Women and under Men stay two"
    for category in pos.values():
        link = get_link(outbound.svc.state_engine, "category", category.magento_id)
        assert (link.status, link.pos_id) == ("synced", str(category.id))

    outbound.writes(clear=True)
    assert outbound.push("categories", full=True).counts["unchanged"] == 12
    assert outbound.writes(clear=True) == []

    tops = next(c for c in pos.values() if c.name == "Tops")
    change(outbound.engine, m.Category, m.Category.id == tops.id, name="Tops & Tees")
    add_rows(outbound.engine, m.Category(name="Belts", parent_id=tops.parent_id))
    run = outbound.push("categories")
    assert (run.counts["created"], run.counts["updated"]) == (1, 1)
    writes = outbound.writes(clear=True)
    assert sorted((e["method"], e["template"]) for e in writes) == [
        ("POST", "/V1/categories"),
        ("PUT", "/V1/categories/{id}"),
    ]
    assert magento.state("categories")[str(tops.magento_id)]["values"]["all"]["name"] == "Tops & Tees"
    belts = next(c for c in pos_categories(outbound).values() if c.name == "Belts")
    assert magento.state("categories")[str(belts.magento_id)]["parent_id"] == pos[tops.parent_id].magento_id


def test_category_hashes_kept_before_revision_0003_cost_nothing_after_the_upgrade(outbound, magento):
    """Before state revision 0003 a category's hash row also held its Magento id; the upgrade folds the id into
    the hash, so the id lives in the POS alone and the first push after the upgrade reads and writes nothing."""
    outbound.seed_demo()
    assert outbound.push("categories").counts["created"] == 12
    pos = pos_categories(outbound)
    engine = outbound.svc.state_engine
    stored = get_hashes(engine, HASH_CATEGORIES, [str(pos_id) for pos_id in pos])
    assert len(stored) == 12 and all(magento_id is None for _hash, magento_id in stored.values())

    def parent_magento_id(category) -> int:
        return sandbox_seed.DEFAULT_CATEGORY_ID if category.parent_id is None else pos[category.parent_id].magento_id

    old_rows = {
        str(c.id): (hash_of(mapping.category_hash_input(c.name, parent_magento_id(c))), c.magento_id)
        for c in pos.values()
    }
    with engine.connect() as connection:
        command.downgrade(alembic_config(connection), "0002")
        connection.commit()
    assert current_revision(engine) == "0002"
    put_hashes(engine, HASH_CATEGORIES, old_rows)  # as revision 0002 kept them
    assert upgrade(engine) == head_revision()

    assert get_hashes(engine, HASH_CATEGORIES, list(old_rows)) == stored
    magento.requests(clear=True)
    assert outbound.push("categories", full=True).counts["unchanged"] == 12
    requests = magento.requests(clear=True)
    # Only the store's root category is read (once a run); no category is read again or written.
    assert [(e["method"], e["template"]) for e in requests if "categories" in e["template"]] == [
        ("GET", "/V1/categories")
    ]


def test_a_category_that_came_from_magento_costs_no_write(outbound, magento):
    saved = magento.seed(categories=[{"name": "Sale", "parent_id": sandbox_seed.DEFAULT_CATEGORY_ID}])
    outbound.pos.ensure_category(CategoryIn(magento_id=saved["categories"][0], name="Sale"))
    run = outbound.push("categories")
    assert run.status == "succeeded" and run.counts["unchanged"] == 1
    assert outbound.writes() == []


def test_customers_are_created_linked_and_merged_never_erasing_magento_fields(outbound, magento, magento_settings):
    outbound.seed_demo()
    # Grace registered on the web store before the POS pushed her.
    web = magento.seed(customers=[{"email": "grace.hopper@example.com", "firstname": "Grace", "lastname": "H"}])
    run = outbound.push("customers")
    assert run.status == "succeeded"
    assert (run.counts["created"], run.counts["updated"]) == (4, 1)
    customers = {c.email: c for c in outbound.pos.get_customers(range(1, 10))}
    assert customers["grace.hopper@example.com"].magento_id == web["customers"][0], "linked by email"
    stored = {c["email"]: c for c in magento.state("customers")}
    assert len(stored) == 5
    for email, customer in customers.items():
        assert stored[email]["id"] == customer.magento_id
        assert (stored[email]["firstname"], stored[email]["lastname"]) == (customer.first_name, customer.last_name)
    assert stored["grace.hopper@example.com"]["lastname"] == "Hopper"
    for customer in customers.values():
        link = get_link(outbound.svc.state_engine, "customer", customer.magento_id)
        assert (link.status, link.pos_id) == ("synced", str(customer.id))

    # A merchandiser gives Ada an address and a customer group in Magento.
    ada = customers["ada.lovelace@example.com"]
    client = client_for(magento_settings, **FAST_RETRIES)
    record = magento_customers.get(client, ada.magento_id)
    address = {
        "firstname": "Ada",
        "lastname": "Lovelace",
        "street": ["12 St James's Square"],
        "city": "London",
        "postcode": "SW1Y 4JH",
        "country_id": "GB",
        "telephone": "000",
        "default_billing": True,
    }
    record = {k: v for k, v in record.items() if k not in ("created_at", "updated_at", "created_in")}
    magento_customers.update(client, ada.magento_id, {**record, "group_id": 3, "addresses": [address]})
    client.close()
    outbound.writes(clear=True)
    assert outbound.push("customers").counts["updated"] == 0
    assert outbound.writes(clear=True) == [], "nothing the POS owns changed"

    change(outbound.engine, m.Customer, m.Customer.id == ada.id, last_name="King", phone="+44 20 7946 0999")
    run = outbound.push("customers")
    assert run.counts["updated"] == 1
    after = magento_customers_by_id(magento)[ada.magento_id]
    assert after["lastname"] == "King"
    assert after["group_id"] == 3, "Magento's own fields stay"
    assert [a["city"] for a in after["addresses"]] == ["London"]
    assert after["addresses"][0]["telephone"] == "+44 20 7946 0999"
    writes = outbound.writes(clear=True)
    assert [(e["method"], e["template"]) for e in writes] == [("PUT", "/V1/customers/{customerId}")]


def magento_customers_by_id(magento) -> dict[int, dict]:
    return {c["id"]: c for c in magento.state("customers")}
