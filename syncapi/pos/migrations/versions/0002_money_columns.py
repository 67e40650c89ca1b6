"""Money in base and order currency, document states, tenders, tax rates; database defaults for plain inserts;
the tables for credit note lines, fulfilments, tier prices and store-view translations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Every new column on an existing table is nullable or has a server default, so rows already there keep their
meaning: a sale is `completed`, an invoice `paid`, a credit note `refunded`, a refund offline, a line's tax rate
unknown (0). Their currency stays null: it was not recorded when they were written.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Types as they are at this revision.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
MONEY = sa.Numeric(12, 4)
RATE = sa.Numeric(18, 8)
NOW_BY_DIALECT = {
    "sqlite": "(strftime('%Y-%m-%d %H:%M:%f000', 'now'))",
    "mysql": "(UTC_TIMESTAMP(6))",
    "mariadb": "(UTC_TIMESTAMP(6))",
}
ZERO = sa.text("0")


def _now() -> sa.TextClause:
    return sa.text(NOW_BY_DIALECT.get(op.get_context().dialect.name, "CURRENT_TIMESTAMP"))


def _updated_at() -> sa.Column:
    return sa.Column("updated_at", TIMESTAMP, nullable=False, server_default=_now())


def _defaults(table: str, columns: dict[str, tuple[sa.types.TypeEngine, object]]) -> None:
    """Give existing NOT NULL columns of `table` a server default (name -> (type, default))."""
    with op.batch_alter_table(table) as batch:
        for name, (type_, default) in columns.items():
            batch.alter_column(name, existing_type=type_, existing_nullable=False, server_default=default)


def upgrade() -> None:
    _defaults(
        "products",
        {"attribute_set": (sa.String(64), "Default"), "internet_active": (sa.Boolean(), sa.false())},
    )
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("sale_price_from", sa.Date(), nullable=True))
        batch.add_column(sa.Column("sale_price_to", sa.Date(), nullable=True))
    _defaults("product_images", {"position": (sa.Integer(), ZERO)})
    _defaults("stock", {"on_hand": (MONEY, ZERO)})
    _defaults("customers", {"first_name": (sa.String(255), ""), "last_name": (sa.String(255), "")})
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("customer_group", sa.String(64), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))

    _defaults(
        "sales",
        {
            "tender_type": (sa.String(64), "web orders"),
            "discount": (MONEY, ZERO),
            "shipping": (MONEY, ZERO),
            "tax": (MONEY, ZERO),
        },
    )
    with op.batch_alter_table("sales") as batch:
        batch.add_column(sa.Column("currency", sa.String(3), nullable=True))
        batch.add_column(sa.Column("order_currency", sa.String(3), nullable=True))
        batch.add_column(sa.Column("order_grand_total", MONEY, nullable=True))
        batch.add_column(sa.Column("base_to_order_rate", RATE, nullable=True))
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="completed"))
        batch.add_column(sa.Column("voided_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))

    _defaults("sale_lines", {"discount": (MONEY, ZERO), "tax": (MONEY, ZERO)})
    with op.batch_alter_table("sale_lines") as batch:
        batch.add_column(sa.Column("tax_percent", RATE, nullable=False, server_default=ZERO))

    op.create_table(
        "sale_tenders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("tender_type", sa.String(64), nullable=False, server_default="web orders"),
        sa.Column("amount", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sale_tenders"),
        sa.ForeignKeyConstraint(["sale_id"], ["sales.id"], name="fk_sale_tenders_sale_id_sales", ondelete="CASCADE"),
    )
    op.create_index("ix_sale_tenders_sale_id", "sale_tenders", ["sale_id"])

    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("currency", sa.String(3), nullable=True))
        batch.add_column(sa.Column("order_currency", sa.String(3), nullable=True))
        batch.add_column(sa.Column("order_grand_total", MONEY, nullable=True))
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="paid"))
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("voided_at", TIMESTAMP, nullable=True))
    with op.batch_alter_table("credit_notes") as batch:
        batch.add_column(sa.Column("currency", sa.String(3), nullable=True))
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="refunded"))
    with op.batch_alter_table("refunds") as batch:
        batch.add_column(sa.Column("online", sa.Boolean(), nullable=False, server_default=sa.false()))

    op.create_table(
        "credit_note_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_note_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("qty", MONEY, nullable=False),
        sa.Column("returned_qty", MONEY, nullable=False, server_default=ZERO),
        sa.Column("location_code", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_credit_note_lines"),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
            name="fk_credit_note_lines_credit_note_id_credit_notes",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_credit_note_lines_credit_note_id", "credit_note_lines", ["credit_note_id"])

    op.create_table(
        "fulfilments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(64), nullable=True),
        sa.Column("tracking_number", sa.String(255), nullable=True),
        sa.Column("magento_shipment_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=_now()),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_fulfilments"),
        sa.UniqueConstraint("magento_shipment_id", name="uq_fulfilments_magento_shipment_id"),
        sa.ForeignKeyConstraint(["sale_id"], ["sales.id"], name="fk_fulfilments_sale_id_sales"),
    )
    op.create_index("ix_fulfilments_sale_id", "fulfilments", ["sale_id"])
    op.create_index("ix_fulfilments_updated_at", "fulfilments", ["updated_at"])

    op.create_table(
        "fulfilment_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fulfilment_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("qty", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fulfilment_lines"),
        sa.ForeignKeyConstraint(
            ["fulfilment_id"],
            ["fulfilments.id"],
            name="fk_fulfilment_lines_fulfilment_id_fulfilments",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_fulfilment_lines_fulfilment_id", "fulfilment_lines", ["fulfilment_id"])

    op.create_table(
        "price_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("customer_group", sa.String(64), nullable=False, server_default="ALL GROUPS"),
        sa.Column("min_qty", MONEY, nullable=False, server_default=sa.text("1")),
        sa.Column("price", MONEY, nullable=False),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_price_levels"),
        sa.UniqueConstraint("sku", "customer_group", "min_qty", name="uq_price_levels_sku_customer_group_min_qty"),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name="fk_price_levels_sku_products", ondelete="CASCADE"),
    )
    op.create_index("ix_price_levels_updated_at", "price_levels", ["updated_at"])

    op.create_table(
        "product_translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("store_code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("long_description_html", sa.Text(), nullable=True),
        _updated_at(),
        sa.PrimaryKeyConstraint("id", name="pk_product_translations"),
        sa.UniqueConstraint("sku", "store_code", name="uq_product_translations_sku_store_code"),
        sa.ForeignKeyConstraint(
            ["sku"], ["products.sku"], name="fk_product_translations_sku_products", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_product_translations_updated_at", "product_translations", ["updated_at"])


def downgrade() -> None:
    for table in ("product_translations", "price_levels", "fulfilment_lines", "fulfilments", "credit_note_lines"):
        op.drop_table(table)
    with op.batch_alter_table("refunds") as batch:
        batch.drop_column("online")
    with op.batch_alter_table("credit_notes") as batch:
        batch.drop_column("status")
        batch.drop_column("currency")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("voided_at")
    with op.batch_alter_table("invoices") as batch:
        for name in ("status", "order_grand_total", "order_currency", "currency"):
            batch.drop_column(name)
    op.drop_table("sale_tenders")
    with op.batch_alter_table("sale_lines") as batch:
        batch.drop_column("tax_percent")
    with op.batch_alter_table("sales") as batch:
        for name in ("note", "voided_at", "status", "base_to_order_rate", "order_grand_total", "order_currency"):
            batch.drop_column(name)
        batch.drop_column("currency")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("note")
        batch.drop_column("customer_group")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("sale_price_to")
        batch.drop_column("sale_price_from")
    # The server defaults given to 0001's columns are left in place: they change no stored value.
