"""Hashes of what was last sent to Magento (`sync_hashes`), so a rerun with nothing changed sends nothing.

A push computes `content_hash(payload)` per record, reads the stored hashes of a whole batch with
`get_hashes`, sends only records whose hash differs, then stores the new hashes with `put_hashes` once Magento
accepted them. Both are bulk operations: 100,000 keys are read or written in a few seconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Engine, delete, select

from syncapi.state._sql import SET, chunks, in_chunk_size, one_of, text_value, upsert_rows
from syncapi.state.models import KEY_LENGTH, MAGENTO_ID_LENGTH, HashRow, utcnow

_TABLE = HashRow.__table__
#: Rows per upsert statement execution: large enough to be fast, small enough to bound memory and locks.
WRITE_CHUNK = 5000
MAX_KIND_CHARS = 32
MAX_HASH_CHARS = 128


def content_hash(data: Any) -> str:
    """A stable hex SHA-256 of JSON-able `data` (key order and whitespace do not matter)."""
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def get_hashes(engine: Engine, kind: str, keys: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """The stored `(hash, magento_id)` of each of `keys` that has one; keys never stored are absent."""
    kind = _kind(kind)
    wanted = list(dict.fromkeys(str(key) for key in keys))
    found: dict[str, tuple[str, str | None]] = {}
    t = _TABLE.c
    with engine.connect() as connection:
        for batch in chunks(wanted, in_chunk_size(connection)):
            query = select(t.key, t.hash, t.magento_id).where(t.kind == kind, one_of(t.key, batch, connection))
            for key, value, magento_id in connection.execute(query):
                found[key] = (value, magento_id)
    return found


def hashed_keys(engine: Engine, kind: str) -> list[str]:
    """Every key of `kind` with a stored hash, sorted (what was sent and may need removing)."""
    kind = _kind(kind)
    with engine.connect() as connection:
        return list(
            connection.execute(select(_TABLE.c.key).where(_TABLE.c.kind == kind).order_by(_TABLE.c.key)).scalars()
        )


def put_hashes(engine: Engine, kind: str, hashes: Mapping[str, tuple[str, str | int | None]]) -> int:
    """Store `{key: (hash, magento_id)}` for `kind`, replacing what was there; one transaction; returns the count.

    Every key and hash is checked before anything is written, so a bad entry changes nothing.
    """
    kind = _kind(kind)
    now = utcnow()
    rows = []
    for key, entry in hashes.items():
        if not isinstance(entry, tuple | list) or len(entry) != 2:
            raise ValueError(f"hash of {key!r} must be a (hash, magento_id) pair, got {entry!r}")
        value, magento_id = entry
        rows.append(
            {
                "kind": kind,
                "key": text_value("key", key, KEY_LENGTH),
                "hash": text_value(f"hash of {key!r}", value, MAX_HASH_CHARS),
                "magento_id": text_value(f"magento_id of {key!r}", magento_id, MAGENTO_ID_LENGTH, allow_none=True),
                "updated_at": now,
            }
        )
    on_existing = {"hash": SET, "magento_id": SET, "updated_at": SET}
    with engine.begin() as connection:
        for batch in chunks(rows, WRITE_CHUNK):
            upsert_rows(connection, _TABLE, batch, ("kind", "key"), on_existing)
    return len(rows)


def delete_hashes(engine: Engine, kind: str, keys: Iterable[str]) -> int:
    """Forget the hashes of `keys` (their records are sent again next time); returns how many were stored."""
    kind = _kind(kind)
    wanted = list(dict.fromkeys(str(key) for key in keys))
    deleted = 0
    with engine.begin() as connection:
        for batch in chunks(wanted, in_chunk_size(connection)):
            where = (_TABLE.c.kind == kind, one_of(_TABLE.c.key, batch, connection))
            deleted += connection.execute(delete(_TABLE).where(*where)).rowcount
    return deleted


def clear_hashes(engine: Engine, kind: str) -> int:
    """Forget every hash of `kind` (the next push sends everything); returns how many there were."""
    kind = _kind(kind)
    with engine.begin() as connection:
        return connection.execute(delete(_TABLE).where(_TABLE.c.kind == kind)).rowcount


def _kind(kind: str) -> str:
    return text_value("kind", kind, MAX_KIND_CHARS)
