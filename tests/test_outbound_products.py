"""The product push against the sandbox (official schema on), real Redis and real databases, jobs run through
the queue: the demo catalogue field by field, configurable products, images, deltas, inactive products,
dynamic attributes, create-only fields, unknown attribute sets, stores without the bulk API."""

from __future__ import annotations

import hashlib
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sandbox import seed as sandbox_seed
from syncapi.magento import products as magento_products
from syncapi.magento.client import client_for
from syncapi.outbound import mapping
from syncapi.pos import models as m
from syncapi.pos.gateway import GIFT_WRAPPING_SKU, iter_batches
from syncapi.pos.png import swatch_png
from syncapi.pos.seed import PRODUCTS, STYLES
from syncapi.state import delete_hashes, get_hashes
from tests.fixtures_magento import FAST_RETRIES
from tests.fixtures_pos import add_product, add_rows

INACTIVE = sorted(sku for sku, _n, _p, _pr, _s, _c, active, _a in PRODUCTS if not active)
STYLE_CODES = [code for code, *_ in STYLES]


def all_pos_products(harness) -> list:
    return [p for batch in iter_batches(harness.pos.changed_products) for p in batch.items]


def option_labels(magento) -> dict[str, dict[str, str]]:
    """Option id -> label, per attribute code, as the sandbox holds them."""
    return {
        code: {option["value"]: option["label"] for option in attribute["options"]}
        for code, attribute in magento.state("attributes").items()
    }


def set_pos(engine, model, where, **values) -> None:
    """Change POS rows the way the POS's back office would (the ORM stamps `updated_at`)."""
    with Session(engine) as session:
        for row in session.scalars(select(model).where(where)):
            for name, value in values.items():
                setattr(row, name, value)
        session.commit()


def writes_by_template(harness) -> Counter:
    return Counter((e["method"], e["template"]) for e in harness.writes(clear=True))


# --- the demo catalogue ---------------------------------------------------------------------------------------


def test_demo_catalogue_arrives_field_by_field(outbound_db, magento):
    harness = outbound_db
    harness.seed_demo()
    run = harness.push("products")
    assert run.status == "succeeded", run.errors
    pos_products = all_pos_products(harness)
    active = [p for p in pos_products if p.internet_active]
    assert run.counts == {"created": len(active), "updated": 0, "unchanged": len(INACTIVE), "failed": 0}

    state = magento.state()
    stored = state["products"]
    labels = option_labels(magento)
    categories = {c.id: c for c in harness.pos.get_categories(range(1, 100))}
    assert all(c.magento_id is not None for c in categories.values()), "categories were pushed first"
    magento_categories = {int(k): v for k, v in state["categories"].items()}
    images = {}
    for image in harness.pos.get_images([p.sku for p in pos_products]):
        images.setdefault(image.sku, []).append(image)
    base_prices = {entry["sku"]: entry["price"] for entry in state["base_prices"]}
    specials = {entry["sku"]: entry["price"] for entry in state["special_prices"]}
    quantities = {item["sku"]: item["quantity"] for item in state["source_items"] if item["source_code"] == "default"}
    stock = {level.sku: level.on_hand for level in harness.pos.get_stock([p.sku for p in pos_products])}

    assert sorted(stored) == sorted([p.sku for p in active] + STYLE_CODES)
    for product in active:
        saved = stored[product.sku]
        values = saved["values"]["all"]
        assert set(saved["values"]) == {"all"}, "catalog writes go to /rest/all: no store-view overrides"
        assert saved["type_id"] == "simple"
        assert saved["attribute_set_id"] == sandbox_seed.DEFAULT_ATTRIBUTE_SET_ID
        assert values["name"] == product.name
        assert values["short_description"] == product.description
        assert values["description"] == product.long_description_html
        assert values["status"] == 1
        assert values["visibility"] == (1 if product.parent_sku else 4)
        assert values["url_key"] == mapping.url_key(product.name, product.sku)
        assert labels["color"][values["color"]] == product.colour
        if product.size:
            assert labels["size"][values["size"]] == product.size
        for code, value in product.attribute_values().items():
            shown = labels[code].get(values[code]) if code == "brand" else values[code]
            assert shown == value, (product.sku, code)
        category = categories[product.category_id]
        assert saved["category_links"] == [{"position": 0, "category_id": str(category.magento_id)}]
        assert magento_categories[category.magento_id]["values"]["all"]["name"] == category.name
        assert Decimal(str(base_prices[product.sku])) == product.retail_price
        assert values["price"] == pytest.approx(float(product.retail_price))
        if product.sale_price is not None:
            assert Decimal(str(specials[product.sku])) == product.sale_price
        else:
            assert product.sku not in specials
        assert quantities[product.sku] == max(stock.get(product.sku, 0), 0)
        pos_images = sorted(images[product.sku], key=lambda i: i.position)
        media = saved["media"]
        assert [e["content_sha256"] for e in media] == [hashlib.sha256(i.content).hexdigest() for i in pos_images]
        assert media[0]["types"] == ["image", "small_image", "thumbnail"]
        assert all(e["types"] == [] for e in media[1:])
    for sku in INACTIVE:
        assert sku not in stored and sku not in quantities and sku not in base_prices

    catalog_writes = [e for e in harness.writes() if e["template"] and "customers" not in e["template"]]
    assert catalog_writes and {e["store"] for e in catalog_writes} == {"all"}
    assert not any("media_gallery_entries" in str(e["body"]) for e in catalog_writes)


