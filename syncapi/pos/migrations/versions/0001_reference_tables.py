"""The reference POS tables.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Types as they were at this revision; later model changes get their own revisions.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
MONEY = sa.Numeric(12, 4)
# The current UTC time in the form each backend stores: on SQLite the same text as the application writes
# (microseconds included), or same-second rows would compare wrongly against the cursors.
NOW_BY_DIALECT = {
    "sqlite": "(strftime('%Y-%m-%d %H:%M:%f000', 'now'))",
    "mysql": "(UTC_TIMESTAMP(6))",
    "mariadb": "(UTC_TIMESTAMP(6))",
}


def _now() -> sa.TextClause:
    return sa.text(NOW_BY_DIALECT.get(op.get_context().dialect.name, "CURRENT_TIMESTAMP"))


def _updated_at() -> sa.Column:
    return sa.Column("updated_at", TIMESTAMP, nullable=False, server_default=_now())


def _created_at(name: str = "created_at") -> sa.Column:
    return sa.Column(name, TIMESTAMP, nullable=False, server_default=_now())


def upgrade() -> None:
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("magento_id", sa.BigInteger(), nullable=True),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_categories"),
        sa.UniqueConstraint("magento_id", name="uq_categories_magento_id"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["categories.id"], name="fk_categories_parent_id_categories", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_categories_parent_id", "categories", ["parent_id"])
    op.create_index("ix_categories_updated_at", "categories", ["updated_at"])

    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("parent_sku", sa.String(64), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("long_description_html", sa.Text(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("colour", sa.String(64), nullable=True),
        sa.Column("size", sa.String(64), nullable=True),
        sa.Column("retail_price", MONEY, nullable=False),
        sa.Column("sale_price", MONEY, nullable=True),
        sa.Column("attribute_set", sa.String(64), nullable=False),
        sa.Column("internet_active", sa.Boolean(), nullable=False),
        _created_at(),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
        sa.UniqueConstraint("sku", name="uq_products_sku"),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name="fk_products_category_id_categories", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_products_category_id", "products", ["category_id"])
    op.create_index("ix_products_parent_sku", "products", ["parent_sku"])
    op.create_index("ix_products_updated_at", "products", ["updated_at"])

    op.create_table(
        "product_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content", sa.LargeBinary(16 * 1024 * 1024 - 1), nullable=False),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_product_images"),
        sa.UniqueConstraint("sku", "position", name="uq_product_images_sku_position"),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name="fk_product_images_sku_products", ondelete="CASCADE"),
    )
    op.create_index("ix_product_images_updated_at", "product_images", ["updated_at"])

    op.create_table(
        "product_attributes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_product_attributes"),
        sa.UniqueConstraint("sku", "code", name="uq_product_attributes_sku_code"),
        sa.ForeignKeyConstraint(
            ["sku"], ["products.sku"], name="fk_product_attributes_sku_products", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_product_attributes_updated_at", "product_attributes", ["updated_at"])

    op.create_table(
        "stock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("location_code", sa.String(32), nullable=False),
        sa.Column("on_hand", MONEY, nullable=False),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_stock"),
        sa.UniqueConstraint("sku", "location_code", name="uq_stock_sku_location_code"),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name="fk_stock_sku_products", ondelete="CASCADE"),
    )
    op.create_index("ix_stock_updated_at", "stock", ["updated_at"])
    op.create_index("ix_stock_location_code_updated_at", "stock", ["location_code", "updated_at"])

    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("first_name", sa.String(255), nullable=False),
        sa.Column("last_name", sa.String(255), nullable=False),
        sa.Column("phone", sa.String(64), nullable=True),
        sa.Column("magento_id", sa.BigInteger(), nullable=True),
        _created_at(),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.UniqueConstraint("email", name="uq_customers_email"),
        sa.UniqueConstraint("magento_id", name="uq_customers_magento_id"),
    )
    op.create_index("ix_customers_updated_at", "customers", ["updated_at"])

    op.create_table(
        "sales",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("magento_order_id", sa.BigInteger(), nullable=True),
        sa.Column("magento_increment_id", sa.String(64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("location_code", sa.String(32), nullable=False),
        sa.Column("tender_type", sa.String(64), nullable=False),
        sa.Column("subtotal", MONEY, nullable=False),
        sa.Column("discount", MONEY, nullable=False),
        sa.Column("shipping", MONEY, nullable=False),
        sa.Column("tax", MONEY, nullable=False),
        sa.Column("grand_total", MONEY, nullable=False),
        _created_at(),
        _created_at("recorded_at"),
        sa.PrimaryKeyConstraint("id", name="pk_sales"),
        sa.UniqueConstraint("magento_order_id", name="uq_sales_magento_order_id"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_sales_customer_id_customers"),
    )
    op.create_index("ix_sales_customer_id", "sales", ["customer_id"])

    op.create_table(
        "sale_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("qty", MONEY, nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("discount", MONEY, nullable=False),
        sa.Column("tax", MONEY, nullable=False),
        sa.Column("line_total", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sale_lines"),
        sa.ForeignKeyConstraint(["sale_id"], ["sales.id"], name="fk_sale_lines_sale_id_sales", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name="fk_sale_lines_sku_products"),
    )
    op.create_index("ix_sale_lines_sale_id", "sale_lines", ["sale_id"])
    op.create_index("ix_sale_lines_sku", "sale_lines", ["sku"])

    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("magento_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("magento_order_id", sa.BigInteger(), nullable=True),
        sa.Column("sale_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("grand_total", MONEY, nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_invoices"),
        sa.UniqueConstraint("magento_invoice_id", name="uq_invoices_magento_invoice_id"),
        sa.ForeignKeyConstraint(["sale_id"], ["sales.id"], name="fk_invoices_sale_id_sales"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_invoices_customer_id_customers"),
    )
    op.create_index("ix_invoices_magento_order_id", "invoices", ["magento_order_id"])
    op.create_index("ix_invoices_sale_id", "invoices", ["sale_id"])
    op.create_index("ix_invoices_customer_id", "invoices", ["customer_id"])

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name="fk_payments_invoice_id_invoices"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_payments_customer_id_customers"),
    )
    op.create_index("ix_payments_invoice_id", "payments", ["invoice_id"])
    op.create_index("ix_payments_customer_id", "payments", ["customer_id"])

    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("magento_creditmemo_id", sa.BigInteger(), nullable=True),
        sa.Column("magento_order_id", sa.BigInteger(), nullable=True),
        sa.Column("magento_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("grand_total", MONEY, nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_credit_notes"),
        sa.UniqueConstraint("magento_creditmemo_id", name="uq_credit_notes_magento_creditmemo_id"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name="fk_credit_notes_invoice_id_invoices"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_credit_notes_customer_id_customers"),
    )
    op.create_index("ix_credit_notes_magento_order_id", "credit_notes", ["magento_order_id"])
    op.create_index("ix_credit_notes_magento_invoice_id", "credit_notes", ["magento_invoice_id"])
    op.create_index("ix_credit_notes_invoice_id", "credit_notes", ["invoice_id"])
    op.create_index("ix_credit_notes_customer_id", "credit_notes", ["customer_id"])

    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_note_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_refunds"),
        sa.ForeignKeyConstraint(["credit_note_id"], ["credit_notes.id"], name="fk_refunds_credit_note_id_credit_notes"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_refunds_customer_id_customers"),
    )
    op.create_index("ix_refunds_credit_note_id", "refunds", ["credit_note_id"])
    op.create_index("ix_refunds_customer_id", "refunds", ["customer_id"])


def downgrade() -> None:
    for table in (
        "refunds",
        "credit_notes",
        "payments",
        "invoices",
        "sale_lines",
        "sales",
        "customers",
        "stock",
        "product_attributes",
        "product_images",
        "products",
        "categories",
    ):
        op.drop_table(table)
