"""What a run reads and how far it got: watermarks, retries of failed records, hash comparisons.

Per kind, `sync_watermarks` holds `{"cursor": ..., "retry": [...]}` (products add `"images"`):

- `cursor`: the POS checkpoint (`Batch.checkpoint`, trailing the newest row by `COMMIT_SETTLE_S`) of the last
  incremental or full run that finished reading. The next incremental run reads the rows changed after it;
  rows it reads again cost nothing, because their hashes are unchanged.
- `deferred` (stock and prices): SKUs waiting for their product, read again like `retry` by incremental runs
  (`syncapi.outbound.waiting`, which alone changes them; a new watermark carries them over).
- `retry`: keys of records that failed in that run. The next run reads them again by key, whatever their
  `updated_at`, so a record Magento refused once is not left behind by the moving cursor. When more failed
  than the watermark can list (`MAX_RETRY_CHARS`), the cursor is dropped instead and the next run re-reads
  everything (unchanged records still send nothing).

Runs limited to keys (`--sku`, announced changes) read those keys only and leave the watermark alone.

A read from the beginning (a full run, or the first run) counts the POS's rows first and fails the run with
`PosIncompleteReadError` when it reads fewer distinct records: rows the POS holds but its changed-since read
skipped are an error to fix, never a run reported as succeeded (docs/pos-gateway-reads.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from syncapi.outbound.waiting import FIELD as waiting_field
from syncapi.outbound.waiting import keep_waiting, waiting_of
from syncapi.pos.errors import PosIncompleteReadError, PosValidationError
from syncapi.pos.gateway import Batch, Cursor, iter_batches
from syncapi.state import content_hash, get_hashes, get_watermark, set_watermark
from syncapi.textcheck import record_problem

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Most characters of failed keys a watermark lists for the next run to retry.
MAX_RETRY_CHARS = 6000


@dataclass
class Watermark:
    """A kind's stored position: cursors by name (`cursor`, `images`) and keys to retry."""

    cursors: dict[str, Cursor | None] = field(default_factory=dict)
    retry: list[str] = field(default_factory=list)
    #: SKUs waiting for their product (stock and prices), oldest first.
    waiting: list[str] = field(default_factory=list)

    def cursor(self, name: str = "cursor") -> Cursor | None:
        """The stored cursor called `name` (None: read from the beginning)."""
        return self.cursors.get(name)


def load_watermark(engine, kind: str) -> Watermark:
    """The stored watermark of `kind`; an unreadable one counts as none (the run reads everything)."""
    stored = get_watermark(engine, kind) or {}
    cursors: dict[str, Cursor | None] = {}
    for name, token in stored.items():
        if name in ("retry", waiting_field) or not isinstance(token, str):
            continue
        try:
            cursors[name] = Cursor.decode(token)
        except PosValidationError:
            log.warning("unreadable watermark ignored; reading everything", extra={"kind": kind, "name": name})
    retry = [str(key) for key in stored.get("retry") or [] if isinstance(key, str | int)]
    waiting = waiting_of(stored)
    return Watermark(cursors, retry, sorted(waiting, key=lambda sku: (waiting[sku][0], sku)))


def save_watermark(engine, kind: str, cursors: Mapping[str, Cursor | None], failed: Iterable[str]) -> None:
    """Store the cursors reached and the keys that failed; too many failed keys drop the cursors instead. The
    SKUs waiting for their product are kept as they are."""
    stored = get_watermark(engine, kind)
    retry = sorted({str(key) for key in failed})
    if len(json.dumps(retry)) > MAX_RETRY_CHARS:
        log.warning(
            "too many failed records to list; the next run reads everything again",
            extra={"kind": kind, "failed": len(retry)},
        )
        set_watermark(engine, kind, keep_waiting(stored, {"retry": []}, kind))
        return
    value: dict[str, Any] = {name: cursor.encode() for name, cursor in cursors.items() if cursor is not None}
    value["retry"] = retry
    set_watermark(engine, kind, keep_waiting(stored, value, kind))


@dataclass(frozen=True)
class PosRecords(Generic[T]):
    """How one kind's records are read from the POS: those changed after a cursor, those of some keys, the key
    of each, how many the POS holds, and what they are called."""

    changed: Callable[[Cursor | None, int], Batch[T]]
    by_keys: Callable[[list[str]], list[T]]
    key_of: Callable[[T], Any] | None = None
    #: With `key_of`: how many rows a read from the beginning must find (the POS's own count).
    count: Callable[[], int] | None = None
    noun: str = "records"
    #: Why a key asked for fails when the POS has no record of it.
    missing: str = "not in the POS"