def test_variants_become_one_configurable_product(outbound, magento):
    outbound.seed_demo()
    assert outbound.push("products").status == "succeeded"
    stored = magento.state("products")
    attributes = magento.state("attributes")
    labels = option_labels(magento)
    parent = stored["TEE-CLASSIC"]
    variants = sorted(sku for sku in stored if sku.startswith("TEE-CLASSIC-"))
    assert len(variants) == 9
    assert parent["type_id"] == "configurable"
    assert parent["values"]["all"]["visibility"] == 4
    assert parent["values"]["all"]["status"] == 1
    assert "price" not in parent["values"]["all"], "a configurable product's prices are its variants'"
    assert parent["values"]["all"]["url_key"] == "classic-cotton-tee-tee-classic"
    assert sorted(parent["children"]) == variants
    options = {option["attribute_id"]: option for option in parent["configurable_options"]}
    assert set(options) == {str(attributes["color"]["attribute_id"]), str(attributes["size"]["attribute_id"])}
    colours = {
        labels["color"][str(v["value_index"])] for v in options[str(attributes["color"]["attribute_id"])]["values"]
    }
    sizes = {labels["size"][str(v["value_index"])] for v in options[str(attributes["size"]["attribute_id"])]["values"]}
    assert (colours, sizes) == ({"Black", "White", "Navy"}, {"S", "M", "L"})
    for sku in variants:
        assert stored[sku]["values"]["all"]["visibility"] == 1, "variants are not visible individually"
    # Options the sandbox lacked were created once each, however many variants and products use them.
    created = [e["body"]["option"]["label"] for e in outbound.writes() if e["template"].endswith("/options")
               and e["template"].startswith("/V1/products/attributes")]  # fmt: skip
    assert len(created) == len(set(created))
    assert "Navy" in created and "Black" not in created
    dress = stored["DRESS-WRAP"]
    assert sorted(dress["children"]) == sorted(sku for sku in stored if sku.startswith("DRESS-WRAP-"))
    assert {labels["size"][stored[c]["values"]["all"]["size"]] for c in dress["children"]} == {"8", "10", "12"}
    # The parent shows its first variant's images, as its own entries.
    first = stored["TEE-CLASSIC-BLACK-L"]["media"]
    assert [(e["content_sha256"], e["types"]) for e in parent["media"]] == [
        (e["content_sha256"], e["types"]) for e in first
    ]
    assert parent["media"][0]["types"] == ["image", "small_image", "thumbnail"]

    outbound.writes(clear=True)
    new_png = swatch_png(64, 64, (9, 9, 9))
    set_pos(outbound.engine, m.ProductImage, m.ProductImage.sku == "TEE-CLASSIC-BLACK-L", content=new_png)
    run = outbound.push("products")
    assert run.status == "succeeded" and run.counts["updated"] == 1, "the variant; its parent is not a POS record"
    uploads = [e for e in outbound.writes(clear=True) if e["method"] == "POST"]
    assert sorted(body["sku"] for e in uploads for body in e["body"]) == ["TEE-CLASSIC", "TEE-CLASSIC-BLACK-L"]
    stored = magento.state("products")
    digest = hashlib.sha256(new_png).hexdigest()
    for sku in ("TEE-CLASSIC", "TEE-CLASSIC-BLACK-L"):
        assert [e["content_sha256"] for e in stored[sku]["media"]] == [digest], sku


