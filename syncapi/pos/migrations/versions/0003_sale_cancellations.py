"""What a cancellation takes back from a sale: each line's canceled quantity, and whether the line lowered stock
(so a cancellation puts back only what the sale took).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Lines already written have nothing canceled; they lowered stock unless they are the gift wrapping service line.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(12, 4)
#: The service line that never lowers stock (`syncapi.pos.gateway.GIFT_WRAPPING_SKU` at this revision).
GIFT_WRAPPING_SKU = "GIFT-WRAPPING"


def upgrade() -> None:
    with op.batch_alter_table("sale_lines") as batch:
        batch.add_column(sa.Column("canceled_qty", MONEY, nullable=False, server_default=sa.text("0")))
        batch.add_column(sa.Column("lowers_stock", sa.Boolean(), nullable=False, server_default=sa.true()))
    lines = sa.table("sale_lines", sa.column("sku", sa.String), sa.column("lowers_stock", sa.Boolean))
    op.execute(lines.update().where(lines.c.sku == GIFT_WRAPPING_SKU).values(lowers_stock=False))


def downgrade() -> None:
    with op.batch_alter_table("sale_lines") as batch:
        batch.drop_column("lowers_stock")
        batch.drop_column("canceled_qty")
