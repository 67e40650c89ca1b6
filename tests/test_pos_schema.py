"""The reference POS tables: migrations that agree with the models, run twice safely, beside other tables."""

from __future__ import annotations

from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from syncapi import db
from syncapi.pos import migrate
from syncapi.pos.models import PosBase
from tests.conftest import base_settings

CONTRACT_COLUMNS = {
    "products": {"sku", "parent_sku", "name", "description", "long_description_html", "category_id", "colour",
                 "size", "retail_price", "sale_price", "attribute_set", "internet_active", "updated_at"},
    "product_images": {"sku", "position", "filename", "content", "updated_at"},
    "product_attributes": {"sku", "code", "value", "updated_at"},
    "categories": {"id", "parent_id", "name", "magento_id", "updated_at"},
    "stock": {"sku", "location_code", "on_hand", "updated_at"},
    "customers": {"id", "email", "first_name", "last_name", "phone", "magento_id", "updated_at"},
    "sales": {"id", "magento_order_id", "magento_increment_id", "customer_id", "location_code", "tender_type",
              "subtotal", "discount", "shipping", "tax", "grand_total", "created_at"},
    "sale_lines": {"sale_id", "sku", "qty", "unit_price", "discount", "line_total"},
    "invoices": {"id", "magento_invoice_id", "sale_id", "customer_id", "grand_total", "created_at"},
    "payments": {"id", "invoice_id", "customer_id", "amount", "method"},
    "credit_notes": {"id", "magento_creditmemo_id", "invoice_id", "customer_id", "grand_total", "created_at"},
    "refunds": {"id", "credit_note_id", "customer_id", "amount", "method"},
}  # fmt: skip

CONTRACT_UNIQUE = {
    "products": [["sku"]],
    "product_attributes": [["sku", "code"]],
    "stock": [["sku", "location_code"]],
    "customers": [["email"], ["magento_id"]],
    "sales": [["magento_order_id"]],
    "invoices": [["magento_invoice_id"]],
    "credit_notes": [["magento_creditmemo_id"]],
}

MONEY_COLUMNS = {
    "products": ["retail_price", "sale_price"],
    "sales": ["subtotal", "discount", "shipping", "tax", "grand_total"],
    "sale_lines": ["qty", "unit_price", "discount", "line_total"],
    "invoices": ["grand_total"],
    "payments": ["amount"],
    "credit_notes": ["grand_total"],
    "refunds": ["amount"],
    "stock": ["on_hand"],
}


def test_upgrade_creates_every_contract_table_column_and_unique_constraint(pos_engine):
    inspector = inspect(pos_engine)
    for table, columns in CONTRACT_COLUMNS.items():
        assert columns <= {column["name"] for column in inspector.get_columns(table)}, table
    for table, expected in CONTRACT_UNIQUE.items():
        constraints = inspector.get_unique_constraints(table)
        for columns in expected:
            names = [c["name"] for c in constraints if c["column_names"] == columns]
            assert names == [f"uq_{table}_{'_'.join(columns)}"], (table, columns, constraints)
    for table, columns in MONEY_COLUMNS.items():
        types = {column["name"]: column["type"] for column in inspector.get_columns(table)}
        for name in columns:
            assert (types[name].precision, types[name].scale) == (12, 4), (table, name, types[name])
    for table in ("products", "product_images", "product_attributes", "categories", "stock", "customers"):
        indexed = {tuple(index["column_names"]) for index in inspector.get_indexes(table)}
        assert ("updated_at",) in indexed, table


def test_upgrade_is_idempotent_and_records_its_own_version_table(pos_engine):
    assert migrate.current_revision(pos_engine) == migrate.head_revision()
    assert migrate.upgrade(pos_engine) == migrate.head_revision()
    assert migrate.upgrade(pos_engine) == migrate.head_revision()
    tables = set(inspect(pos_engine).get_table_names())
    assert migrate.VERSION_TABLE in tables
    assert "alembic_version" not in tables  # left to the service's own tables


def test_models_and_migrations_agree(pos_engine):
    with pos_engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _: kind != "table" or name in PosBase.metadata.tables,
            },
        )
        assert compare_metadata(context, PosBase.metadata) == []


