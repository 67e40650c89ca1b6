"""Import jobs: one Magento record into the POS each, queued on "inbound" by the webhook intake and by the
reconcile job, with job ids `order-<id>`, `invoice-<id>`, `creditmemo-<id>`, `customer-<id>`, `category-<id>`.

A transient error (Magento or the POS database unavailable) is raised as it is: RQ retries the job with the
backoff its options carry. A permanent one (Magento 404 for the record, an SKU the POS lacks, invalid data) is
recorded on the record's link as `failed` with its reason and raised as `PermanentImportError`, after setting the
job's `retries_left` to 0: RQ then files it in the failed registry at once instead of spending its retries on an
answer that cannot change. The retries it had left are kept in the job's meta and given back when an operator
requeues it (`POST /api/v1/jobs/failed/<job_id>/retry`) once the cause is fixed, so a Magento hiccup during that
run is still retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from rq import get_current_job
from rq.job import Job

from syncapi import services
from syncapi.inbound.importers import (
    ENTITY_CATEGORY,
    ENTITY_CREDITMEMO,
    ENTITY_CUSTOMER,
    ENTITY_INVOICE,
    ENTITY_ORDER,
    Importer,
    ImportOutcome,
    PermanentImportError,
    record_failure,
)
from syncapi.inbound.locations import OrderLocations
from syncapi.inbound.mappers import MappingError, magento_id
from syncapi.state import run_history as runs_store

log = logging.getLogger(__name__)

#: Job meta key holding the retries a permanently failed job had left, given back when it is requeued.
META_RETRIES_LEFT = "retries_left_before_permanent_failure"
#: The run-history kind a failed import of each entity is listed under.
RUN_KIND_OF_ENTITY = {
    ENTITY_ORDER: runs_store.KIND_SALES,
    ENTITY_INVOICE: runs_store.KIND_SALES,
    ENTITY_CREDITMEMO: runs_store.KIND_SALES,
    ENTITY_CUSTOMER: runs_store.KIND_CUSTOMERS,
    ENTITY_CATEGORY: runs_store.KIND_CATEGORIES,
}


def import_order(order_id: int) -> dict:
    """Import Magento order `order_id`: a POS sale once its state is in ORDER_WRITE_STATES, else pending."""
    return _import(ENTITY_ORDER, order_id, Importer.import_order)


def import_invoice(invoice_id: int) -> dict:
    """Import Magento invoice `invoice_id` as a POS invoice with its payment."""
    return _import(ENTITY_INVOICE, invoice_id, Importer.import_invoice)


def import_creditmemo(creditmemo_id: int) -> dict:
    """Import Magento credit memo `creditmemo_id` as a POS credit note with its refund."""
    return _import(ENTITY_CREDITMEMO, creditmemo_id, Importer.import_creditmemo)


def import_customer(customer_id: int) -> dict:
    """Create Magento customer `customer_id` in the POS, or link the POS customer with the same email."""
    return _import(ENTITY_CUSTOMER, customer_id, Importer.import_customer)


def import_category(category_id: int) -> dict:
    """Create Magento category `category_id` in the POS, or link the POS category it matches."""
    return _import(ENTITY_CATEGORY, category_id, Importer.import_category)


#: The import job of each entity: what the webhooks (`syncapi.webhooks.events`) and the reconcile queue.
IMPORT_JOBS = {
    ENTITY_ORDER: import_order,
    ENTITY_INVOICE: import_invoice,
    ENTITY_CREDITMEMO: import_creditmemo,
    ENTITY_CUSTOMER: import_customer,
    ENTITY_CATEGORY: import_category,
}


def importer_for(svc: services.Services) -> Importer:
    """The importer over `svc`'s Magento client, POS gateway and state database."""
    settings = svc.settings
    locations = None
    if settings.order_locations:
        locations = OrderLocations(settings.order_locations, svc.stores, settings.pos_location_code)
    return Importer(
        svc.magento,
        svc.pos,
        svc.state_engine,
        settings.order_write_states,
        pos_currency=settings.pos_currency,
        locations=locations,
        return_location=return_location(settings),
    )


def return_location(settings) -> str | None:
    """Where credit memo items go back to stock: `RETURN_LOCATION_CODE` (else `POS_LOCATION_CODE`) when
    `MAGENTO_AUTO_RETURN` is on; None when it is off."""
    if not settings.magento_auto_return:
        return None
    return (settings.return_location_code or "").strip() or settings.pos_location_code


