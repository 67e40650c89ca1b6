"""Each resource module against the sandbox, with the Magento traps the service must live with."""

from __future__ import annotations

import hashlib

import pytest

from sandbox import seed
from syncapi.magento import (
    attributes,
    categories,
    configurable,
    customers,
    inventory,
    media,
    prices,
    products,
    sales,
    stores,
)
from syncapi.magento.errors import MagentoNotFoundError, MagentoPermanentError
from syncapi.magento.search import SearchCriteria

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(64))
COLOR_BLACK, COLOR_WHITE = "49", "50"
SIZE_S, SIZE_M = "167", "168"


def product(sku: str, name: str | None = None, *, attribute_set_id: int = 4, **custom) -> dict:
    """A simple product with a unique URL key; `custom` become custom attributes."""
    custom.setdefault("url_key", sku.lower())
    return {
        "sku": sku,
        "name": name or f"Product {sku}",
        "price": 20.0,
        "status": 1,
        "visibility": 4,
        "type_id": "simple",
        "attribute_set_id": attribute_set_id,
        "custom_attributes": [{"attribute_code": k, "value": str(v)} for k, v in custom.items()],
    }


def custom_value(saved: dict, code: str):
    return next((a["value"] for a in saved["custom_attributes"] if a["attribute_code"] == code), None)


# --- products -----------------------------------------------------------------------------------------------


def test_product_save_get_update_and_search(magento, magento_client):
    saved = products.save(magento_client, product("P-1", material="cotton", color=COLOR_BLACK))
    assert saved["id"] == 1
    assert custom_value(saved, "material") == "cotton"
    updated = products.update(magento_client, "P-1", {"sku": "P-1", "price": 25.5, "status": products.STATUS_DISABLED})
    assert (updated["price"], updated["status"], updated["name"]) == (25.5, 2, "Product P-1")
    products.save(magento_client, product("P-2"))
    found = products.search(magento_client, SearchCriteria().where("status", 2).page(10))
    assert [p["sku"] for p in found["items"]] == ["P-1"]
    assert found["total_count"] == 1
    assert sorted(p["sku"] for p in products.iterate(magento_client)) == ["P-1", "P-2"]


def test_attributes_outside_the_set_are_not_saved(magento, magento_client):
    saved = products.save(magento_client, product("P-SET", activity="210"))
    assert custom_value(saved, "activity") is None, "activity belongs to the Clothing set only"
    saved = products.save(magento_client, product("P-CLOTH", attribute_set_id=9, activity="210,212"))
    assert custom_value(saved, "activity") == "210,212"


def test_select_values_must_be_option_ids(magento, magento_client):
    with pytest.raises(MagentoPermanentError, match='Invalid value of "Black" provided for the color field'):
        products.save(magento_client, product("P-LABEL", color="Black"))
    assert magento.state("products") == {}


def test_sku_rename_by_put_is_silently_ignored(magento, magento_client):
    products.save(magento_client, product("OLD-SKU"))
    answer = products.update(magento_client, "OLD-SKU", {"sku": "NEW-SKU", "name": "Renamed"})
    assert answer["sku"] == "OLD-SKU"
    assert list(magento.state("products")) == ["OLD-SKU"]
    with pytest.raises(MagentoNotFoundError):
        products.get(magento_client, "NEW-SKU")


def test_same_name_without_url_key_collides(magento, magento_client):
    first = {"sku": "TWIN-1", "name": "Twin", "price": 5.0, "attribute_set_id": 4}
    products.save(magento_client, first)
    with pytest.raises(MagentoPermanentError, match="URL key for specified store already exists"):
        products.save(magento_client, {**first, "sku": "TWIN-2"})
    products.save(magento_client, product("TWIN-2", "Twin"))
    assert sorted(magento.state("products")) == ["TWIN-1", "TWIN-2"]


def test_store_view_writes_are_overrides_and_all_writes_global(magento, magento_client):
    products.save(magento_client, product("SCOPE-1", "Global name"))
    products.update(magento_client, "SCOPE-1", {"sku": "SCOPE-1", "name": "View name", "price": 30.0}, store="default")
    stored = magento.product("SCOPE-1")
    assert stored["values"]["all"]["name"] == "Global name"
    assert stored["values"]["all"]["price"] == 30.0, "price has global scope"
    assert stored["values"]["default"] == {"name": "View name"}
    assert products.get(magento_client, "SCOPE-1")["name"] == "Global name"
    assert products.get(magento_client, "SCOPE-1", store="default")["name"] == "View name"


# --- media ----------------------------------------------------------------------------------------------------


