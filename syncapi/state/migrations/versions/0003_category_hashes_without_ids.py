"""A pushed category's Magento id lives in the POS alone (`categories.magento_id`): the category hashes stop
keeping a copy of it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Each `sync_hashes` row of kind `categories` held `(body hash, magento id)`; it now holds one hash of the pair,
`content hash of {"body": <body hash>, "magento_id": "<id>"}`, and no id, which is what the category push
compares (`syncapi.outbound.categories.stored_hash`). The rows are rewritten here from what they hold, so no
category is checked again after the upgrade. Going back forgets the category hashes instead: the next push
reads each category from Magento once and writes only those that differ.
"""

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KIND = "categories"
HASHES = sa.table(
    "sync_hashes",
    sa.column("kind", sa.String),
    sa.column("key", sa.String),
    sa.column("hash", sa.String),
    sa.column("magento_id", sa.String),
)


def _content_hash(data: dict) -> str:
    # The service's content hash at this revision (syncapi.state.hashes.content_hash), frozen here.
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(HASHES.c.key, HASHES.c.hash, HASHES.c.magento_id).where(
            HASHES.c.kind == KIND, HASHES.c.magento_id.is_not(None)
        )
    ).all()
    for key, body_hash, magento_id in rows:
        connection.execute(
            sa.update(HASHES)
            .where(HASHES.c.kind == KIND, HASHES.c.key == key)
            .values(hash=_content_hash({"body": body_hash, "magento_id": str(magento_id)}), magento_id=None)
        )


def downgrade() -> None:
    op.get_bind().execute(sa.delete(HASHES).where(HASHES.c.kind == KIND))
