"""The POS → Magento mappers: pure functions, tested without I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from syncapi.outbound import mapping
from syncapi.outbound.mapping import AttributeInfo, ProductFields
from syncapi.pos.gateway import Customer, Product, ProductAttribute

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def product(**changes) -> Product:
    values = {
        "sku": "SKU-1",
        "parent_sku": None,
        "name": "Linen Shirt",
        "description": "A shirt.",
        "long_description_html": "<p>A shirt.</p>",
        "category_id": 3,
        "colour": "Blue",
        "size": None,
        "retail_price": Decimal("45.0000"),
        "sale_price": None,
        "attribute_set": "Default",
        "internet_active": True,
        "attributes": (ProductAttribute("material", "Linen"), ProductAttribute("price", "1")),
        "updated_at": NOW,
    }
    values.update(changes)
    return Product(**values)


def fields(**changes) -> ProductFields:
    values = {
        "sku": "SKU-1",
        "type_id": "simple",
        "attribute_set_id": 4,
        "status": 1,
        "visibility": 4,
        "values": {"name": "Linen Shirt", "short_description": "A shirt.", "material": "Linen", "color": "52"},
        "category_ids": (7,),
        "price": 45,
        "url_key": "linen-shirt-sku-1",
    }
    values.update(changes)
    return ProductFields(**values)


def test_url_keys_are_unique_per_sku_and_plain_ascii():
    assert mapping.url_key("Crème Brûlée Mug", "MUG/1") == "creme-brulee-mug-mug-1"
    assert mapping.url_key("Mug", "A") != mapping.url_key("Mug", "B")
    assert mapping.url_key("!!!", "???") == "product"


def test_numbers_hash_the_same_whatever_their_scale():
    assert mapping.number(Decimal("10.0000")) == 10
    assert isinstance(mapping.number(Decimal("10.0000")), int)
    assert mapping.number(Decimal("9.9900")) == 9.99


def test_create_only_names_are_pos_fields_or_magento_codes():
    codes, refused = mapping.create_only_codes(["description", "long_description_html", "material", " ", "sku"])
    assert codes == {"short_description", "description", "material"}
    assert refused == ["sku"]
    codes, _ = mapping.create_only_codes(["category", "name", "attribute_set"])
    assert codes == {"category_links", "name", "attribute_set_id"}


def test_update_body_leaves_out_create_only_fields_price_url_key_and_images():
    body = mapping.product_body(fields(), creating=False, create_only=frozenset({"short_description"}))
    assert body == {
        "sku": "SKU-1",
        "attribute_set_id": 4,
        "type_id": "simple",
        "status": 1,
        "visibility": 4,
        "name": "Linen Shirt",
        "custom_attributes": [
            {"attribute_code": "color", "value": "52"},
            {"attribute_code": "material", "value": "Linen"},
        ],
        "extension_attributes": {"category_links": [{"position": 0, "category_id": "7"}]},
    }
    assert "media_gallery_entries" not in body


def test_create_body_carries_everything_the_pos_owns():
    body = mapping.product_body(fields(), creating=True, create_only=frozenset({"short_description"}))
    assert body["price"] == 45
    codes = {item["attribute_code"]: item["value"] for item in body["custom_attributes"]}
    assert codes == {
        "color": "52",
        "material": "Linen",
        "short_description": "A shirt.",
        "url_key": "linen-shirt-sku-1",
    }
    assert "media_gallery_entries" not in body


def test_create_only_category_and_attribute_set_are_left_out_of_updates():
    create_only = frozenset({"category_links", "attribute_set_id"})
    body = mapping.product_body(fields(), creating=False, create_only=create_only)
    assert "extension_attributes" not in body and "attribute_set_id" not in body
    body = mapping.product_body(fields(), creating=True, create_only=create_only)
    assert body["attribute_set_id"] == 4 and body["extension_attributes"]["category_links"]


def test_weight_is_a_top_level_field_and_empty_values_clear():
    body = mapping.product_body(
        fields(values={"weight": "1.5", "short_description": None}), creating=False, create_only=frozenset()
    )
    assert body["weight"] == 1.5
    assert body["custom_attributes"] == [{"attribute_code": "short_description", "value": ""}]


def test_dynamic_values_leave_out_reserved_codes():
    assert mapping.dynamic_values(product()) == {"material": "Linen"}
    assert mapping.pos_values(product())["color"] == "Blue"
    assert mapping.pos_values(product())["description"] == "<p>A shirt.</p>"
    assert mapping.pos_values(product())["short_description"] == "A shirt."


@pytest.mark.parametrize(
    ("frontend_input", "value", "options", "expected"),
    [
        ("text", "Linen", {}, "Linen"),
        ("textarea", "Wash cold", {}, "Wash cold"),
        ("select", "acme", {"acme": "200"}, "200"),
        ("select", "Unknown", {"acme": "200"}, None),
        ("multiselect", "Yoga, running,Yoga", {"yoga": "211", "running": "210"}, "211,210"),
        ("boolean", "Yes", {}, "1"),
        ("boolean", "off", {}, "0"),
        ("boolean", "maybe", {}, None),
        ("price", "12.50", {}, "12.5"),
        ("weight", "2", {}, "2"),
        ("weight", "heavy", {}, None),
        ("date", "2025-01-01", {}, "2025-01-01"),
    ],
)
def test_attribute_values_by_input_type(frontend_input, value, options, expected):
    info = AttributeInfo("code", frontend_input, options)
    assert mapping.attribute_value(info, value, options) == expected


def test_labels_of_a_multiselect_and_option_keys():
    info = AttributeInfo("activity", "multiselect")
    assert mapping.attribute_labels(info, "Running, Yoga,,") == ["Running", "Yoga"]
    assert mapping.option_key("  Navy   Blue ") == mapping.option_key("navy blue")


def test_cleared_values_are_the_codes_no_longer_sent():
    assert mapping.cleared_values(["material", "brand"], ["brand"]) == {"material": ""}


def test_first_image_takes_every_role_and_file_names_match_magento_copies():
    assert mapping.image_roles(0, 0) == ("image", "small_image", "thumbnail")
    assert mapping.image_roles(2, 0) == ()
    pattern = mapping.media_file_pattern("Shirt Front.PNG")
    assert pattern.search("/s/h/shirt_front.png")
    assert pattern.search("/s/h/shirt_front_3.png")
    assert not pattern.search("/s/h/shirt_front_back.png")
    assert not pattern.search("/s/h/other.png")


def test_price_stock_and_category_entries():
    assert mapping.base_price_entry("A", Decimal("10.5000")) == {"sku": "A", "price": 10.5, "store_id": 0}
    special = mapping.special_price_entry("A", Decimal("8"))
    assert special == {"sku": "A", "price": 8, "store_id": 0, "price_from": mapping.SPECIAL_PRICE_FROM}
    assert mapping.source_item_entry("A", "default", Decimal("-2")) == {
        "sku": "A",
        "source_code": "default",
        "quantity": 0,
        "status": 0,
    }
    assert mapping.source_item_entry("A", "default", Decimal("3.0000"))["status"] == 1
    assert mapping.category_body("Tops", 2, creating=True) == {
        "parent_id": 2,
        "name": "Tops",
        "is_active": True,
        "include_in_menu": True,
    }
    assert mapping.price_hash_input(Decimal("10"), None) != mapping.price_hash_input(Decimal("10"), Decimal("9"))


def test_merged_customer_keeps_what_only_magento_has():
    magento = {
        "id": 7,
        "email": "old@example.com",
        "firstname": "Ada",
        "lastname": "Byron",
        "group_id": 3,
        "created_at": "2024-01-01 00:00:00",
        "default_billing": "70",
        "addresses": [
            {"id": 70, "telephone": "000", "city": "London", "street": ["1 A St"]},
            {"id": 71, "telephone": "111", "city": "Paris", "street": ["2 B St"]},
        ],
        "custom_attributes": [{"attribute_code": "loyalty", "value": "gold"}],
    }
    customer = Customer(1, "ada@example.com", "Ada", "Lovelace", "+44 1", 7, NOW)
    merged = mapping.merged_customer(magento, customer)
    assert merged["email"] == "ada@example.com" and merged["lastname"] == "Lovelace"
    assert merged["group_id"] == 3 and merged["custom_attributes"] == magento["custom_attributes"]
    assert [a["telephone"] for a in merged["addresses"]] == ["+44 1", "111"]
    assert [a["city"] for a in merged["addresses"]] == ["London", "Paris"]
    assert "created_at" not in merged
    assert magento["addresses"][0]["telephone"] == "000", "the input is not changed"
    without_address = mapping.merged_customer({**magento, "addresses": []}, customer)
    assert without_address["addresses"] == []
