"""Changed-since reads: stable order, batches, cursors that never skip a row sharing a timestamp, checkpoints
that read late commits again; reads by key; failures of the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from syncapi.db import make_engine
from syncapi.pos import models as m
from syncapi.pos.errors import PosUnavailableError, PosValidationError
from syncapi.pos.gateway import Cursor, CustomerIn, PosGateway, iter_batches
from syncapi.pos.png import swatch_png
from syncapi.pos.sql import SqlPosGateway
from tests.fixtures_pos import add_product, add_rows

T0 = datetime(2024, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)


def read_all(read, after=None, limit=3):
    """Every item of a changed-since read, and the batches it took."""
    batches = list(iter_batches(read, after, limit))
    return [item for batch in batches for item in batch.items], batches


def test_sql_gateway_implements_the_protocol(pos):
    assert isinstance(pos, PosGateway)
    assert pos.location_code == "WEB"


def test_products_sharing_a_timestamp_across_batch_boundaries_are_each_read_once(pos):
    skus = [f"SKU-{n:02d}" for n in range(8)]
    for sku in reversed(skus):  # inserted out of key order: the order must come from the key, not the insert
        add_product(pos.engine, sku, updated_at=T0)
    add_product(pos.engine, "AAA-LATER", updated_at=T0 + timedelta(microseconds=1))
    add_product(pos.engine, "ZZZ-EARLIER", updated_at=T0 - timedelta(seconds=1))

    products, batches = read_all(pos.changed_products, limit=3)
    assert [p.sku for p in products] == ["ZZZ-EARLIER", *skus, "AAA-LATER"]
    assert [len(b.items) for b in batches] == [3, 3, 3, 1]
    assert [b.has_more for b in batches] == [True, True, True, False]
    assert all(p.updated_at.tzinfo is not None for p in products)
    assert products[1].updated_at == T0
    assert batches[-1].cursor == Cursor(T0 + timedelta(microseconds=1), "AAA-LATER")

    # Read again from the middle of the same-timestamp run: exactly the rest, nothing twice, nothing missed.
    rest, _ = read_all(pos.changed_products, after=Cursor(T0, "SKU-03"), limit=2)
    assert [p.sku for p in rest] == ["SKU-04", "SKU-05", "SKU-06", "SKU-07", "AAA-LATER"]


def test_a_row_written_later_with_the_same_timestamp_and_a_higher_key_is_read_next(pos):
    for sku in ("A", "B", "C"):
        add_product(pos.engine, sku, updated_at=T0)
    first = pos.changed_products(None, 2)
    assert [p.sku for p in first.items] == ["A", "B"] and first.has_more
    add_product(pos.engine, "BB", updated_at=T0)
    second = pos.changed_products(first.cursor, 2)
    assert [p.sku for p in second.items] == ["BB", "C"] and not second.has_more
    empty = pos.changed_products(second.cursor, 2)
    assert empty.items == () and not empty.has_more and empty.cursor == second.cursor


@pytest.mark.parametrize("kind", ["customers", "categories", "images", "stock", "prices"])
def test_every_changed_read_pages_through_equal_timestamps_in_key_order(pos, kind):
    if kind == "customers":
        add_rows(pos.engine, *(m.Customer(email=f"c{n}@example.com", updated_at=T0) for n in range(7)))
    elif kind == "categories":
        add_rows(pos.engine, *(m.Category(name=f"Category {n}", updated_at=T0) for n in range(7)))
    else:
        for n in range(7):
            add_product(pos.engine, f"P{n}", updated_at=T0)
        if kind == "images":
            add_rows(
                pos.engine,
                *(
                    m.ProductImage(sku=f"P{n}", position=0, filename=f"p{n}.png", content=swatch_png(2, 2, (n, 0, 0)),
                                   updated_at=T0)
                    for n in range(7)
                ),
            )  # fmt: skip
    read = getattr(pos, f"changed_{kind}")
    items, batches = read_all(read, limit=2)
    keys = [getattr(item, "id", None) if kind in ("customers", "categories", "images") else item.sku for item in items]
    assert len(keys) == 7 and keys == sorted(keys) and len(set(keys)) == 7
    assert len(batches) == 4
    assert all(item.updated_at == T0 for item in items)


def test_a_changed_attribute_makes_its_product_changed(pos):
    add_product(pos.engine, "PLAIN", updated_at=T0)
    add_product(pos.engine, "WITH-ATTR", updated_at=T0)
    add_rows(pos.engine, m.ProductAttribute(sku="WITH-ATTR", code="material", value="wool", updated_at=T0))
    everything = pos.changed_products(None, 10)
    assert [p.sku for p in everything.items] == ["PLAIN", "WITH-ATTR"]
    assert everything.items[1].attribute_values() == {"material": "wool"}

    later = T0 + timedelta(minutes=5)
    with pos.engine.begin() as connection:
        connection.execute(
            update(m.ProductAttribute)
            .where(m.ProductAttribute.sku == "WITH-ATTR")
            .values(value="silk", updated_at=later)
        )
    changed = pos.changed_products(everything.cursor, 10)
    assert [(p.sku, p.updated_at, p.attribute_values()) for p in changed.items] == [
        ("WITH-ATTR", later, {"material": "silk"})
    ]
    assert pos.get_products(["WITH-ATTR"])[0].updated_at == later


def test_an_orm_update_moves_updated_at_forward(pos):
    add_product(pos.engine, "EDITED", updated_at=T0)

    with Session(pos.engine) as session:
        product = session.get(m.Product, 1)
        product.sale_price = Decimal("7.50")
        session.commit()
    [price] = pos.get_prices(["EDITED"])
    assert price.sale_price == Decimal("7.5000") and price.updated_at > T0 + timedelta(days=1)


def test_stock_reads_only_the_gateway_location(pos):
    add_product(pos.engine, "S1", updated_at=T0, on_hand=4)
    add_rows(pos.engine, m.Stock(sku="S1", location_code="SHOP1", on_hand=Decimal(99), updated_at=T0))
    levels = pos.changed_stock(None, 10).items
    assert [(s.sku, s.location_code, s.on_hand) for s in levels] == [("S1", "WEB", Decimal("4.0000"))]
    shop = SqlPosGateway(pos.engine, "SHOP1")
    assert [s.on_hand for s in shop.get_stock(["S1", "UNKNOWN"])] == [Decimal(99)]


def test_checkpoint_trails_recent_rows_so_a_late_commit_is_read_next_run(pos):
    now = datetime.now(UTC)
    add_product(pos.engine, "OLD", updated_at=now - timedelta(hours=1))
    add_product(pos.engine, "RECENT", updated_at=now - timedelta(seconds=5))
    batch = pos.changed_products(None, 10)
    assert [p.sku for p in batch.items] == ["OLD", "RECENT"]
    assert batch.cursor == Cursor(now - timedelta(seconds=5), "RECENT")
    assert batch.checkpoint.key is None
    settle = timedelta(seconds=pos.settle_s)
    assert now - settle <= batch.checkpoint.updated_at <= datetime.now(UTC) - settle

    # A transaction that began before RECENT was written commits now, its row stamped earlier than RECENT.
    add_product(pos.engine, "LATE", updated_at=now - timedelta(seconds=10))
    assert pos.changed_products(batch.cursor, 10).items == ()
    next_run = pos.changed_products(batch.checkpoint, 10)
    assert [p.sku for p in next_run.items] == ["LATE", "RECENT"]

    # Rows older than the settle time need no overlap: the checkpoint is the cursor itself.
    old = pos.changed_products(None, 1)
    assert old.checkpoint == old.cursor == Cursor(now - timedelta(hours=1), "OLD")


def test_cursor_round_trips_and_rejects_what_it_did_not_write(pos):
    for cursor in (Cursor(T0, "SKU-1"), Cursor(T0, 42), Cursor(T0, None)):
        assert Cursor.decode(cursor.encode()) == cursor
    naive = Cursor(T0.replace(tzinfo=None), "X")
    assert naive.updated_at == T0
    for token in ("", "{}", '{"updated_at": "yesterday", "key": 1}', '{"updated_at": "2024-01-01", "key": [1]}'):
        with pytest.raises(PosValidationError, match="not a POS cursor"):
            Cursor.decode(token)
    with pytest.raises(PosValidationError, match="belongs to another read"):
        pos.changed_customers(Cursor(T0, "SKU-1"))
    with pytest.raises(PosValidationError, match="belongs to another read"):
        pos.changed_products(Cursor(T0, 7))
    with pytest.raises(PosValidationError, match="limit"):
        pos.changed_products(None, 0)
    with pytest.raises(PosValidationError, match="expected a Cursor"):
        pos.changed_stock(Cursor(T0, "X").encode())


def test_reads_by_key_return_what_exists_in_key_order(pos):
    add_product(pos.engine, "B-VAR-2", parent_sku="STYLE-B", colour="Red", size="M", on_hand=None)
    add_product(pos.engine, "B-VAR-1", parent_sku="STYLE-B", colour="Red", size="S", on_hand=3)
    add_product(pos.engine, "A-PLAIN", price="12.3456")
    add_rows(
        pos.engine,
        m.ProductImage(sku="A-PLAIN", position=1, filename="a-1.png", content=swatch_png(1, 1, (1, 2, 3))),
        m.ProductImage(sku="A-PLAIN", position=0, filename="a-0.png", content=swatch_png(1, 1, (3, 2, 1))),
    )
    assert [p.sku for p in pos.get_products(["B-VAR-2", "NOPE", "A-PLAIN", "A-PLAIN"])] == ["A-PLAIN", "B-VAR-2"]
    assert [p.sku for p in pos.get_style(["STYLE-B", "NO-STYLE"])] == ["B-VAR-1", "B-VAR-2"]
    assert [(i.sku, i.position) for i in pos.get_images(["A-PLAIN", "B-VAR-1"])] == [("A-PLAIN", 0), ("A-PLAIN", 1)]
    assert pos.get_images(["A-PLAIN"])[0].sha256 != pos.get_images(["A-PLAIN"])[1].sha256
    assert [s.sku for s in pos.get_stock(["B-VAR-1", "B-VAR-2"])] == ["B-VAR-1"]
    [price] = pos.get_prices(["A-PLAIN"])
    assert price.retail_price == Decimal("12.3456") and price.sale_price is None
    assert pos.get_products([]) == []
    with pytest.raises(PosValidationError, match="missing"):
        pos.get_products([None])


def test_reads_by_key_split_long_key_lists(pos):
    add_rows(pos.engine, *(m.Customer(email=f"bulk{n}@example.com") for n in range(1200)))
    found = pos.get_customers(range(1, 1301))
    assert [c.id for c in found] == list(range(1, 1201))


def test_categories_and_customers_by_id(pos):
    add_rows(pos.engine, m.Category(name="Women"), m.Customer(email="x@example.com", first_name="X"))
    add_rows(pos.engine, m.Category(name="Dresses", parent_id=1))
    assert [(c.name, c.parent_id) for c in pos.get_categories([2, 1])] == [("Women", None), ("Dresses", 1)]
    assert [c.email for c in pos.get_customers([1, 99])] == ["x@example.com"]
    assert pos.find_customer(email="X@Example.com").id == 1
    assert pos.find_customer(magento_id=5) is None


def test_unreachable_database_is_a_retryable_error():
    engine = make_engine("postgresql+psycopg://postgres:postgres@127.0.0.1:9/nowhere?connect_timeout=2")
    try:
        gateway = SqlPosGateway(engine, "WEB")
        with pytest.raises(PosUnavailableError, match="unavailable") as caught:
            gateway.changed_products()
        assert caught.value.retryable
    finally:
        engine.dispose()


def test_database_without_pos_tables_says_to_run_pos_init(database_url):
    engine = make_engine(database_url)
    try:
        gateway = SqlPosGateway(engine, "WEB")
        with pytest.raises(PosUnavailableError, match="pos init"):
            gateway.changed_stock()
        with pytest.raises(PosUnavailableError, match="pos init"):
            gateway.ensure_customer(CustomerIn(email="a@example.com"))
    finally:
        engine.dispose()


def test_gateway_needs_a_location(pos_engine):
    with pytest.raises(PosValidationError, match="POS_LOCATION_CODE"):
        SqlPosGateway(pos_engine, " ")


def test_the_process_gateway_is_built_once_from_its_settings(app):
    svc = app.extensions["services"]
    gateway = svc.pos
    assert isinstance(gateway, SqlPosGateway) and isinstance(gateway, PosGateway)
    assert gateway.location_code == app.extensions["services"].settings.pos_location_code
    assert gateway.engine is app.extensions["services"].pos_engine
    assert svc.pos is gateway


def test_reads_by_key_refuse_keys_of_the_wrong_kind(pos):
    with pytest.raises(PosValidationError, match="not the single string"):
        pos.get_products("SKU-1")
    with pytest.raises(PosValidationError, match="keys must be ints"):
        pos.get_customers(["1"])
    with pytest.raises(PosValidationError, match="keys must be strs"):
        pos.get_stock([1])
    with pytest.raises(PosValidationError, match="positive whole number"):
        pos.find_sale("abc")


def test_rows_stamped_by_the_database_default_page_like_the_applications(pos):
    # Another program inserts customers with plain SQL, leaving updated_at to the column default: all five
    # rows of the one statement share a timestamp, which must not lose any of them at a batch boundary.
    values = ", ".join(f"('raw{n}@example.com', '', '')" for n in range(5))
    with pos.engine.begin() as connection:
        connection.execute(text(f"INSERT INTO customers (email, first_name, last_name) VALUES {values}"))  # noqa: S608
    first = pos.changed_customers(None, 2)
    rest, _ = read_all(pos.changed_customers, after=first.cursor, limit=2)
    customers = [*first.items, *rest]
    assert [c.email for c in customers] == [f"raw{n}@example.com" for n in range(5)]
    assert len({c.updated_at for c in customers}) == 1
    assert abs(customers[0].updated_at - datetime.now(UTC)) < timedelta(minutes=1)
    add_rows(pos.engine, m.Customer(email="orm@example.com"))
    assert [c.email for c in pos.changed_customers(Cursor(customers[-1].updated_at, customers[-1].id)).items] == [
        "orm@example.com"
    ]
