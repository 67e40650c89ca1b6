"""The service's own tables: links, runs and their errors, watermarks, hashes.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("magento_id", sa.String(64), nullable=False),
        sa.Column("pos_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sync_links"),
        sa.UniqueConstraint("entity", "magento_id", name="uq_sync_links_entity_magento_id"),
    )
    op.create_index("ix_sync_links_entity_status", "sync_links", ["entity", "status"])

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.String(128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("updated_count", sa.Integer(), nullable=False),
        sa.Column("unchanged_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
    )
    op.create_index("ix_sync_runs_kind_id", "sync_runs", ["kind", "id"])
    op.create_index("ix_sync_runs_status_finished_at", "sync_runs", ["status", "finished_at"])
    op.create_index("ix_sync_runs_created_at", "sync_runs", ["created_at"])

    op.create_table(
        "sync_run_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name="fk_sync_run_errors_run_id_sync_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sync_run_errors"),
    )
    op.create_index("ix_sync_run_errors_run_id", "sync_run_errors", ["run_id"])

    op.create_table(
        "sync_watermarks",
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", name="pk_sync_watermarks"),
    )

    op.create_table(
        "sync_hashes",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
        sa.Column("magento_id", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name="pk_sync_hashes"),
    )


def downgrade() -> None:
    op.drop_table("sync_hashes")
    op.drop_table("sync_watermarks")
    op.drop_index("ix_sync_run_errors_run_id", table_name="sync_run_errors")
    op.drop_table("sync_run_errors")
    op.drop_index("ix_sync_runs_created_at", table_name="sync_runs")
    op.drop_index("ix_sync_runs_status_finished_at", table_name="sync_runs")
    op.drop_index("ix_sync_runs_kind_id", table_name="sync_runs")
    op.drop_table("sync_runs")
    op.drop_index("ix_sync_links_entity_status", table_name="sync_links")
    op.drop_table("sync_links")
