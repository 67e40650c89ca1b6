"""`pos seed --demo`: a believable small shop, written once."""

from __future__ import annotations

import struct
import zlib
from collections import Counter

import pytest
from sqlalchemy import select

from syncapi.pos import migrate
from syncapi.pos import models as m
from syncapi.pos.errors import PosError
from syncapi.pos.gateway import iter_batches
from syncapi.pos.png import PNG_SIGNATURE, png_size, swatch_png
from syncapi.pos.seed import SHOP_LOCATION_CODE, demo_sku_count, seed_demo
from tests.conftest import base_settings
from tests.fixtures_pos import add_product, snapshot


def _all(read):
    return [item for batch in iter_batches(read, limit=17) for item in batch.items]


def _decode_png(content: bytes) -> tuple[int, int, bytes]:
    """Width, height and raw scanlines of a PNG, checking every chunk's CRC on the way."""
    assert content.startswith(PNG_SIGNATURE)
    offset, idat, size = len(PNG_SIGNATURE), b"", None
    while offset < len(content):
        (length,) = struct.unpack(">I", content[offset : offset + 4])
        kind = content[offset + 4 : offset + 8]
        data = content[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", content[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF, kind
        if kind == b"IHDR":
            size = struct.unpack(">II", data[:8])
            assert data[8:10] == b"\x08\x02"  # 8-bit RGB
        elif kind == b"IDAT":
            idat += data
        offset += 12 + length
    assert kind == b"IEND" and size is not None
    return size[0], size[1], zlib.decompress(idat)


def test_swatch_png_is_a_valid_image_of_its_colours():
    width, height, raw = _decode_png(swatch_png(5, 10, (10, 20, 30), band=(200, 100, 0)))
    assert (width, height) == (5, 10)
    rows = [raw[row * 16 : (row + 1) * 16] for row in range(10)]
    assert rows[0] == b"\x00" + bytes((10, 20, 30)) * 5
    assert rows[5] == b"\x00" + bytes((200, 100, 0)) * 5
    assert png_size(swatch_png(3, 4, (0, 0, 0))) == (3, 4)
    with pytest.raises(ValueError):
        swatch_png(0, 1, (0, 0, 0))
    with pytest.raises(ValueError):
        png_size(b"GIF89a....")


def test_demo_shop_is_believable(seeded_pos):
    pos = seeded_pos
    products = _all(pos.changed_products)
    assert len(products) == demo_sku_count() >= 50
    assert len({p.sku for p in products}) == len(products)

    styles: dict[str, list] = {}
    for product in products:
        if product.parent_sku:
            styles.setdefault(product.parent_sku, []).append(product)
    assert styles, "at least one style with variants"
    for variants in styles.values():
        combos = [(v.colour, v.size) for v in variants]
        assert all(colour and size for colour, size in combos)
        assert len(set(combos)) == len(combos) > 1
        assert len({v.colour for v in variants}) > 1 and len({v.size for v in variants}) > 1

    assert sum(not p.internet_active for p in products) == 2
    assert sum(p.sale_price is not None for p in products) >= 3
    assert all(p.sale_price is None or p.sale_price < p.retail_price for p in products)
    codes = Counter(a.code for p in products for a in p.attributes)
    assert codes["material"] >= 3 and codes["brand"] >= 3

    categories = _all(pos.changed_categories)
    tops = {c.id: c.name for c in categories if c.parent_id is None}
    assert set(tops.values()) == {"Women", "Men", "Accessories"}
    assert all(any(c.parent_id == top for c in categories) for top in tops)
    assert {p.category_id for p in products} <= {c.id for c in categories if c.parent_id is not None}

    images = _all(pos.changed_images)
    assert {i.sku for i in images} == {p.sku for p in products}
    for image in images:
        width, height, _ = _decode_png(image.content)
        assert (width, height) == (64, 64) and image.media_type == "image/png"
    assert any(i.position == 1 for i in images)

    stock = _all(pos.changed_stock)
    assert {s.sku for s in stock} == {p.sku for p in products}
    assert all(s.location_code == "WEB" for s in stock)
    assert any(s.on_hand == 0 for s in stock) and any(s.on_hand > 5 for s in stock)

    customers = _all(pos.changed_customers)
    assert len(customers) >= 3 and all("@" in c.email and c.magento_id is None for c in customers)


def test_demo_shop_stocks_a_second_location(seeded_pos):

    with seeded_pos.engine.connect() as connection:
        locations = Counter(connection.scalars(select(m.Stock.location_code)))
    assert locations == {"WEB": demo_sku_count(), SHOP_LOCATION_CODE: demo_sku_count()}


def test_seeding_twice_writes_nothing_the_second_time(pos):
    first = seed_demo(pos.engine, pos.location_code)
    assert first.created and first.counts["products"] == demo_sku_count()
    before = snapshot(pos.engine)
    second = seed_demo(pos.engine, pos.location_code)
    assert not second.created
    assert snapshot(pos.engine) == before


def test_seed_refuses_a_pos_holding_other_products(pos):
    add_product(pos.engine, "REAL-1")
    before = snapshot(pos.engine)
    with pytest.raises(PosError, match="already holds 1 products that are not the demo"):
        seed_demo(pos.engine, pos.location_code)
    assert snapshot(pos.engine) == before


@pytest.fixture
def app_settings(tmp_path, database_url):
    """The app's POS database is the per-backend test database, with stock at location STORE9."""
    return base_settings(tmp_path, POS_DATABASE_URL=database_url, POS_LOCATION_CODE="STORE9")


def test_seed_command_needs_init_then_seeds_once_at_the_configured_location(app):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["pos", "seed", "--demo"])
    assert refused.exit_code == 1 and "pos init" in refused.output
    no_flag = runner.invoke(args=["pos", "seed"])
    assert no_flag.exit_code == 2 and "--demo" in no_flag.output

    assert runner.invoke(args=["pos", "init"]).exit_code == 0
    seeded = runner.invoke(args=["pos", "seed", "--demo"])
    assert seeded.exit_code == 0, seeded.output
    assert f"{demo_sku_count()} products" in seeded.output and "STORE9" in seeded.output
    engine = app.extensions["services"].pos_engine
    assert migrate.current_revision(engine) == migrate.head_revision()
    before = snapshot(engine)
    assert before["products"] == demo_sku_count()

    with engine.connect() as connection:
        assert set(connection.scalars(select(m.Stock.location_code))) == {"STORE9", SHOP_LOCATION_CODE}

    again = runner.invoke(args=["pos", "seed", "--demo"])
    assert again.exit_code == 0 and "nothing written" in again.output
    if_empty = runner.invoke(args=["pos", "seed", "--demo", "--if-empty"])
    assert if_empty.exit_code == 0 and "not seeding" in if_empty.output
    assert snapshot(engine) == before