def test_a_rerun_sends_nothing_and_images_are_never_duplicated(outbound, magento):
    outbound.seed_demo()
    outbound.push("products")
    outbound.writes(clear=True)
    media_before = {sku: p["media"] for sku, p in magento.state("products").items()}

    for kind in ("products", "stock", "prices"):
        run = outbound.push(kind)
        assert run.status == "succeeded" and run.counts["created"] == run.counts["updated"] == 0, (kind, run)
    run = outbound.push("products", full=True)
    assert run.counts["unchanged"] == 50 and run.counts["updated"] == 0
    assert outbound.writes(clear=True) == [], "nothing changed: not one write"

    run = outbound.push("products", full=True, force=True)
    assert run.status == "succeeded" and run.counts["updated"] == 48
    after = magento.state("products")
    for sku, media in media_before.items():
        assert len(after[sku]["media"]) == len(media), f"{sku}: a forced push replaces images, never adds copies"
        assert [e["content_sha256"] for e in after[sku]["media"]] == [e["content_sha256"] for e in media]
    assert outbound.push("products").counts["updated"] == 0


def test_one_change_sends_exactly_that_call(outbound, magento):
    outbound.seed_demo()
    for kind in ("products", "stock", "prices"):
        outbound.push(kind)
    outbound.writes(clear=True)

    set_pos(outbound.engine, m.Product, m.Product.sku == "SHT-OXFORD", retail_price=Decimal("47.50"))
    run = outbound.push("prices")
    # Rows changed in the last minute are read again (late commits); unchanged ones cost no call.
    assert (run.counts["created"], run.counts["updated"], run.counts["failed"]) == (0, 1, 0)
    writes = outbound.writes(clear=True)
    assert [(e["template"], e["body"]) for e in writes] == [
        ("/V1/products/base-prices", {"prices": [{"sku": "SHT-OXFORD", "price": 47.5, "store_id": 0}]})
    ]
    assert outbound.push("products").counts["updated"] == 0, "a price is not a product save"
    assert outbound.writes(clear=True) == []

    set_pos(outbound.engine, m.Stock, (m.Stock.sku == "HAT-BEANIE") & (m.Stock.location_code == "WEB"), on_hand=42)
    assert outbound.push("stock").counts["updated"] == 1
    assert [(e["template"], e["body"]) for e in outbound.writes(clear=True)] == [
        (
            "/V1/inventory/source-items",
            {"sourceItems": [{"sku": "HAT-BEANIE", "source_code": "default", "quantity": 42, "status": 1}]},
        )
    ]

    old_entry = magento.product("HAT-BEANIE")["media"][0]
    new_png = swatch_png(64, 64, (1, 2, 3))
    set_pos(outbound.engine, m.ProductImage, m.ProductImage.sku == "HAT-BEANIE", content=new_png)
    run = outbound.push("products")
    assert run.counts["updated"] == 1 and run.status == "succeeded"
    writes = outbound.writes(clear=True)
    assert [(e["method"], e["template"]) for e in writes] == [
        ("DELETE", "/V1/products/{sku}/media/{entryId}"),
        ("POST", "/V1/products/{sku}/media"),
    ]
    assert writes[0]["path"].endswith(f"/media/{old_entry['id']}")
    media = magento.product("HAT-BEANIE")["media"]
    assert len(media) == 1 and media[0]["content_sha256"] == hashlib.sha256(new_png).hexdigest()
    assert media[0]["types"] == ["image", "small_image", "thumbnail"]

    set_pos(outbound.engine, m.Product, m.Product.sku == "TRS-CORD", name="Needle Cord Trousers")
    outbound.push("products")
    writes = outbound.writes(clear=True)
    assert [(e["method"], e["template"]) for e in writes] == [("POST", "/V1/products")]
    assert [body["product"]["sku"] for body in writes[0]["body"]] == ["TRS-CORD"]
    assert magento.product("TRS-CORD")["values"]["all"]["name"] == "Needle Cord Trousers"
    assert magento.product("TRS-CORD")["values"]["all"]["url_key"] == "cord-trousers-trs-cord", "URLs stay"


