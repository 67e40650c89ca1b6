"""The read loop every push but the product push shares: which POS records a run reads, batch by batch, and
the watermark it leaves."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from syncapi.outbound.context import READ_BATCH, PushContext
from syncapi.outbound.delta import PosRecords, Reader, load_watermark, save_watermark


def pos_ids(ctx: PushContext, keys: list[str] | None, noun: str) -> list[str] | None:
    """`keys` as POS ids in canonical form; a key that is not an id fails in the run as `not a POS <noun> id`."""
    if keys is None:
        return None
    ids = []
    for key in keys:
        if str(key).strip().isdigit():
            ids.append(str(int(key)))
        else:
            ctx.tally.failed(str(key), f"{key!r} is not a POS {noun} id")
    return ids


def push_records(
    ctx: PushContext,
    kind: str,
    records: PosRecords[Any],
    push: Callable[[list[Any]], None],
    *,
    full: bool = False,
    keys: list[str] | None = None,
    retry_ok: Callable[[str], bool] = lambda key: True,
) -> None:
    """One run of `kind`: the records of `keys`, or what changed since the last run (everything with `full`),
    plus the keys the last run failed and the SKUs waiting for their product; each batch goes to `push`. A key
    the POS lacks fails with `records.missing`.
    Only a run over what changed moves the watermark, so a run for a few keys never skips anything. A run
    reading from the beginning checks it read as many records as `records.count` says the POS holds."""
    watermark = load_watermark(ctx.state_engine, kind)
    key_of = records.key_of or str
    reader = Reader(
        records,
        after=None if full else watermark.cursor(),
        keys=keys,
        retry=[] if full or keys is not None else _retried(watermark, retry_ok),
        batch_size=READ_BATCH,
        refuse=lambda record, problem: ctx.tally.refused(key_of(record), problem),
    )
    seen: set[str] = set()
    for batch in reader.batches():
        seen.update(key_of(record) for record in batch)
        push(batch)
    for key in _missing(keys, seen):
        if ctx.tally.counted(key):
            continue  # read, but refused before sending (see `Reader.refuse`): not missing from the POS
        ctx.tally.failed(key, records.missing)
    if keys is None:
        save_watermark(ctx.state_engine, kind, {"cursor": reader.checkpoint}, ctx.tally.failed_keys)


def _retried(watermark, retry_ok: Callable[[str], bool]) -> list[str]:
    """The keys the last run failed, then the SKUs waiting for their product (`syncapi.outbound.waiting`)."""
    return [key for key in dict.fromkeys([*watermark.retry, *watermark.waiting]) if retry_ok(key)]


def _missing(keys: Iterable[str] | None, seen: set[str]) -> list[str]:
    return [key for key in keys or () if key not in seen]
