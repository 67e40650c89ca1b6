"""The sales reconcile job: polls Magento for sales and customers whose webhooks never came (see
`syncapi.inbound.reconcile`). Started as a run of kind `sales` by the cron schedule every RECONCILE_INTERVAL,
by `POST /api/v1/sync/sales` and by `flask sync sales`; and the go-live backfill (`flask sync sales --since DATE`,
see `syncapi.inbound.backfill`)."""

from __future__ import annotations

from jobs.inbound import IMPORT_JOBS
from jobs.outbound import PUSH_JOBS
from syncapi import services
from syncapi.inbound.backfill import backfill
from syncapi.inbound.mappers import parse_magento_time
from syncapi.inbound.reconcile import reconcile
from syncapi.run_lifecycle import run_context


def reconcile_sales(run_id: int, full: bool = False) -> dict:
    """Queue imports for the orders, invoices, credit memos and customers changed since the last poll (all with
    `full`); what was done per entity."""
    svc = services.current()
    with run_context(svc, run_id, jobs=PUSH_JOBS) as run:
        return reconcile(svc, svc.magento, run, imports=IMPORT_JOBS, full=full)


def backfill_sales(run_id: int, since: str) -> dict:
    """Queue imports for the orders, invoices and credit memos created since `since` (UTC, Magento's
    `YYYY-MM-DD HH:MM:SS`) that are not in the POS yet; how many of each were read."""
    moment = parse_magento_time(since, "since")
    if moment is None:
        raise ValueError("since must be a time, e.g. 2026-01-01 00:00:00")
    svc = services.current()
    with run_context(svc, run_id, jobs=PUSH_JOBS) as run:
        return backfill(svc, svc.magento, run, imports=IMPORT_JOBS, since=moment)