# --- internet-active ------------------------------------------------------------------------------------------


def test_turning_internet_active_off_disables_never_deletes(outbound, magento):
    outbound.seed_demo()
    outbound.push("products")
    outbound.writes(clear=True)
    set_pos(outbound.engine, m.Product, m.Product.sku == "TOP-BRETON", internet_active=False)
    set_pos(outbound.engine, m.Product, m.Product.parent_sku == "JUMPER-MERINO", internet_active=False)
    run = outbound.push("products")
    assert run.status == "succeeded"
    bodies = [
        body["product"] for e in outbound.writes(clear=True) if e["template"] == "/V1/products" for body in e["body"]
    ]
    assert sorted(b["sku"] for b in bodies) == sorted(
        ["TOP-BRETON", "JUMPER-MERINO"] + [f"JUMPER-MERINO-{c}-{s}" for c in ("GREY", "NAVY") for s in "SML"]
    )
    assert all(set(b) == {"sku", "status"} and b["status"] == 2 for b in bodies), "only the status is sent"
    stored = magento.state("products")
    assert stored["TOP-BRETON"]["values"]["all"]["status"] == 2
    assert stored["TOP-BRETON"]["values"]["all"]["name"] == "Striped Breton Top", "never deleted"
    assert stored["JUMPER-MERINO"]["values"]["all"]["status"] == 2
    assert all(sku not in stored for sku in INACTIVE), "never-active products are not sent"
    assert outbound.push("products").counts["updated"] == 0
    assert outbound.writes(clear=True) == []

    set_pos(outbound.engine, m.Product, m.Product.sku == "TOP-BRETON", internet_active=True)
    assert outbound.push("products").counts["updated"] == 1
    assert magento.product("TOP-BRETON")["values"]["all"]["status"] == 1


def test_push_inactive_products_creates_every_product_disabled(outbound, magento):
    outbound.start(PUSH_INACTIVE_PRODUCTS="true")
    outbound.seed_demo()
    set_pos(outbound.engine, m.Product, m.Product.parent_sku == "DRESS-WRAP", internet_active=False)
    run = outbound.push("products")
    assert run.status == "succeeded" and run.counts["created"] == 50
    stored = magento.state("products")
    for sku in [*INACTIVE, "DRESS-WRAP", "DRESS-WRAP-RED-8"]:
        assert stored[sku]["values"]["all"]["status"] == 2, sku
    assert stored["TOP-BRETON"]["values"]["all"]["status"] == 1
    assert sorted(stored["DRESS-WRAP"]["children"]) == sorted(s for s in stored if s.startswith("DRESS-WRAP-"))
    quantities = {item["sku"] for item in magento.state("source_items")}
    assert set(INACTIVE) <= quantities, "products in Magento get their stock"
    set_pos(outbound.engine, m.Product, m.Product.sku == INACTIVE[0], internet_active=True)
    assert outbound.push("products").counts["updated"] == 1
    assert magento.product(INACTIVE[0])["values"]["all"]["status"] == 1


def test_the_gift_wrapping_service_product_is_never_pushed_even_with_push_inactive_products(outbound, magento):
    outbound.start(PUSH_INACTIVE_PRODUCTS="true")
    outbound.seed_demo()
    # As the first sale with gift wrapping leaves it in the POS (docs/money.md).
    add_rows(outbound.engine, m.Product(sku=GIFT_WRAPPING_SKU, name="Gift wrapping", retail_price=0))
    run = outbound.push("products")
    assert run.status == "succeeded" and run.counts["created"] == 50
    assert GIFT_WRAPPING_SKU not in magento.state("products")


# --- dynamic attributes and ownership ------------------------------------------------------------------------


