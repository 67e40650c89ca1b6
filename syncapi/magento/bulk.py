"""Magento's asynchronous bulk API: submit many bodies in one call, then poll until each operation is done.

`POST /rest/<store>/async/bulk/V1/products` takes an array of the bodies `POST /V1/products` takes and answers
202 with a `bulk_uuid` and one `request_items` entry per body ("accepted" or "rejected"). Accepted is not done:
Magento's `async.operations.all` queue consumer runs them later (magento2 #31741), and
`GET /V1/bulk/{uuid}/detailed-status` reports each operation's status. The per-operation statuses are what
count; the bulk summary has been wrong (magento2 #36911).

Routes with a path parameter replace it by `by<Name>` and each body carries the value:
`PUT /async/bulk/V1/products/bySku` with `[{"sku": "A", "product": {...}}, ...]` (see `bulk_path`).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from syncapi.magento.client import MagentoClient, path
from syncapi.magento.errors import MagentoBulkTimeoutError, MagentoBulkUnsupportedError, MagentoNotFoundError

STATUS_COMPLETE = 1
STATUS_FAILED_RETRYABLE = 2
STATUS_FAILED = 3
STATUS_OPEN = 4
STATUS_REJECTED = 5
STATUS_NAMES = {
    STATUS_COMPLETE: "complete",
    STATUS_FAILED_RETRYABLE: "failed_retryable",
    STATUS_FAILED: "failed",
    STATUS_OPEN: "open",
    STATUS_REJECTED: "rejected",
}

#: Seconds between two status polls.
POLL_INTERVAL_S = 2.0
#: Seconds without any operation leaving "open" after which the consumer is taken to be down.
STALL_TIMEOUT_S = 120.0
#: Seconds a bulk may take in all.
BULK_TIMEOUT_S = 1800.0

CONSUMER_HINT = (
    "Magento's async.operations.all consumer is probably not running: start it with "
    "`bin/magento queue:consumers:start async.operations.all` or let cron run it (consumers_runner)"
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def bulk_path(template: str) -> str:
    """The async bulk route of a `/V1/...` path template: `/V1/products/{sku}` -> `/async/bulk/V1/products/bySku`."""
    return "/async/bulk" + _PLACEHOLDER.sub(lambda m: "by" + m.group(1)[0].upper() + m.group(1)[1:], template)


@dataclass(frozen=True)
class OperationResult:
    """What became of one submitted body: `index` is its position in the submitted list."""

    index: int
    status: int
    message: str | None = None
    error_code: int | None = None
    #: What the operation's service call returned (e.g. the saved product, a media entry id), when Magento
    #: reports it in `result_serialized_data`; None otherwise.
    result: Any = None

    @property
    def status_name(self) -> str:
        """`complete`, `failed_retryable`, `failed`, `open` or `rejected`."""
        return STATUS_NAMES.get(self.status, str(self.status))

    @property
    def ok(self) -> bool:
        """True when the operation completed."""
        return self.status == STATUS_COMPLETE


@dataclass
class BulkResult:
    """A finished bulk: one `OperationResult` per submitted body, in submission order."""

    bulk_uuid: str
    operations: list[OperationResult] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Operations per status name."""
        return dict(Counter(op.status_name for op in self.operations))

    @property
    def failed(self) -> list[OperationResult]:
        """The operations that did not complete."""
        return [op for op in self.operations if not op.ok]

    @property
    def ok(self) -> bool:
        """True when every operation completed."""
        return not self.failed


@dataclass(frozen=True)
class Submission:
    """Magento's answer to a bulk submission: the uuid and, per body, whether it was accepted."""

    bulk_uuid: str
    accepted: list[int]
    rejected: dict[int, str]


