"""Stock and price SKUs waiting for their product: kept in the kind's watermark, next to the keys to retry.

A stock or price run that meets a SKU whose product should be in Magento but is not yet defers it
(`Tally.deferred`) instead of failing it. The SKU then waits in `sync_watermarks` (the stock or prices row,
under `"deferred"`: `{sku: [first deferred, unix seconds; times a run queued by a product push deferred it
again]}`), so it survives a Redis restart and the watermark's cursor moving past it:

- Every run of the kind settles what it read, at its end and under the kind's push lock: a waiting SKU the run
  wrote, found unchanged or failed for a reason of its own (or an incremental run no longer found in the POS)
  leaves the waiting set; a SKU it deferred joins it
  (or stays). A run that raises settles nothing, so its waiting SKUs stay. A waiting SKU that a run for some
  keys failed goes to the watermark's retry list, as an incremental run's failures do.
- Incremental runs (the schedule) read the waiting SKUs again with their retry keys, so a SKU whose product
  reached Magento by another way is sent on the next tick, with or without a product push.
- The end of a product push queues a run (trigger `deferred`) for the waiting SKUs (`jobs.outbound.
  requeue_deferred`).
- A SKU stops waiting and is counted failed (`waited_too_long`) once the runs queued by
  `MAX_PRODUCT_PUSHES` product pushes found its product still missing, or once it has waited
  `MAX_WAIT_S` (at least `MAX_PRODUCT_PUSHES` product-push intervals). It is not retried; the product push
  sends its stock and prices when it creates the product.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from syncapi.state import get_watermark, set_watermark
from syncapi.state.run_history import TRIGGER_DEFERRED
from syncapi.state.watermarks import MAX_CURSOR_CHARS

log = logging.getLogger(__name__)

#: The watermark field holding the waiting SKUs.
FIELD = "deferred"
#: Product pushes (the runs they queue) that may find a waiting SKU's product still missing.
MAX_PRODUCT_PUSHES = 3
#: Seconds a SKU may wait, whatever the product pushes (raised to MAX_PRODUCT_PUSHES product-push intervals).
MAX_WAIT_S = 3600
#: Characters of the watermark's JSON left unused when the waiting SKUs fill it (its field name, separators).
WATERMARK_MARGIN_CHARS = 40
#: Characters of JSON the retry list may take (as `syncapi.outbound.delta.MAX_RETRY_CHARS`).
MAX_RETRY_CHARS = 6000
#: SKUs named in the log line of a deferral (the count is always there).
SHOWN_SKUS = 10


def waiting_of(stored: Mapping[str, Any] | None) -> dict[str, list[int]]:
    """The waiting SKUs of a stored watermark value; unreadable entries are dropped."""
    found: dict[str, list[int]] = {}
    entries = (stored or {}).get(FIELD)
    if not isinstance(entries, Mapping):
        return found
    for sku, entry in entries.items():
        if (
            isinstance(sku, str)
            and isinstance(entry, list)
            and len(entry) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in entry)
        ):
            found[sku] = list(entry)
    return found


def waiting_skus(engine, kind: str) -> list[str]:
    """The SKUs of `kind` waiting for their product, oldest first."""
    waiting = waiting_of(get_watermark(engine, kind))
    return sorted(waiting, key=lambda sku: (waiting[sku][0], sku))


def max_wait_s(settings) -> int:
    """Seconds a SKU may wait for its product."""
    return max(MAX_WAIT_S, MAX_PRODUCT_PUSHES * max(settings.sync_interval_products_s, 0))


def waited_too_long(sku: str, kind: str, why: str) -> str:
    """The failure of a SKU that stopped waiting (what an operator reads in the run's errors)."""
    waits, goes = ("stock waits", "it is") if kind == "stock" else ("prices wait", "they are")
    return (
        f"product {sku} is not in Magento: its push failed or was refused (see the products runs); "
        f"{waits} for it: counted failed as {why}; {goes} sent with the product when a product push creates it"
    )


def settle(ctx, kind: str, *, keys: list[str] | None, trigger: str, now: float | None = None) -> None:
    """At the end of a run of `kind` (under its push lock): update the waiting SKUs from the run's tally."""
    tally = ctx.tally
    engine = ctx.state_engine
    stored = dict(get_watermark(engine, kind) or {})
    waiting = waiting_of(stored)
    now_s = int(time.time() if now is None else now)
    limit_s = max_wait_s(ctx.settings)
    deferred = sorted(sku for sku in tally.deferred_keys if not tally.counted(sku))
    newly, expired = [], []
    for sku in deferred:
        since, pushes = waiting.get(sku, (now_s, 0))
        if sku not in waiting:
            newly.append(sku)
        elif trigger == TRIGGER_DEFERRED:
            pushes += 1
        if pushes >= MAX_PRODUCT_PUSHES:
            why = f"{pushes} product pushes did not create it"
        elif now_s - since >= limit_s:
            why = f"it waited {(now_s - since) // 60} min"
        else:
            waiting[sku] = [since, pushes]
            continue
        waiting.pop(sku, None)
        tally.gave_up(sku, waited_too_long(sku, kind, why))
        expired.append(sku)
    if keys is None:
        # The run read every waiting SKU again: one it did not defer again was settled, or left the POS.
        settled = [sku for sku in waiting if sku not in tally.deferred_keys or tally.counted(sku)]
    else:
        settled = [sku for sku in waiting if tally.counted(sku)]
    for sku in settled:
        del waiting[sku]
    retry = [str(key) for key in stored.get("retry") or [] if isinstance(key, str | int)]
    if keys is not None:
        retry = sorted({*retry, *(sku for sku in settled if sku in tally.failed_keys)})
    if not (deferred or settled):
        return
    _store(engine, kind, stored, waiting, retry)
    if deferred:
        log.info(
            "waiting for their product push",
            extra={"kind": kind, "count": len(deferred), "new": len(newly), "skus": deferred[:SHOWN_SKUS]},
        )
    if expired:
        log.warning(
            "stopped waiting for products not in Magento; counted failed",
            extra={"kind": kind, "count": len(expired), "skus": expired[:SHOWN_SKUS]},
        )


def keep_waiting(stored: Mapping[str, Any] | None, value: dict[str, Any], kind: str = "") -> dict[str, Any]:
    """`value` (a new watermark) with the waiting SKUs of `stored` (the one it replaces) carried over."""
    return _fit(kind, value, waiting_of(stored))


def _store(engine, kind: str, stored: dict[str, Any], waiting: dict[str, list[int]], retry: Iterable[str]) -> None:
    value: dict[str, Any] = {name: token for name, token in stored.items() if name not in (FIELD, "retry")}
    value["retry"] = sorted(retry)
    if len(json.dumps(value["retry"])) > MAX_RETRY_CHARS:
        value = {"retry": []}  # as `save_watermark`: the next run reads everything, which retries them all
    set_watermark(engine, kind, _fit(kind, value, waiting))


def _fit(kind: str, value: dict[str, Any], waiting: dict[str, list[int]]) -> dict[str, Any]:
    """`value` with the waiting SKUs, within the watermark's size. When they do not all fit, the oldest that fit
    are kept (their limits still apply) and the cursors dropped, so the next incremental run reads everything
    and defers the others again."""
    kept = dict(sorted(waiting.items(), key=lambda item: (item[1][0], item[0])))
    if not kept:
        return value
    room = MAX_CURSOR_CHARS - len(json.dumps(value)) - WATERMARK_MARGIN_CHARS
    if len(json.dumps(kept)) > room:
        log.warning(
            "too many SKUs waiting for their product to list; the next run reads everything again",
            extra={"kind": kind, "waiting": len(kept)},
        )
        value = {"retry": value.get("retry", [])}
        room = MAX_CURSOR_CHARS - len(json.dumps(value)) - WATERMARK_MARGIN_CHARS
        fitting, used = {}, 2
        for sku, entry in kept.items():
            used += len(json.dumps({sku: entry}))
            if used > room:
                break
            fitting[sku] = entry
        kept = fitting
    value[FIELD] = kept
    return value