@pytest.fixture
def typed_attributes(magento):
    """Attributes of every input type in the Clothing set, besides the seeded ones."""
    magento.seed(
        attributes=[
            {"attribute_code": "is_organic", "frontend_input": "boolean", "attribute_sets": [9]},
            {"attribute_code": "rrp", "frontend_input": "price", "attribute_sets": [9]},
            {"attribute_code": "launch_date", "frontend_input": "date", "attribute_sets": [9]},
            {
                "attribute_code": "fit",
                "frontend_input": "select",
                "options": ["Slim", "Regular"],
                "attribute_sets": [9],
            },
        ]
    )


def attributes_of(engine, sku: str, **values) -> None:
    add_rows(engine, *(m.ProductAttribute(sku=sku, code=code, value=value) for code, value in values.items()))


def test_dynamic_attributes_of_each_type_arrive_as_custom_attributes(outbound, magento, typed_attributes):
    for sku in ("YOGA-1", "YOGA-2"):
        add_product(outbound.engine, sku, attribute_set="Clothing", name=f"Yoga Top {sku}", colour="Black")
        attributes_of(
            outbound.engine,
            sku,
            material="Organic cotton",
            brand="Northwind",
            activity="Yoga, Running",
            care_instructions="Wash at 30°C",
            is_organic="yes",
            rrp="29.99",
            launch_date="2025-03-01",
            fit="Slim",
            weight="0.25",
            fabric_gsm="180",
            price="1.00",
        )
    run = outbound.push("products")
    labels = option_labels(magento)
    values = magento.product("YOGA-1")["values"]["all"]
    assert magento.product("YOGA-1")["attribute_set_id"] == sandbox_seed.CLOTHING_ATTRIBUTE_SET_ID
    assert values["material"] == "Organic cotton"
    assert labels["brand"][values["brand"]] == "Northwind"
    assert sorted(labels["activity"][i] for i in values["activity"].split(",")) == ["Running", "Yoga"]
    assert values["care_instructions"] == "Wash at 30°C"
    assert values["is_organic"] == "1"
    assert values["rrp"] == "29.99"
    assert values["launch_date"] == "2025-03-01"
    assert labels["fit"][values["fit"]] == "Slim"
    assert values["weight"] == 0.25
    assert values["price"] == 10, "a POS attribute called price never overrides the retail price"
    assert "fabric_gsm" not in values
    # A code Magento lacks is reported once, not per product, and fails nothing.
    assert run.status == "partial" and run.counts["created"] == 2 and run.counts["failed"] == 0
    gsm = [e for e in run.errors if "fabric_gsm" in e.message]
    assert len(gsm) == 1 and "'Clothing'" in gsm[0].message
    assert len([e for e in run.errors if "'price'" in e.message]) == 1


def test_options_are_created_once_and_reused(outbound, magento):
    for sku in ("BAG-1", "BAG-2"):
        add_product(outbound.engine, sku)
        attributes_of(outbound.engine, sku, brand="Tidewater")
    outbound.push("products")
    created = [
        e for e in outbound.writes(clear=True) if e["template"] == "/V1/products/attributes/{attributeCode}/options"
    ]
    assert [e["body"]["option"]["label"] for e in created] == ["Tidewater"]
    tidewater = [o for o in magento.state("attributes")["brand"]["options"] if o["label"] == "Tidewater"]
    assert len(tidewater) == 1
    add_product(outbound.engine, "BAG-3")
    attributes_of(outbound.engine, "BAG-3", brand="tidewater")
    assert outbound.push("products").counts["created"] == 1
    assert not [e for e in outbound.writes(clear=True) if "attributes" in e["template"]], "read back, not added again"
    assert magento.product("BAG-3")["values"]["all"]["brand"] == tidewater[0]["value"]


def test_changing_or_removing_a_dynamic_attribute_is_pushed(outbound, magento):
    add_product(outbound.engine, "SCARF-1")
    attributes_of(outbound.engine, "SCARF-1", material="Wool", brand="Acme")
    outbound.push("products")
    set_pos(outbound.engine, m.ProductAttribute, m.ProductAttribute.code == "brand", value="Northwind")
    assert outbound.push("products").counts["updated"] == 1
    assert option_labels(magento)["brand"][magento.product("SCARF-1")["values"]["all"]["brand"]] == "Northwind"
    with Session(outbound.engine) as session:
        session.delete(session.scalars(select(m.ProductAttribute).where(m.ProductAttribute.code == "material")).one())
        session.execute(update(m.Product).where(m.Product.sku == "SCARF-1").values(updated_at=m.utcnow()))
        session.commit()
    assert outbound.push("products").counts["updated"] == 1
    values = magento.product("SCARF-1")["values"]["all"]
    assert values["material"] == "", "a value the POS dropped is cleared in Magento"
    assert outbound.push("products", full=True).counts["unchanged"] == 1
    assert outbound.writes(clear=True)[-1]["template"] == "/V1/products"


