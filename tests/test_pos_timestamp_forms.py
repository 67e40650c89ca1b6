"""Changed-since reads of rows written by another program with plain SQL, in every timestamp form the database
accepts (its own CURRENT_TIMESTAMP, with and without fractions of a second, a 'T' separator, a zone suffix):
every row is found once, in the order of the moments they name, across more than three batches; and a full push
that reads fewer rows than the POS holds fails instead of reporting success."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from syncapi.pos.gateway import Cursor, iter_batches
from syncapi.pos.png import swatch_png
from syncapi.state import RUN_FAILED, RUN_SUCCEEDED

#: A whole second: the forms below write it, or a quarter of a second after it, in different ways.
BASE = datetime(2024, 3, 1, 9, 30, 0, tzinfo=UTC)
QUARTER = timedelta(milliseconds=250)

#: (name, SQL literal for the moment `d`, the moment it names): forms SQLite's date functions and PostgreSQL
#: both accept. Several name the same moment, so ties across forms fall on batch boundaries.
FORMS: list[tuple[str, Callable[[datetime], str], Callable[[datetime], datetime]]] = [
    ("seconds", lambda d: f"'{d:%Y-%m-%d %H:%M:%S}'", lambda d: d),
    ("T separator", lambda d: f"'{d:%Y-%m-%dT%H:%M:%S}'", lambda d: d),
    ("offset", lambda d: f"'{d + timedelta(hours=2):%Y-%m-%d %H:%M:%S}+02:00'", lambda d: d),
    ("milliseconds", lambda d: f"'{d:%Y-%m-%d %H:%M:%S}.250'", lambda d: d + QUARTER),
    ("microseconds", lambda d: f"'{d:%Y-%m-%d %H:%M:%S}.250000'", lambda d: d + QUARTER),
    ("one digit, T and Z", lambda d: f"'{d:%Y-%m-%dT%H:%M:%S}.25Z'", lambda d: d + QUARTER),
    ("seven digits", lambda d: f"'{d:%Y-%m-%d %H:%M:%S}.2500000'", lambda d: d + QUARTER),
]
#: Rows per batch in the gateway tests; each catalogue holds more than three batches.
LIMIT = 4
ROWS = 4 * LIMIT + 3


def stamped(count: int) -> list[tuple[str, str, datetime]]:
    """`count` rows' (key suffix, SQL timestamp, moment): forms taken in turn, three rows per second."""
    rows = []
    for n in range(count):
        _name, literal, moment = FORMS[n % len(FORMS)]
        second = BASE + timedelta(seconds=n // 3)
        rows.append((f"{n:04d}", literal(second), moment(second)))
    return rows


def insert(engine, table: str, columns: dict[str, str], rows: list[dict]) -> None:
    """Plain INSERTs as another program writes them: `columns` maps each column to its SQL (a :param or an
    expression); every NOT NULL column is given."""
    names = ", ".join(columns)
    values = ", ".join(columns.values())
    with engine.begin() as connection:
        for row in rows:
            connection.execute(text(f"INSERT INTO {table} ({names}) VALUES ({values})"), row)  # noqa: S608


def insert_products(engine, rows: list[tuple[str, str]], *, active: bool = True) -> None:
    """Products (SKU, SQL timestamp) with every NOT NULL column given, grouped by timestamp form."""
    by_stamp: dict[str, list[dict]] = {}
    for sku, stamp in rows:
        by_stamp.setdefault(stamp, []).append({"sku": sku, "name": f"Product {sku}", "active": active})
    with engine.begin() as connection:
        for stamp, params in by_stamp.items():
            connection.execute(
                text(
                    "INSERT INTO products (sku, name, retail_price, attribute_set, internet_active, created_at, "  # noqa: S608
                    f"updated_at) VALUES (:sku, :name, 12.5, 'Default', :active, {stamp}, {stamp})"
                ),
                params,
            )


def read_all(read, limit=LIMIT, after=None):
    batches = list(iter_batches(read, after, limit))
    return [item for batch in batches for item in batch.items], batches


def expected_order(rows: list[tuple[object, str, datetime]]) -> list[tuple[object, datetime]]:
    return sorted(((key, moment) for key, _stamp, moment in rows), key=lambda pair: (pair[1], pair[0]))


def test_products_in_every_form_are_each_read_once_in_moment_order(pos):
    rows = [(f"SKU-{suffix}", stamp, moment) for suffix, stamp, moment in stamped(ROWS)]
    insert_products(pos.engine, [(sku, stamp) for sku, stamp, _moment in rows])
    for read in (pos.changed_products, pos.changed_prices):
        items, batches = read_all(read)
        assert len(batches) > 3
        assert [(item.sku, item.updated_at) for item in items] == expected_order(rows)
    assert pos.count_products() == ROWS


def test_an_attribute_written_in_another_form_orders_its_product_by_the_later_moment(pos):
    rows = [(f"SKU-{suffix}", stamp, moment) for suffix, stamp, moment in stamped(ROWS)]
    insert_products(pos.engine, [(sku, stamp) for sku, stamp, _moment in rows])
    # Text order and moment order disagree here: 'T' sorts after ' ', yet this attribute is a second older.
    older = BASE + timedelta(seconds=ROWS)
    insert(
        pos.engine,
        "product_attributes",
        {"sku": ":sku", "code": "'material'", "value": "'wool'", "updated_at": f"'{older:%Y-%m-%dT%H:%M:%S}'"},
        [{"sku": rows[-1][0]}],
    )
    newer = older + timedelta(seconds=1)
    insert(
        pos.engine,
        "product_attributes",
        {"sku": ":sku", "code": "'material'", "value": "'silk'", "updated_at": f"'{newer:%Y-%m-%d %H:%M:%S}'"},
        [{"sku": rows[0][0]}],
    )
    items, _ = read_all(pos.changed_products)
    moments = {item.sku: item.updated_at for item in items}
    assert len(items) == ROWS
    assert moments[rows[0][0]] == newer
    assert moments[rows[-1][0]] == older
    assert [item.sku for item in items][-2:] == [rows[-1][0], rows[0][0]]


def test_stock_categories_customers_and_images_in_every_form_are_each_read_once(pos):
    rows = stamped(ROWS)
    insert_products(pos.engine, [(f"SKU-{suffix}", stamp) for suffix, stamp, _moment in rows])
    for suffix, stamp, _moment in rows:
        insert(
            pos.engine,
            "stock",
            {"sku": ":sku", "location_code": ":location", "on_hand": "3", "updated_at": stamp},
            [{"sku": f"SKU-{suffix}", "location": pos.location_code}],
        )
        insert(pos.engine, "categories", {"name": ":name", "updated_at": stamp}, [{"name": f"Category {suffix}"}])
        insert(
            pos.engine,
            "customers",
            {"email": ":email", "first_name": "'A'", "last_name": "'B'", "updated_at": stamp},
            [{"email": f"c{suffix}@example.com"}],
        )
        insert(
            pos.engine,
            "product_images",
            {"sku": ":sku", "position": "0", "filename": "'a.png'", "content": ":content", "updated_at": stamp},
            [{"sku": f"SKU-{suffix}", "content": swatch_png(2, 2, (200, 0, 0))}],
        )
    by_sku = [(f"SKU-{suffix}", stamp, moment) for suffix, stamp, moment in rows]
    stock, batches = read_all(pos.changed_stock)
    assert len(batches) > 3
    assert [(level.sku, level.updated_at) for level in stock] == expected_order(by_sku)
    # Ids follow insertion order, so the n-th row of `rows` has id n + 1.
    by_id = [(n + 1, stamp, moment) for n, (_suffix, stamp, moment) in enumerate(rows)]
    for read, count in (
        (pos.changed_categories, pos.count_categories),
        (pos.changed_customers, pos.count_customers),
        (pos.changed_images, pos.count_images),
    ):
        items, batches = read_all(read)
        assert len(batches) > 3
        assert [(item.id, item.updated_at) for item in items] == expected_order(by_id)
        assert count() == ROWS
    assert pos.count_stock() == ROWS


def test_rows_stamped_with_current_timestamp_in_one_second_are_all_read(pos):
    # CURRENT_TIMESTAMP has no fraction on SQLite: every row of the statement shares one whole second.
    rows = [(f"NOW-{n:02d}", "CURRENT_TIMESTAMP") for n in range(ROWS)]
    insert_products(pos.engine, rows)
    items, batches = read_all(pos.changed_products)
    assert len(batches) > 3
    assert [item.sku for item in items] == [sku for sku, _stamp in rows]
    assert abs(items[0].updated_at - datetime.now(UTC)) < timedelta(minutes=1)
    # Another program's later rows are found after the last cursor, and nothing is read twice.
    insert_products(pos.engine, [("NOW-LATER", "CURRENT_TIMESTAMP")])
    after = Cursor(items[-1].updated_at, items[-1].sku)
    later, _ = read_all(pos.changed_products, after=after)
    assert [item.sku for item in later] == ["NOW-LATER"]


def test_a_cursor_between_forms_of_one_moment_resumes_exactly_there(pos):
    second = BASE
    rows = [(f"TIE-{n}", literal(second)) for n, (_name, literal, _moment) in enumerate(FORMS[:3])]
    insert_products(pos.engine, rows)
    for n in range(3):
        after = Cursor(second, f"TIE-{n}")
        assert [p.sku for p in pos.changed_products(after, 10).items] == [f"TIE-{m}" for m in range(n + 1, 3)]
    # A checkpoint (key None) at that moment includes every form of it.
    assert len(pos.changed_products(Cursor(second, None), 10).items) == 3


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_time_sqlite_cannot_read_is_left_out_of_reads_but_counted(pos):
    insert_products(pos.engine, [("GOOD", "CURRENT_TIMESTAMP"), ("BAD", "'yesterday'")])
    assert [p.sku for p in pos.changed_products(None, 10).items] == ["GOOD"]
    assert pos.count_products() == 2


def test_a_full_push_reading_fewer_rows_than_the_pos_holds_fails_saying_so(outbound, magento):
    insert_products(outbound.engine, [(f"OK-{n}", "CURRENT_TIMESTAMP") for n in range(3)])
    insert_products(outbound.engine, [("UNREADABLE", "'not a time'")])
    run = outbound.push("products", full=True)
    assert run.status == RUN_FAILED
    assert "found 3 of the 4 the POS holds" in run.reason
    assert "1 were skipped" in run.reason
    # What was read was still sent; the watermark did not move, so the next run reads everything again.
    assert set(magento.state("products")) == {"OK-0", "OK-1", "OK-2"}


def test_a_pos_of_5000_products_written_by_plain_sql_is_pushed_whole(outbound_db, magento):
    rows = [(f"BULK-{suffix}", stamp) for suffix, stamp, _moment in stamped(4000)]
    rows += [(f"BULK-NOW-{n:04d}", "CURRENT_TIMESTAMP") for n in range(1000)]
    insert_products(outbound_db.engine, rows)
    run = outbound_db.push("products", full=True)
    assert run.status == RUN_SUCCEEDED, run.reason
    assert run.counts["created"] == 5000
    assert {sku for sku in magento.state("products") if sku.startswith("BULK-")} == {sku for sku, _ in rows}
