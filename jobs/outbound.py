"""Pushes to Magento, one job per kind: `push_<kind>(run_id, full=False, keys=None, force=False)`.

`syncapi.runs.start_sync` stores the run and queues these on the "outbound" queue (the operator API, the cron
schedule, the POS's announcements and `flask sync` all go through it; `flask sync` calls them directly). A run
announced by the POS takes its keys from the announcements. The work itself is in `syncapi.outbound`. Stock and
price SKUs not in Magento yet are kept for after the next product push, which queues a run for them.
"""

from __future__ import annotations

from syncapi import services
from syncapi.outbound import PUSHES, push_context, waiting
from syncapi.runs import DEFERRABLE_KINDS, requeue_deferred, run_context
from syncapi.state import TRIGGER_ANNOUNCED
from syncapi.state.runs import KIND_PRODUCTS


def _push(kind: str, run_id: int, full: bool, keys: list[str] | None, force: bool) -> dict[str, int]:
    svc = services.current()
    with run_context(svc, run_id) as recorder:
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
    return _push("products", run_id, full, keys, force)


def push_stock(run_id: int, full: bool = False, keys: list[str] | None = None, force: bool = False) -> dict:
    """Push the POS's on-hand at POS_LOCATION_CODE to Magento's source items."""
    return _push("stock", run_id, full, keys, force)


def push_prices(run_id: int, full: bool = False, keys: list[str] | None = None, force: bool = False) -> dict:
    """Push base and special prices to Magento."""
    return _push("prices", run_id, full, keys, force)


def push_categories(run_id: int, full: bool = False, keys: list[str] | None = None, force: bool = False) -> dict:
    """Push the POS category tree to Magento."""
    return _push("categories", run_id, full, keys, force)


def push_customers(run_id: int, full: bool = False, keys: list[str] | None = None, force: bool = False) -> dict:
    """Push POS customers to Magento."""
    return _push("customers", run_id, full, keys, force)