def _import(entity: str, raw_id: object, step: Callable[[Importer, int], ImportOutcome]) -> dict:
    """Run `step` (an `Importer` method) on the record `raw_id` of `entity`, recording how it ended."""
    job = get_current_job()
    job_id = job.id if job is not None else None
    _give_back_retries(job)
    started = time.perf_counter()
    try:
        record_id = magento_id(raw_id, f"{entity} id")
    except MappingError as exc:
        _stop_retries(job)
        log.error("import refused", extra={"job_id": job_id, "entity": entity, "magento_id": raw_id, "error": str(exc)})
        raise PermanentImportError(entity, raw_id, str(exc)) from exc
    fields = {"job_id": job_id, "entity": entity, "magento_id": record_id}
    svc = services.current()
    try:
        outcome = step(importer_for(svc), record_id)
    except PermanentImportError as exc:
        _stop_retries(job)
        _record_failure(svc, entity, record_id, exc.reason, will_retry=False, fields=fields, number=exc.number)
        _record_failed_run(svc, job, entity, record_id, exc.reason, fields)
        log.error("import failed for good", extra={**fields, "error": exc.reason, "ms": _ms(started)})
        raise
    except Exception as exc:
        will_retry = job is not None and job.should_retry
        reason = f"{type(exc).__name__}: {exc}"
        _record_failure(svc, entity, record_id, reason, will_retry=will_retry, fields=fields)
        log.warning(
            "import attempt failed",
            extra={**fields, "error": reason, "will_retry": will_retry, "ms": _ms(started)},
        )
        raise
    if outcome.cancellation is not None:
        _record_cancellation_run(svc, job, outcome, fields)
    log.info(
        "imported" if outcome.status == "synced" else f"import {outcome.status}",
        extra={
            **fields,
            "status": outcome.status,
            "pos_id": outcome.pos_id,
            "new_in_pos": outcome.created,
            "note": outcome.note,
            "ms": _ms(started),
        },
    )
    return outcome.as_dict()


def _record_failure(
    svc, entity: str, record_id: int, reason: str, *, will_retry: bool, fields: dict, number: str | None = None
) -> None:
    try:
        record_failure(svc.state_engine, entity, record_id, reason, will_retry=will_retry, number=number)
    except Exception:  # the state database may be what failed: the job's own error is the one to raise
        log.exception("could not record the failed import on its link", extra=fields)


def _record_failed_run(svc, job: Job | None, entity: str, record_id: int, reason: str, fields: dict) -> None:
    """Put a record that failed for good in the run history, where operators look first: a failed run of its kind
    (`sales` for orders, invoices and credit memos) holding the reason as its one error, keyed by the record."""
    kind = RUN_KIND_OF_ENTITY[entity]
    try:
        run = runs_store.create_run(
            svc.state_engine, kind, _trigger(job), {"import": entity, "magento_id": record_id}, job_id=fields["job_id"]
        )
        runs_store.add_errors(svc.state_engine, run.run_id, [(f"{entity} {record_id}", reason)], failed=1)
        runs_store.finish_run(svc.state_engine, run.run_id)
    except Exception:  # the link holds the reason too; the job's own error is the one to raise
        log.exception("could not record the failed import in the run history", extra=fields)


def _trigger(job: Job | None) -> str:
    """What started the job: the reconcile poll, a webhook, or a command."""
    origin = (job.meta.get("event") if job is not None else None) or "cli"
    if origin == "cli":
        return runs_store.TRIGGER_CLI
    return runs_store.TRIGGER_SCHEDULE if origin == "reconcile" else runs_store.TRIGGER_WEBHOOK


def _record_cancellation_run(svc, job: Job | None, outcome: ImportOutcome, fields: dict) -> None:
    """Put what a cancellation took back in the run history: a `sales` run of one updated record, whose
    parameters say whether the sale was voided and which stock went back where. Only the delivery that took
    something back records one, so each cancellation is there once."""
    params = {"cancel": outcome.entity, "magento_id": outcome.magento_id, "pos_id": outcome.pos_id}
    try:
        run = runs_store.create_run(
            svc.state_engine,
            RUN_KIND_OF_ENTITY[outcome.entity],
            _trigger(job),
            {**params, **(outcome.cancellation or {})},
            job_id=fields["job_id"],
        )
        runs_store.add_counts(svc.state_engine, run.run_id, updated=1)
        runs_store.finish_run(svc.state_engine, run.run_id)
    except Exception:  # the sale is voided and linked; the history is the operator's view of it
        log.exception("could not record the cancellation in the run history", extra=fields)


def _stop_retries(job: Job | None) -> None:
    """Let RQ file the job as failed now: a permanent error gives the same answer on every retry."""
    if job is None or not job.retries_left:
        return
    job.meta[META_RETRIES_LEFT] = job.retries_left
    job.retries_left = 0
    job.save_meta()


def _give_back_retries(job: Job | None) -> None:
    """A job an operator requeued after a permanent failure gets back the retries it had left."""
    if job is None or job.meta.get(META_RETRIES_LEFT) is None:
        return
    job.retries_left = int(job.meta.pop(META_RETRIES_LEFT))
    job.save_meta()


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