def test_upgrade_leaves_other_tables_and_their_alembic_version_alone(database_url):
    engine = db.make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
            connection.execute(text("INSERT INTO alembic_version VALUES ('state-head')"))
            connection.execute(text("CREATE TABLE sync_links (id INTEGER PRIMARY KEY)"))
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        migrate.upgrade(engine)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "state-head"
        assert {"sync_links", "products"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture
def app_settings(tmp_path, database_url):
    """The app's POS database is the per-backend test database."""
    return base_settings(tmp_path, POS_DATABASE_URL=database_url)


def test_pos_init_command_creates_then_reports_up_to_date(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["pos", "init"])
    assert first.exit_code == 0, first.output
    assert f"upgraded from revision none to {migrate.head_revision()}" in first.output
    second = runner.invoke(args=["pos", "init"])
    assert second.exit_code == 0, second.output
    assert f"up to date (revision {migrate.head_revision()})" in second.output
    assert migrate.current_revision(app.extensions["services"].pos_engine) == migrate.head_revision()


# --- revision 0002: money columns, states, plain-SQL defaults -----------------------------------------------

MONEY_COLUMNS_0002 = {
    "sales": {"currency", "order_currency", "order_grand_total", "base_to_order_rate", "status", "voided_at", "note"},
    "sale_lines": {"tax", "tax_percent"},
    "sale_tenders": {"sale_id", "tender_type", "amount"},
    "invoices": {"currency", "order_currency", "order_grand_total", "status"},
    "payments": {"voided_at"},
    "credit_notes": {"currency", "status"},
    "credit_note_lines": {"credit_note_id", "sku", "qty", "returned_qty", "location_code"},
    "refunds": {"online"},
    "customers": {"note", "customer_group"},
    "fulfilments": {"id", "sale_id", "carrier", "tracking_number", "created_at"},
    "fulfilment_lines": {"fulfilment_id", "sku", "qty"},
    "price_levels": {"sku", "customer_group", "min_qty", "price"},
    "product_translations": {"sku", "store_code", "name", "description", "long_description_html"},
    "products": {"sale_price_from", "sale_price_to"},
}


def test_head_has_the_money_state_and_later_tables_columns(pos_engine):
    inspector = inspect(pos_engine)
    for table, columns in MONEY_COLUMNS_0002.items():
        assert columns <= {column["name"] for column in inspector.get_columns(table)}, table
    assert [c["column_names"] for c in inspector.get_unique_constraints("price_levels")] == [
        ["sku", "customer_group", "min_qty"]
    ]
    assert [c["column_names"] for c in inspector.get_unique_constraints("product_translations")] == [
        ["sku", "store_code"]
    ]


def test_plain_sql_inserts_take_the_database_defaults(pos_engine):
    """A POS program inserting only what it knows gets the defaults the service relies on."""
    with pos_engine.begin() as connection:
        connection.execute(text("INSERT INTO products (sku, name, retail_price) VALUES ('PLAIN-1', 'Plain', 9.5)"))
        connection.execute(text("INSERT INTO stock (sku, location_code) VALUES ('PLAIN-1', 'WEB')"))
        connection.execute(text("INSERT INTO customers (email) VALUES ('plain@example.com')"))
        customer_id = connection.scalar(text("SELECT id FROM customers WHERE email = 'plain@example.com'"))
        connection.execute(
            text(
                "INSERT INTO sales (customer_id, location_code, subtotal, grand_total) "
                "VALUES (:customer, 'SHOP', 9.5, 9.5)"
            ),
            {"customer": customer_id},
        )
        sale_id = connection.scalar(text("SELECT id FROM sales"))
        connection.execute(
            text(
                "INSERT INTO sale_lines (sale_id, line_no, sku, qty, unit_price, line_total) "
                "VALUES (:sale, 1, 'PLAIN-1', 1, 9.5, 9.5)"
            ),
            {"sale": sale_id},
        )
        connection.execute(text("INSERT INTO sale_tenders (sale_id, amount) VALUES (:sale, 9.5)"), {"sale": sale_id})
        connection.execute(
            text("INSERT INTO invoices (customer_id, grand_total) VALUES (:customer, 9.5)"), {"customer": customer_id}
        )
        connection.execute(text("INSERT INTO price_levels (sku, price) VALUES ('PLAIN-1', 8)"))
        product = connection.execute(
            text("SELECT attribute_set, internet_active, updated_at, created_at FROM products")
        ).one()
        sale = connection.execute(text("SELECT tender_type, discount, shipping, tax, status FROM sales")).one()
        line = connection.execute(text("SELECT discount, tax, tax_percent FROM sale_lines")).one()
        tender = connection.scalar(text("SELECT tender_type FROM sale_tenders"))
        invoice_status = connection.scalar(text("SELECT status FROM invoices"))
        stock = connection.scalar(text("SELECT on_hand FROM stock"))
        customer = connection.execute(text("SELECT first_name, last_name FROM customers")).one()
        level = connection.execute(text("SELECT customer_group, min_qty FROM price_levels")).one()
    assert product.attribute_set == "Default"
    assert not product.internet_active
    assert product.updated_at is not None and product.created_at is not None
    assert (sale.tender_type, sale.status) == ("web orders", "completed")
    assert [Decimal(str(v)) for v in (sale.discount, sale.shipping, sale.tax)] == [0, 0, 0]
    assert [Decimal(str(v)) for v in line] == [0, 0, 0]
    assert tender == "web orders"
    assert invoice_status == "paid"
    assert Decimal(str(stock)) == 0
    assert tuple(customer) == ("", "")
    assert (level.customer_group, Decimal(str(level.min_qty))) == ("ALL GROUPS", 1)


def test_upgrade_from_0001_keeps_the_rows_and_gives_them_the_new_defaults(database_url):
    engine = db.make_engine(database_url)
    try:
        migrate.upgrade(engine, "0001")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO products (sku, name, retail_price, attribute_set, internet_active) "
                    "VALUES ('OLD-1', 'Old', 12.34, 'Clothes', true)"
                )
            )
            connection.execute(
                text("INSERT INTO customers (email, first_name, last_name) VALUES ('old@example.com', 'O', 'Ld')")
            )
            connection.execute(
                text(
                    "INSERT INTO sales (magento_order_id, customer_id, location_code, tender_type, subtotal, discount,"
                    " shipping, tax, grand_total) VALUES (7, 1, 'WEB', 'web orders', 12.34, 0, 5, 1, 18.34)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO sale_lines (sale_id, line_no, sku, qty, unit_price, discount, tax, line_total) "
                    "VALUES (1, 1, 'OLD-1', 1, 12.34, 0, 1, 13.34)"
                )
            )
            connection.execute(
                text("INSERT INTO invoices (magento_invoice_id, customer_id, grand_total) VALUES (8, 1, 18.34)")
            )
            connection.execute(
                text("INSERT INTO payments (invoice_id, customer_id, amount, method) VALUES (1, 1, 18.34, 'web')")
            )
            connection.execute(
                text("INSERT INTO credit_notes (magento_creditmemo_id, customer_id, grand_total) VALUES (9, 1, 5)")
            )
            connection.execute(
                text("INSERT INTO refunds (credit_note_id, customer_id, amount, method) VALUES (1, 1, 5, 'web')")
            )
        assert migrate.upgrade(engine) == migrate.head_revision()
        with engine.connect() as connection:
            product = connection.execute(text("SELECT sku, attribute_set, internet_active FROM products")).one()
            sale = connection.execute(
                text("SELECT grand_total, status, currency, voided_at FROM sales WHERE magento_order_id = 7")
            ).one()
            line = connection.execute(text("SELECT tax, tax_percent, line_total FROM sale_lines")).one()
            invoice = connection.scalar(text("SELECT status FROM invoices"))
            payment = connection.execute(text("SELECT amount, voided_at FROM payments")).one()
            note = connection.scalar(text("SELECT status FROM credit_notes"))
            online = connection.scalar(text("SELECT online FROM refunds"))
        assert (product.sku, product.attribute_set, bool(product.internet_active)) == ("OLD-1", "Clothes", True)
        assert (Decimal(str(sale.grand_total)), sale.status, sale.currency, sale.voided_at) == (
            Decimal("18.34"),
            "completed",
            None,
            None,
        )
        assert [Decimal(str(v)) for v in line] == [Decimal(1), Decimal(0), Decimal("13.34")]
        assert invoice == "paid"
        assert (Decimal(str(payment.amount)), payment.voided_at) == (Decimal("18.34"), None)
        assert note == "refunded"
        assert not online
        with engine.begin() as connection:  # the defaults apply to plain inserts after the upgrade as well
            connection.execute(text("INSERT INTO products (sku, name, retail_price) VALUES ('NEW-1', 'New', 1)"))
            assert connection.scalar(text("SELECT attribute_set FROM products WHERE sku = 'NEW-1'")) == "Default"
    finally:
        engine.dispose()
