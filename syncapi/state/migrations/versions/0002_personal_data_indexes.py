"""Indexes for the personal-data purge: link errors by when they were written, run errors by when they were
recorded (the purge clears those older than PERSONAL_DATA_DAYS; docs/personal-data.md).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sync_links_updated_at", "sync_links", ["updated_at"])
    op.create_index("ix_sync_run_errors_created_at", "sync_run_errors", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_sync_run_errors_created_at", table_name="sync_run_errors")
    op.drop_index("ix_sync_links_updated_at", table_name="sync_links")
