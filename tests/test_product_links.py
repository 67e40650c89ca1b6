"""Product pushes record where each Magento product came from in the POS, so
`GET /api/v1/links/product/<magento_id>` answers for products as it does for the other entities."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from syncapi.pos import models as m
from syncapi.state import LINK_PENDING, LINK_SYNCED, get_link, record_link, record_links
from tests.conftest import TEST_API_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}


def product_ids(magento) -> dict[str, str]:
    """SKU -> Magento product id, as the sandbox holds them."""
    return {sku: str(product["id"]) for sku, product in magento.state("products").items()}


@pytest.mark.parametrize("use_bulk", ["true", "false"])
def test_pushed_products_answer_on_the_links_endpoint(outbound, magento, use_bulk):
    outbound.start(MAGENTO_USE_BULK=use_bulk)
    outbound.seed_demo()
    assert outbound.push("products").status == "succeeded"
    ids = product_ids(magento)
    client = outbound.app.test_client()

    for sku in ("BAG-LEATHER-TOTE", "TEE-CLASSIC", "TEE-CLASSIC-BLACK-L"):
        answer = client.get(f"/api/v1/links/product/{ids[sku]}", headers=AUTH)
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        assert (body["entity"], body["magento_id"], body["pos_id"]) == ("product", ids[sku], sku)
        assert body["status"] == LINK_SYNCED and body["synced_at"] and body["error"] is None
    linked = [sku for sku, magento_id in ids.items() if get_link(outbound.svc.state_engine, "product", magento_id)]
    assert sorted(linked) == sorted(ids), "every product in Magento came from the POS and has its link"


def test_a_refused_save_of_a_known_product_marks_its_link_failed(outbound, magento):
    outbound.start(MAGENTO_USE_BULK="false")
    outbound.seed_demo()
    outbound.push("products")
    magento_id = product_ids(magento)["BAG-LEATHER-TOTE"]
    with outbound.engine.begin() as connection:
        connection.execute(update(m.Product).where(m.Product.sku == "BAG-LEATHER-TOTE").values(name="Renamed tote"))
    magento.add_fault(path_prefix="/V1/products/BAG-LEATHER-TOTE", methods=["PUT"], status_codes=[400], error_rate=1.0)
    run = outbound.push("products")
    assert run.status == "partial" and [e.key for e in run.errors] == ["BAG-LEATHER-TOTE"]
    link = get_link(outbound.svc.state_engine, "product", magento_id)
    assert (link.status, link.pos_id) == ("failed", "BAG-LEATHER-TOTE") and link.error == run.errors[0].message
    assert link.synced_at is not None, "the earlier successful push is still known"

    magento.clear_faults()
    assert outbound.push("products").status == "succeeded"
    link = get_link(outbound.svc.state_engine, "product", magento_id)
    assert (link.status, link.error, link.attempts) == (LINK_SYNCED, None, 3)


def test_record_links_validates_everything_before_writing(outbound):
    engine = outbound.svc.state_engine
    record_link(engine, "product", "7", LINK_PENDING, pos_id="A")
    with pytest.raises(ValueError):
        record_links(engine, "product", [("7", LINK_SYNCED, "A", None), ("8", "bogus", "B", None)])
    assert get_link(engine, "product", "7").status == LINK_PENDING
    assert get_link(engine, "product", "8") is None
    assert record_links(engine, "product", [("7", LINK_SYNCED, None, None), ("7", LINK_SYNCED, None, None)]) == 1
    link = get_link(engine, "product", "7")
    assert (link.status, link.pos_id, link.attempts) == (LINK_SYNCED, "A", 2)