def test_media_posts_add_entries_and_a_reposted_file_gets_a_suffix(magento, magento_client):
    products.save(magento_client, product("IMG-1"))
    first = media.add(
        magento_client, "IMG-1", media.image_entry(PNG, "Front View.png", "image/png", roles=media.ALL_ROLES)
    )
    second = media.add(magento_client, "IMG-1", media.image_entry(PNG, "Front View.png", "image/png", roles=["image"]))
    entries = media.entries(magento_client, "IMG-1")
    assert [(e["id"], e["file"]) for e in entries] == [
        (first, "/f/r/front_view.png"),
        (second, "/f/r/front_view_1.png"),
    ]
    assert entries[0]["types"] == ["small_image", "thumbnail"], "the newer entry took the image role"
    stored = magento.product("IMG-1")["media"]
    assert {e["content_sha256"] for e in stored} == {hashlib.sha256(PNG).hexdigest()}
    assert media.delete(magento_client, "IMG-1", first)
    assert [e["id"] for e in media.entries(magento_client, "IMG-1")] == [second]
    with pytest.raises(MagentoNotFoundError):
        media.delete(magento_client, "IMG-1", first)


def test_image_content_is_checked(magento, magento_client):
    products.save(magento_client, product("IMG-BAD"))
    with pytest.raises(MagentoPermanentError, match="image content is invalid"):
        media.add(magento_client, "IMG-BAD", media.image_entry(JPEG, "x.png", "image/png"))
    with pytest.raises(MagentoPermanentError, match="MIME type"):
        media.add(magento_client, "IMG-BAD", media.image_entry(PNG, "x.bmp", "image/bmp"))
    assert magento.product("IMG-BAD")["media"] == []


def test_empty_gallery_in_a_save_deletes_images_and_leaving_it_out_keeps_them(magento, magento_client):
    products.save(magento_client, product("IMG-2"))
    media.add(magento_client, "IMG-2", media.image_entry(PNG, "a.png", "image/png"))
    products.update(magento_client, "IMG-2", {"sku": "IMG-2", "name": "Still has images"})
    assert len(magento.product("IMG-2")["media"]) == 1
    products.update(magento_client, "IMG-2", {"sku": "IMG-2", "media_gallery_entries": []})
    assert magento.product("IMG-2")["media"] == []


# --- configurable products ----------------------------------------------------------------------------------


def test_configurable_product_with_options_and_children(magento, magento_client):
    for sku, color, size in (
        ("TEE-BLK-S", COLOR_BLACK, SIZE_S),
        ("TEE-BLK-M", COLOR_BLACK, SIZE_M),
        ("TEE-WHT-S", COLOR_WHITE, SIZE_S),
        ("TEE-DUP", COLOR_BLACK, SIZE_S),
    ):
        products.save(magento_client, product(sku, color=color, size=size))
    parent = product("TEE", "Tee")
    parent.update(type_id="configurable", visibility=4)
    del parent["price"]
    products.save(magento_client, parent)
    color = attributes.attribute(magento_client, "color")
    size = attributes.attribute(magento_client, "size")
    assert color["scope"] == size["scope"] == "global"
    configurable.add_option(magento_client, "TEE", color["attribute_id"], "Color", [49, 50])
    configurable.add_option(magento_client, "TEE", size["attribute_id"], "Size", [167, 168], position=1)
    for child in ("TEE-BLK-S", "TEE-BLK-M", "TEE-WHT-S"):
        assert configurable.add_child(magento_client, "TEE", child)
    with pytest.raises(MagentoPermanentError, match="have the same set of attribute values"):
        configurable.add_child(magento_client, "TEE", "TEE-DUP")
    with pytest.raises(MagentoPermanentError, match="already attached"):
        configurable.add_child(magento_client, "TEE", "TEE-BLK-S")
    assert [c["sku"] for c in configurable.children(magento_client, "TEE")] == ["TEE-BLK-S", "TEE-BLK-M", "TEE-WHT-S"]
    options = configurable.options(magento_client, "TEE")
    assert [(o["label"], [v["value_index"] for v in o["values"]]) for o in options] == [
        ("Color", [49, 50]),
        ("Size", [167, 168]),
    ]
    assert configurable.remove_child(magento_client, "TEE", "TEE-WHT-S")
    links = products.get(magento_client, "TEE")["extension_attributes"]["configurable_product_links"]
    assert len(links) == 2


