"""Pushes to Magento, one job per kind: `push_<kind>(run_id, full=False, keys=None, force=False)`.

`jobs.dispatch.start_sync` stores the run and queues these on the "outbound" queue (the operator API, the cron
schedule, the POS's announcements and `flask sync` all go through it; `flask sync` calls them directly). A run
announced by the POS takes its keys from the announcements. The work itself is in `syncapi.outbound`. Stock and
price SKUs not in Magento yet are kept for after the next product push, which queues a run for them
(`requeue_deferred`).
"""

from __future__ import annotations

import logging

from syncapi import services
from syncapi.outbound import PUSHES, push_context, waiting
from syncapi.outbound.stock_check import Progress
from syncapi.outbound.stock_check import check_stock as compare_stock
from syncapi.outbound.waiting import waiting_skus
from syncapi.run_lifecycle import DEFERRABLE_KINDS, MAX_KEYS, enqueue_run, run_context
from syncapi.services import Services
from syncapi.state.run_history import (
    KIND_CATEGORIES,
    KIND_CUSTOMERS,
    KIND_FULFILMENTS,
    KIND_PRICES,
    KIND_PRODUCTS,
    KIND_STOCK,
    TRIGGER_ANNOUNCED,
    TRIGGER_DEFERRED,
)

log = logging.getLogger(__name__)


def _push(kind: str, run_id: int, full: bool, keys: list[str] | None, force: bool) -> dict[str, int]:
    svc = services.current()
    with run_context(svc, run_id, jobs=PUSH_JOBS) as recorder:
        if recorder.trigger == TRIGGER_ANNOUNCED:
            keys = recorder.announced_keys()
            if not keys:
                return {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
        with push_context(svc, recorder, force=force) as ctx:
            PUSHES[kind](ctx, full=full, keys=keys)
            if kind in DEFERRABLE_KINDS:  # still under the kind's lock, and only once the push got to its end
                waiting.settle(ctx, kind, keys=keys, trigger=recorder.trigger)
        if kind == KIND_PRODUCTS:
            requeue_deferred(svc)
        return dict(ctx.tally.totals)


def push_products(run_id: int, full: bool = False, keys: list[str] | None = None, force: bool = False) -> dict:
    """Push products (with variants, attributes, images; new products' prices and stock) to Magento."""
    return _push(KIND_PRODUCTS, run_id, full, keys, force)


def push_stock(run_id: int, full: bool = False, keys: list[str] | None = None, force: bool = False) -> dict:
    """Push the POS's on-hand at each STOCK_SOURCES location to its MSI source item."""
    return _push(KIND_STOCK, run_id, full, keys, force)


def check_stock(run_id: int, keys: list[str] | None = None, progress: Progress | None = None) -> dict:
    """Compare Magento's source items with the POS's buffered stock, writing nothing (a check run); the counts
    with `different`. `progress` (in-process callers only) is told how many products each batch compared."""
    svc = services.current()
    with run_context(svc, run_id, jobs=PUSH_JOBS) as recorder, push_context(svc, recorder) as ctx:
        different = compare_stock(ctx, keys=keys, progress=progress)
        return {**ctx.tally.totals, "different": different}


def push_prices(run_id: int, full: bool = False, keys: list[str] | None = None, force: bool = False) -> dict:
    """Push base and special prices to Magento."""
    return _push(KIND_PRICES, run_id, full, keys, force)


def push_categories(run_id: int, full: bool = False, keys: list[str] | None = None, force: bool = False) -> dict:
    """Push the POS category tree to Magento."""
    return _push(KIND_CATEGORIES, run_id, full, keys, force)


def push_customers(run_id: int, full: bool = False, keys: list[str] | None = None, force: bool = False) -> dict:
    """Push POS customers to Magento."""
    return _push(KIND_CUSTOMERS, run_id, full, keys, force)


def push_fulfilments(run_id: int, full: bool = False, keys: list[str] | None = None, force: bool = False) -> dict:
    """Send the POS's fulfilments of web orders to Magento as shipments."""
    return _push(KIND_FULFILMENTS, run_id, full, keys, force)


#: The job of each push kind: what a run of one kind may start for another (a first run waiting for it, the
#: stock and prices waiting for their product).
PUSH_JOBS = {
    KIND_PRODUCTS: push_products,
    KIND_STOCK: push_stock,
    KIND_PRICES: push_prices,
    KIND_CATEGORIES: push_categories,
    KIND_CUSTOMERS: push_customers,
    KIND_FULFILMENTS: push_fulfilments,
}


def requeue_deferred(svc: Services) -> dict[str, list[int | None]]:
    """After a product push: start a run for the stock and the prices of the SKUs waiting for their product;
    the run ids by kind. The SKUs stay waiting in the state database until a run settles them, so a run that
    could not be queued loses nothing (the next product push or scheduled run takes them)."""
    started: dict[str, list[int | None]] = {}
    for kind in DEFERRABLE_KINDS:
        skus = waiting_skus(svc.state_engine, kind)
        for start in range(0, len(skus), MAX_KEYS):
            chunk = skus[start : start + MAX_KEYS]
            try:
                run = enqueue_run(svc, PUSH_JOBS[kind], kind, TRIGGER_DEFERRED, keys=chunk)
            except Exception:
                log.exception("could not queue the waiting SKUs; they keep waiting", extra={"kind": kind})
                continue
            started.setdefault(kind, []).append(run.run_id)
    return started
