"""The differences a stock check run found (`sync_run_differences`): SKU, source, the POS's buffered quantity
and Magento's, every one kept for `GET /api/v1/runs/<id>`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_run_differences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(255), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("pos", sa.Numeric(20, 4), nullable=False),
        sa.Column("magento", sa.Numeric(20, 4), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name="fk_sync_run_differences_run_id_sync_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sync_run_differences"),
    )
    op.create_index("ix_sync_run_differences_run_id", "sync_run_differences", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_sync_run_differences_run_id", table_name="sync_run_differences")
    op.drop_table("sync_run_differences")