def test_non_global_attribute_cannot_be_a_configurable_option(magento, magento_client):
    parent = product("CFG")
    parent["type_id"] = "configurable"
    products.save(magento_client, parent)
    activity = attributes.attribute(magento_client, "activity")
    with pytest.raises(MagentoPermanentError, match="global-scope dropdown"):
        configurable.add_option(magento_client, "CFG", activity["attribute_id"], "Activity", [210])


# --- attributes and sets ----------------------------------------------------------------------------------


def test_attribute_options_are_listed_and_added(magento, magento_client):
    labels = [o["label"] for o in attributes.options(magento_client, "size")]
    assert labels == [" ", "XS", "S", "M", "L", "XL"]
    new_id = attributes.add_option(magento_client, "size", "XXL")
    assert {"label": "XXL", "value": new_id} in attributes.options(magento_client, "size")
    with pytest.raises(MagentoPermanentError, match="'XXL' is already exists"):
        attributes.add_option(magento_client, "size", "XXL")
    with pytest.raises(MagentoPermanentError, match="doesn't work with options"):
        attributes.add_option(magento_client, "material", "Wool")
    with pytest.raises(MagentoNotFoundError, match='"colour" attributeCode'):
        attributes.options(magento_client, "colour")


def test_attribute_sets_and_their_attributes(magento, magento_client):
    sets = {s["attribute_set_name"]: s["attribute_set_id"] for s in attributes.attribute_sets(magento_client)}
    assert sets == {"Default": 4, "Clothing": 9}
    codes = {a["attribute_code"] for a in attributes.set_attributes(magento_client, 9)}
    assert {"color", "size", "brand", "material", "activity", "care_instructions"} <= codes
    assert "activity" not in {a["attribute_code"] for a in attributes.set_attributes(magento_client, 4)}
    with pytest.raises(MagentoNotFoundError, match="No such entity with id = 77"):
        attributes.set_attributes(magento_client, 77)


# --- categories ----------------------------------------------------------------------------------------------


def test_categories_tree_create_update(magento, magento_client):
    tree = categories.tree(magento_client)
    assert (tree["id"], tree["children_data"][0]["name"]) == (1, "Default Category")
    men = categories.create(magento_client, {"parent_id": 2, "name": "Men", "is_active": True})
    shirts = categories.create(magento_client, {"parent_id": men["id"], "name": "Shirts", "is_active": True})
    assert shirts["path"] == f"1/2/{men['id']}/{shirts['id']}"
    with pytest.raises(MagentoPermanentError, match="URL key for specified store already exists"):
        categories.create(magento_client, {"parent_id": 2, "name": "Men", "is_active": True})
    updated = categories.update(magento_client, men["id"], {"name": "Menswear", "is_active": False})
    assert (updated["name"], updated["is_active"]) == ("Menswear", False)
    subtree = categories.tree(magento_client, root_id=2)
    assert [c["name"] for c in subtree["children_data"]] == ["Menswear"]
    assert subtree["children_data"][0]["children_data"][0]["name"] == "Shirts"
    with pytest.raises(MagentoNotFoundError, match="No such entity with id = 999"):
        categories.get(magento_client, 999)


# --- stock ------------------------------------------------------------------------------------------------------


def test_source_items_for_unknown_skus_answer_ok_and_are_not_stored(magento, magento_client):
    products.save(magento_client, product("STOCK-1"))
    inventory.save(
        magento_client,
        [inventory.source_item("STOCK-1", "default", 7), inventory.source_item("GHOST", "default", 3)],
    )
    assert magento.state("source_items") == [{"sku": "STOCK-1", "source_code": "default", "quantity": 7, "status": 1}]
    read_back = list(inventory.source_items(magento_client, ["STOCK-1", "GHOST"], "default"))
    assert [(i["sku"], i["quantity"]) for i in read_back] == [("STOCK-1", 7)]
    with pytest.raises(MagentoPermanentError, match='Source with code "warehouse" does not exist'):
        inventory.save(magento_client, [inventory.source_item("STOCK-1", "warehouse", 1)])


# --- prices --------------------------------------------------------------------------------------------------


def test_base_and_special_prices(magento, magento_client):
    products.save(magento_client, product("PRICE-1"))
    failures = prices.update_base_prices(
        magento_client, [prices.base_price("PRICE-1", 12.5), prices.base_price("NOPE", 1)]
    )
    assert [f.message for f in failures] == ["Invalid attribute SKU = NOPE."]
    assert products.get(magento_client, "PRICE-1")["price"] == 12.5
    special = prices.special_price("PRICE-1", 9.99, "2024-01-01 00:00:00")
    assert prices.update_special_prices(magento_client, [special]) == []
    stored = prices.special_prices(magento_client, ["PRICE-1"])
    assert [(s["price"], s["price_from"], s.get("price_to")) for s in stored] == [(9.99, "2024-01-01 00:00:00", None)]
    assert custom_value(products.get(magento_client, "PRICE-1"), "special_price") == 9.99
    assert prices.delete_special_prices(magento_client, stored) == []
    assert prices.special_prices(magento_client, ["PRICE-1"]) == []
    bad = prices.update_special_prices(magento_client, [prices.special_price("PRICE-1", 5, "1st of May")])
    assert [f.message for f in bad] == ["Invalid attribute Price From = 1st of May."]


