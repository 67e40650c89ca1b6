"""The attention list: the number people know a linked record by (an order's increment id) on its link, and
operators' dismissals of attention items with their notes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_links") as batch:
        batch.add_column(sa.Column("magento_number", sa.String(64), nullable=True))
    op.create_table(
        "sync_attention_dismissals",
        sa.Column("item_id", sa.String(255), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("item_id", name="pk_sync_attention_dismissals"),
    )


def downgrade() -> None:
    op.drop_table("sync_attention_dismissals")
    with op.batch_alter_table("sync_links") as batch:
        batch.drop_column("magento_number")