class Reader:
    """The batches of records a run works on, and the cursor to store when it is done."""

    def __init__(
        self,
        records: PosRecords[T],
        *,
        after: Cursor | None,
        keys: list[str] | None,
        retry: list[str],
        batch_size: int,
        refuse: Callable[[T, str], None] | None = None,
    ):
        self.changed = records.changed
        self.count = records.count
        self.key_of = records.key_of
        self.noun = records.noun
        #: Told of each record that may not be sent (`textcheck.record_problem`), which is then left out.
        self.refuse = refuse
        self.by_keys = records.by_keys
        self.after = after
        self.keys = keys
        self.retry = retry
        self.batch_size = batch_size
        #: Where the changed-since read ended (what to store); the input cursor until a batch is read.
        self.checkpoint: Cursor | None = after

    def batches(self) -> Iterator[list[T]]:
        """Lists of records: the keys asked for, else the retried keys then everything changed since `after`;
        records that may not be sent are given to `refuse` instead."""
        for records in self._read():
            if self.refuse is not None:
                records = [record for record in records if self._sendable(record)]
            if records:
                yield records

    def _sendable(self, record: T) -> bool:
        problem = record_problem(record)
        if problem is None:
            return True
        self.refuse(record, problem)  # type: ignore[misc]
        return False

    def _read(self) -> Iterator[list[T]]:
        if self.keys is not None:
            for start in range(0, len(self.keys), self.batch_size):
                found = self.by_keys(self.keys[start : start + self.batch_size])
                if found:
                    yield found
            return
        for start in range(0, len(self.retry), self.batch_size):
            found = self.by_keys(self.retry[start : start + self.batch_size])
            if found:
                yield found
        checked = self.after is None and self.count is not None and self.key_of is not None
        # Counted before reading: every row there now is read (a row changed meanwhile moves later, still read).
        expected = self.count() if checked else 0
        read_keys: set[Any] = set()
        for batch in iter_batches(self.changed, self.after, self.batch_size):
            self.checkpoint = batch.checkpoint
            if checked:
                read_keys.update(self.key_of(item) for item in batch.items)  # type: ignore[misc]
            if batch.items:
                yield list(batch.items)
        if checked and len(read_keys) < expected:
            raise PosIncompleteReadError(
                f"the full read of {self.noun} found {len(read_keys)} of the {expected} the POS holds: "
                f"{expected - len(read_keys)} were skipped, so the run cannot report success; check the POS's "
                "updated_at values (docs/pos-gateway-reads.md)"
            )


def changed_keys(
    engine, kind: str, wanted: Mapping[str, str], *, force: bool = False
) -> tuple[dict[str, str], dict[str, tuple[str, str | None]]]:
    """Which of `wanted` (`{key: new hash}`) differ from what Magento last accepted, and every stored entry.

    Returns `(changed, stored)`: `changed` maps keys to send to their new hash (all of them with `force`);
    `stored` is `{key: (hash, magento_id)}` for the keys that have a hash.
    """
    stored = get_hashes(engine, kind, wanted.keys())
    changed = {key: value for key, value in wanted.items() if force or stored.get(key, (None,))[0] != value}
    return changed, stored


def hash_of(data: Any) -> str:
    """The content hash of what is sent for a record."""
    return content_hash(data)


# --- the hash kinds in sync_hashes ----------------------------------------------------------------------------

#: Product bodies by SKU (magento_id: the product's id): a SKU with a hash is in Magento.
HASH_PRODUCTS = "products"
#: Configurable parents by style code (parent_sku): body, options and children.
HASH_CONFIGURABLES = "configurables"
#: Dynamic attributes sent, by `sku/code`, so one the POS drops is cleared in Magento.
HASH_PRODUCT_ATTRIBUTES = "product_attributes"
#: Images by `sku/position` (magento_id: the media gallery entry id).
HASH_IMAGES = "images"
HASH_PRICES = "prices"
HASH_STOCK = "stock"
#: Categories by POS id (no magento_id: a category's Magento id lives in the POS, `categories.magento_id`).
HASH_CATEGORIES = "categories"
#: Customers by POS id (magento_id: the customer id).
HASH_CUSTOMERS = "customers"


def known_products(engine, skus: Iterable[str]) -> dict[str, str | None]:
    """The SKUs among `skus` that were pushed to Magento (or found there), with their Magento ids."""
    return {sku: magento_id for sku, (_hash, magento_id) in get_hashes(engine, HASH_PRODUCTS, skus).items()}
