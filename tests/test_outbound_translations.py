"""Store-view translations: sent at the store code with only the translated fields and the view's URL key, the
global values left alone, unknown store codes reported once, unchanged translations not sent again."""

from __future__ import annotations

from sqlalchemy import update

from syncapi.magento.errors import MagentoPermanentError
from syncapi.pos import models as m
from tests.fixtures_pos import add_product, add_rows


def translation(sku: str, store: str, name: str | None, description: str | None = None) -> m.ProductTranslation:
    return m.ProductTranslation(sku=sku, store_code=store, name=name, description=description)


def store_writes(outbound, store: str) -> list[dict]:
    return [e for e in outbound.writes() if e.get("store") == store]


def test_translations_become_store_view_values_and_the_global_ones_stay(outbound, magento):
    magento.configure(url_key_from_store_name=True)
    magento.add_store_view("fr", "Français")
    add_product(outbound.engine, "SHIRT-1", name="Blue shirt", description="Cotton")
    add_product(outbound.engine, "SHIRT-2", name="Red shirt")
    add_rows(
        outbound.engine,
        translation("SHIRT-1", "fr", "Chemise bleue", "Coton"),
        translation("SHIRT-2", "fr", "Chemise rouge"),
        translation("SHIRT-2", "de", "Rotes Hemd"),
    )
    run = outbound.push("products")
    assert run.status == "partial" and run.counts["failed"] == 0 and run.counts["created"] == 2, run.errors
    [error] = run.errors
    assert error.key == "de" and "store view 'de' is not in Magento" in error.message, "reported once, not failed"

    shirt = magento.product("SHIRT-1")["values"]
    assert shirt["all"]["name"] == "Blue shirt" and shirt["all"]["short_description"] == "Cotton"
    assert shirt["fr"] == {
        "name": "Chemise bleue",
        "url_key": "chemise-bleue-shirt-1",
        "short_description": "Coton",
    }, "only the translated fields and the view's URL key became the view's own values"
    assert magento.product("SHIRT-2")["values"]["fr"]["url_key"] == "chemise-rouge-shirt-2"
    [bulk] = [e for e in store_writes(outbound, "fr") if e["template"] == "/V1/products"]
    assert bulk["path"].startswith("/rest/fr/async/bulk/"), "the store-scoped async bulk route"
    assert sorted(item["product"]["sku"] for item in bulk["body"]) == ["SHIRT-1", "SHIRT-2"]

    outbound.writes(clear=True)
    run = outbound.push("products")
    assert run.counts["updated"] == 0
    assert outbound.writes() == [], "unchanged translations are not sent again"
    assert len(run.errors) == 1, "the unknown store code is reported again, once"

    # A translation edited on its own (the product row untouched) is found by its content.
    with outbound.engine.begin() as connection:
        connection.execute(
            update(m.ProductTranslation)
            .where(m.ProductTranslation.sku == "SHIRT-2", m.ProductTranslation.store_code == "fr")
            .values(name="Chemise écarlate", updated_at=m.ProductTranslation.updated_at)
        )
    run = outbound.push("products")
    assert run.counts["updated"] == 1
    values = magento.product("SHIRT-2")["values"]
    assert values["fr"]["name"] == "Chemise écarlate" and values["fr"]["url_key"] == "chemise-ecarlate-shirt-2"
    assert values["all"]["name"] == "Red shirt"
    sent = [e for e in store_writes(outbound, "fr") if e["template"] == "/V1/products"]
    assert [item["product"]["sku"] for e in sent for item in e["body"]] == ["SHIRT-2"]


def test_a_store_view_name_without_a_url_key_collides_as_in_magento(magento, outbound):
    """Why every translated name is sent with the view's URL key (magento2 #40055)."""
    magento.configure(url_key_from_store_name=True)
    magento.add_store_view("fr")
    add_product(outbound.engine, "CAP-1", name="Casquette")
    add_product(outbound.engine, "CAP-2", name="Cap")
    outbound.push("products")
    client = outbound.svc.magento
    client.put("/V1/products/CAP-1", {"product": {"sku": "CAP-1", "name": "Chapeau"}}, store="fr")
    try:
        client.put("/V1/products/CAP-2", {"product": {"sku": "CAP-2", "name": "Chapeau"}}, store="fr")
    except MagentoPermanentError as exc:
        assert "URL key for specified store already exists" in exc.message
    else:
        raise AssertionError("Magento refuses the second generated URL key")
    add_rows(outbound.engine, translation("CAP-2", "fr", "Chapeau"))
    run = outbound.push("products")
    assert run.status == "succeeded", run.errors
    assert magento.product("CAP-2")["values"]["fr"]["url_key"] == "chapeau-cap-2"