# --- customers and sales -----------------------------------------------------------------------------------


def test_customers_create_get_update_search(magento, magento_client):
    created = customers.create(magento_client, {"email": "ann@example.com", "firstname": "Ann", "lastname": "Lee"})
    assert customers.get(magento_client, created["id"])["email"] == "ann@example.com"
    with pytest.raises(MagentoPermanentError, match="same email address already exists"):
        customers.create(magento_client, {"email": "ann@example.com", "firstname": "Other", "lastname": "Person"})
    updated = customers.update(
        magento_client, created["id"], {"email": "ann@example.com", "firstname": "Anne", "lastname": "Lee"}
    )
    assert updated["firstname"] == "Anne"
    found = list(customers.iterate(magento_client, SearchCriteria().where("email", "%@example.com", "like")))
    assert [c["id"] for c in found] == [created["id"]]
    with pytest.raises(MagentoNotFoundError, match="No such entity with customerId = 42"):
        customers.get(magento_client, 42)


def test_orders_invoices_and_credit_memos(magento, magento_client):
    magento.seed_demo()
    order = sales.get_order(magento_client, 1)
    parent, child = order["items"][:2]
    assert (parent["product_type"], child["parent_item_id"], child["sku"]) == (
        "configurable",
        parent["item_id"],
        "TEE-CLASSIC-BLACK-M",
    )
    assert order["customer_is_guest"] == 0 and order["state"] == "complete"
    assert sales.get_invoice(magento_client, 1)["order_id"] == 1
    memo = sales.get_creditmemo(magento_client, 1)
    assert (memo["order_id"], memo["invoice_id"]) == (2, 2)
    recent = SearchCriteria().where("updated_at", "2024-05-04 00:00:00", "gteq").order_by("updated_at", "DESC")
    assert [o["increment_id"] for o in sales.orders(magento_client, recent)] == ["000000003", "000000002"]
    assert [
        i["entity_id"] for i in sales.invoices(magento_client, SearchCriteria().where("order_id", [1, 3], "in"))
    ] == [1, 3]
    assert [c["entity_id"] for c in sales.creditmemos(magento_client)] == [1]
    with pytest.raises(MagentoNotFoundError, match="entity that was requested doesn't exist"):
        sales.get_order(magento_client, 99)


@pytest.mark.parametrize(
    ("condition", "value", "expected"),
    [
        ("eq", "complete", [1, 4]),
        ("neq", "complete", [2, 3]),
        ("in", "processing,closed", [2, 3]),
        ("like", "%ss%", [3]),
    ],
)
def test_order_search_honours_condition_types_on_state(magento, magento_client, condition, value, expected):
    line = [{"sku": "MUG", "name": "Mug", "qty": 1, "price": 5}]
    magento.seed(
        orders=[
            seed.order(1, line, state="complete"),
            seed.order(2, line, state="closed"),
            seed.order(3, line, state="processing"),
            seed.order(4, line, state="complete"),
        ]
    )
    criteria = SearchCriteria().where("state", value, condition).order_by("entity_id")
    assert [o["entity_id"] for o in sales.orders(magento_client, criteria)] == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [("gt", [3]), ("gteq", [2, 3]), ("lt", [1]), ("lteq", [1, 2])],
)
def test_order_search_honours_comparisons_on_updated_at(magento, magento_client, condition, expected):
    line = [{"sku": "MUG", "name": "Mug", "qty": 1, "price": 5}]
    magento.seed(
        orders=[
            seed.order(n, line, created_at=f"2024-05-0{n} 10:00:00", updated_at=f"2024-05-0{n} 10:00:00")
            for n in (1, 2, 3)
        ]
    )
    criteria = SearchCriteria().where("updated_at", "2024-05-02 10:00:00", condition).order_by("entity_id")
    assert [o["entity_id"] for o in sales.orders(magento_client, criteria)] == expected


def test_store_views(magento_client):
    assert [(v["id"], v["code"]) for v in stores.store_views(magento_client)] == [(0, "admin"), (1, "default")]
