"""The reference POS tables: migrations that agree with the models, run twice safely, beside other tables."""

from __future__ import annotations

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
    assert migrate.current_revision(app.extensions["pos_engine"]) == migrate.head_revision()