def test_create_only_fields_stay_as_merchandisers_edit_them(outbound, magento, magento_settings):
    outbound.start(PRODUCT_CREATE_ONLY_FIELDS="description,long_description_html")
    add_product(outbound.engine, "MUG-1", name="Mug", description="A mug.", long_description_html="<p>A mug.</p>")
    outbound.push("products")
    values = magento.product("MUG-1")["values"]["all"]
    assert (values["short_description"], values["description"]) == ("A mug.", "<p>A mug.</p>")

    merchandiser = client_for(magento_settings, **FAST_RETRIES)
    edit = [{"attribute_code": "description", "value": "<p>Hand-thrown in Devon.</p>"}]
    magento_products.update(merchandiser, "MUG-1", {"sku": "MUG-1", "custom_attributes": edit})
    set_pos(
        outbound.engine, m.Product, m.Product.sku == "MUG-1", name="Stoneware Mug", long_description_html="<p>x</p>"
    )
    assert outbound.push("products").counts["updated"] == 1
    values = magento.product("MUG-1")["values"]["all"]
    assert values["name"] == "Stoneware Mug", "every other field follows the POS"
    assert values["description"] == "<p>Hand-thrown in Devon.</p>", "create-only: the Magento edit stays"
    assert values["short_description"] == "A mug."
    merchandiser.close()


def test_an_unknown_attribute_set_fails_only_its_product_naming_the_set(outbound, magento):
    add_product(outbound.engine, "BOOT-1", attribute_set="Footwear")
    add_product(outbound.engine, "SOCK-1")
    run = outbound.push("products")
    assert run.status == "partial"
    assert run.counts == {"created": 1, "updated": 0, "unchanged": 0, "failed": 1}
    assert [(e.key, e.message) for e in run.errors] == [
        (
            "BOOT-1",
            "attribute set 'Footwear' does not exist in Magento; create it there or change the product's "
            "attribute set in the POS",
        )
    ]
    assert "BOOT-1" not in magento.state("products")
    magento.seed(attribute_sets=[{"attribute_set_name": "Footwear"}])
    run = outbound.push("products")
    assert run.status == "succeeded" and run.counts["created"] == 1, "a failed product is tried again next run"


def test_a_store_without_bulk_routes_gets_concurrent_puts(outbound, magento):
    magento.configure(bulk_enabled=False)
    outbound.seed_demo()
    run = outbound.push("products")
    assert run.status == "succeeded" and run.counts["created"] == 48
    writes = writes_by_template(outbound)
    assert writes[("PUT", "/V1/products/{sku}")] == 51
    images = outbound.pos.get_images([p.sku for p in all_pos_products(outbound) if p.internet_active])
    assert writes[("POST", "/V1/products/{sku}/media")] == len(images) + len(STYLE_CODES), "a parent shows one"
    assert len(magento.state("products")) == 51
    assert outbound.push("products").counts["unchanged"] == 50


def test_an_upload_whose_answer_was_lost_is_not_repeated(outbound, magento):
    outbound.seed_demo()
    outbound.push("products")
    entry = magento.product("HAT-BEANIE")["media"][0]
    # As if the upload landed but the run died before storing its hash (a timeout, a killed worker).
    assert delete_hashes(outbound.svc.state_engine, "images", ["HAT-BEANIE/0"]) == 1
    outbound.writes(clear=True)
    run = outbound.push("products")
    assert run.status == "succeeded"
    assert outbound.writes() == [], "the entry already there is recognised by its file, not uploaded again"
    assert [e["id"] for e in magento.product("HAT-BEANIE")["media"]] == [entry["id"]]
    assert get_hashes(outbound.svc.state_engine, "images", ["HAT-BEANIE/0"])["HAT-BEANIE/0"][1] == str(entry["id"])
