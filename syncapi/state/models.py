"""The service's own tables (prefix `sync_`), in their own metadata so they never mix with the POS's tables.

They live in the database of `settings.state_url` (by default the POS database) and are created and upgraded by
the Alembic environment next to this module (`syncapi.state.migrate.upgrade`), never by `create_all`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from syncapi.db import NAMING_CONVENTION

#: Longest stored record key (SKU, `sku/position`, id) and Magento id.
KEY_LENGTH = 255
MAGENTO_ID_LENGTH = 64


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamps must carry a timezone, got naive {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


class StateBase(DeclarativeBase):
    """Base of the service's own tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class LinkRow(StateBase):
    """Where one Magento record went in the POS, and how its last attempt went."""

    __tablename__ = "sync_links"
    __table_args__ = (
        UniqueConstraint("entity", "magento_id"),
        Index("ix_sync_links_entity_status", "entity", "status"),
        Index("ix_sync_links_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))
    magento_id: Mapped[str] = mapped_column(String(MAGENTO_ID_LENGTH))
    pos_id: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    #: The number people know the record by (an order's increment id, e.g. `000004711`), when Magento gave one.
    magento_number: Mapped[str | None] = mapped_column(String(MAGENTO_ID_LENGTH))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RunRow(StateBase):
    """One push or pull: what started it, how far it got, what it did."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index("ix_sync_runs_kind_id", "kind", "id"),
        Index("ix_sync_runs_status_finished_at", "status", "finished_at"),
        Index("ix_sync_runs_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict] = mapped_column(JSON)
    job_id: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)


class RunErrorRow(StateBase):
    """One recorded error of a run (at most `MAX_STORED_ERRORS` per run are kept; all are counted)."""

    __tablename__ = "sync_run_errors"
    __table_args__ = (Index("ix_sync_run_errors_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RunDifferenceRow(StateBase):
    """One source item where a stock check run found Magento and the POS apart (every one is kept)."""

    __tablename__ = "sync_run_differences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(KEY_LENGTH))
    source: Mapped[str] = mapped_column(String(KEY_LENGTH))
    pos: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    magento: Mapped[Decimal] = mapped_column(Numeric(20, 4))


class WatermarkRow(StateBase):
    """How far an incremental push or pull has read, as a JSON cursor."""

    __tablename__ = "sync_watermarks"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HashRow(StateBase):
    """The hash of what was last sent to Magento for one record, so an unchanged record is not sent again."""

    __tablename__ = "sync_hashes"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    hash: Mapped[str] = mapped_column(String(128))
    magento_id: Mapped[str | None] = mapped_column(String(MAGENTO_ID_LENGTH))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DismissalRow(StateBase):
    """An operator's dismissal of one attention item, with a note; it hides the item until it fails again."""

    __tablename__ = "sync_attention_dismissals"

    item_id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    #: When the item had last failed as it was dismissed: a later failure shows it again.
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text)
    dismissed_at: Mapped[datetime] = mapped_column(UTCDateTime)