def submit(client: MagentoClient, method: str, template: str, bodies: list[Any], *, store: str | None = None):
    """Submit `bodies` to the bulk route of `template` (`POST`, `/V1/products`); a `Submission`.

    Raises `MagentoBulkUnsupportedError` when the store has no such route (Magento_WebapiAsync off), so the
    caller can send the requests one by one instead.
    """
    try:
        # Submitting is not repeated after a timeout: a second bulk would run the same saves twice.
        answer = client.request(method, bulk_path(template), json=list(bodies), store=store, idempotent=False)
    except MagentoNotFoundError as exc:
        raise MagentoBulkUnsupportedError(
            exc.status,
            f"the store has no async bulk route for {method} {template} ({exc.message}); "
            "is Magento_WebapiAsync enabled?",
            exc.body,
            method=exc.method,
            url=exc.url,
        ) from exc
    accepted, rejected = [], {}
    for position, item in enumerate(answer.get("request_items") or []):
        index = int(item.get("id", position))
        if item.get("status") == "rejected":
            rejected[index] = item.get("error_message") or "rejected by Magento"
        else:
            accepted.append(index)
    return Submission(answer["bulk_uuid"], accepted, rejected)


def wait(
    client: MagentoClient,
    submission: Submission,
    *,
    poll_interval_s: float = POLL_INTERVAL_S,
    stall_timeout_s: float = STALL_TIMEOUT_S,
    timeout_s: float = BULK_TIMEOUT_S,
) -> BulkResult:
    """Poll the bulk until no operation is open; a `BulkResult`.

    Raises `MagentoBulkTimeoutError` when nothing has moved for `stall_timeout_s` (the consumer is probably
    not running) or the bulk is not finished after `timeout_s`.
    """
    started = last_change = time.monotonic()
    previous: dict[int, int] | None = None
    while True:
        details = client.get(path("/V1/bulk/{uuid}/detailed-status", uuid=submission.bulk_uuid))
        operations = {}
        for op in details.get("operations_list") or []:
            index = int(op["id"])
            status = int(op["status"])
            operations[index] = OperationResult(
                index, status, op.get("result_message"), op.get("error_code"), _result(op.get("result_serialized_data"))
            )
        for index, message in submission.rejected.items():
            operations.setdefault(index, OperationResult(index, STATUS_REJECTED, message))
        statuses = {index: op.status for index, op in operations.items()}
        now = time.monotonic()
        if statuses != previous:
            previous, last_change = statuses, now
        if all(status != STATUS_OPEN for status in statuses.values()):
            return BulkResult(submission.bulk_uuid, [operations[i] for i in sorted(operations)])
        counts = dict(Counter(op.status_name for op in operations.values()))
        if now - last_change >= stall_timeout_s:
            ran = len(operations) - counts.get("open", 0) - counts.get("rejected", 0)
            progress = "none of its operations has run" if ran == 0 else f"no operation has finished ({counts})"
            raise MagentoBulkTimeoutError(
                f"bulk {submission.bulk_uuid}: {progress} for {stall_timeout_s:g} s; {CONSUMER_HINT}",
                bulk_uuid=submission.bulk_uuid,
                counts=counts,
            )
        if now - started >= timeout_s:
            ran = len(operations) - counts.get("open", 0) - counts.get("rejected", 0)
            # Nothing run at all points at the consumer, whichever of the two limits was reached first.
            hint = f"; {CONSUMER_HINT}" if ran == 0 else ""
            raise MagentoBulkTimeoutError(
                f"bulk {submission.bulk_uuid} is not finished after {timeout_s:g} s ({counts}){hint}",
                bulk_uuid=submission.bulk_uuid,
                counts=counts,
            )
        time.sleep(poll_interval_s)


def run(
    client: MagentoClient,
    method: str,
    template: str,
    bodies: list[Any],
    *,
    store: str | None = None,
    batch_size: int | None = None,
    **wait_options: float,
) -> list[OperationResult]:
    """Submit `bodies` in bulks of `batch_size` (default the client's), wait for each; every body's result."""
    size = batch_size or client.batch_size
    results: list[OperationResult] = []
    for offset in range(0, len(bodies), size):
        submission = submit(client, method, template, bodies[offset : offset + size], store=store)
        result = wait(client, submission, **wait_options)
        results.extend(
            OperationResult(offset + op.index, op.status, op.message, op.error_code, op.result)
            for op in result.operations
        )
    return results


def _result(serialized: Any) -> Any:
    """The decoded `result_serialized_data` of an operation (JSON text), or None when absent or unreadable."""
    if not isinstance(serialized, str) or not serialized.strip():
        return None
    try:
        return json.loads(serialized)
    except ValueError:
        return None
