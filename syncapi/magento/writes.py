"""Many writes of one kind at once, and what became of each.

- `send_entries`: a list endpoint (source items, base and special prices) in batches. Each batch is one call of
  `Batching.size` entries; batches run through `Batching.map`. The price endpoints answer 200 with the entries
  they refused (`{"message", "parameters"}`): a refusal is pinned on the SKU its parameters name, or on every
  SKU of its batch when none is named. A batch Magento refuses whole (a 400) is sent again entry by entry, so
  one bad entry fails only its own SKU.
- `BulkWriter`: product saves and image uploads. With bulk on they go through Magento's async bulk API,
  `Batching.size` bodies per submission, every submission of a batch sent before the first is waited for. A
  store without the bulk routes (Magento_WebapiAsync off) answers 404 on the first submission; the writer then
  sends the rest one by one, as it does with bulk off: one call per record through `Batching.map`.

Every round of outcomes is shown to `Batching.check`, which may raise to end the run (Magento looks down).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from syncapi.magento import bulk
from syncapi.magento.client import MagentoClient, batches
from syncapi.magento.errors import (
    MagentoAuthError,
    MagentoBulkUnsupportedError,
    MagentoPermanentError,
    MagentoTransientError,
    MagentoUnsafePathError,
    format_message,
)

log = logging.getLogger(__name__)

#: Seconds between polls of a bulk's status (bulks of a batch are waited for one after the other).
BULK_POLL_S = 0.2
#: Seconds without progress after which Magento's bulk consumer is taken to be down (the run then fails).
BULK_STALL_S = 120.0


@dataclass(frozen=True)
class Outcome:
    """What became of one write: `ok`, Magento's answer (`result`), or why not (`error`, `transient`)."""

    ok: bool
    result: Any = None
    error: str | None = None
    transient: bool = False


def refused(action: str, exc: MagentoPermanentError) -> str:
    """A run-error message for a refusal: what was tried and Magento's own words (or ours, when the request
    was refused before it was sent)."""
    if isinstance(exc, MagentoUnsafePathError):
        return f"{action}: {exc.message}"
    return f"{action}: Magento answered {exc.status}: {exc.message}"


def outcome_of(action: str, call: Callable[[], Any]) -> Outcome:
    """Run one Magento call; its answer, or a refusal or transient failure as an `Outcome` (auth errors raise)."""
    try:
        return Outcome(True, call())
    except MagentoAuthError:
        raise
    except MagentoPermanentError as exc:
        return Outcome(False, error=refused(action, exc))
    except MagentoTransientError as exc:
        return Outcome(False, error=f"{action}: {exc.message}", transient=True)


def serial_map(func: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    """`func` over `items`, one after the other."""
    return [func(item) for item in items]


def accept(outcomes: list[Outcome]) -> None:
    """A `Batching.check` that lets every round of outcomes through."""


@dataclass(frozen=True)
class Batching:
    """How many writes are sent: `size` entries per call, `map` runs calls (concurrently if it likes, results
    in order), `check` sees each round of outcomes and may raise to stop."""

    size: int
    map: Callable[[Callable[[Any], Any], Iterable[Any]], list[Any]] = serial_map
    check: Callable[[list[Outcome]], None] = accept


def send_entries(
    client: MagentoClient,
    path: str,
    key: str,
    entries: list[dict],
    action: str,
    batching: Batching,
    *,
    replace: bool = False,
) -> dict[str, str]:
    """POST `entries` (each with a `sku`) to `path` as `{key: [...]}` (PUT with `replace`: the tier-price
    replace, whose entries of one SKU must be in one call); the SKUs that failed, with why."""
    if not entries:
        return {}
    chunks = list(_by_sku(entries, batching.size) if replace else batches(entries, batching.size))

    def send(chunk: list[dict]) -> Callable[[], object]:
        if replace:
            return lambda: client.put(path, {key: chunk})
        return lambda: client.post(path, {key: chunk}, idempotent=True)

    outcomes = batching.map(lambda chunk: outcome_of(f"{action} ({len(chunk)} SKUs)", send(chunk)), chunks)
    batching.check(outcomes)
    failed: dict[str, str] = {}
    for chunk, outcome in zip(chunks, outcomes, strict=True):
        if outcome.ok:
            failed.update(_refusals(chunk, outcome.result, action))
        elif outcome.transient or len(chunk) == 1:
            failed.update({entry["sku"]: outcome.error or action for entry in chunk})
        else:
            # A replace sends all of a SKU's entries together: one alone would replace the others away.
            units = _by_sku(chunk, 1) if replace else [[entry] for entry in chunk]
            singles: list[Outcome] = batching.map(
                lambda unit: outcome_of(f"{action} {unit[0]['sku']}", send(unit)), units
            )
            batching.check(singles)
            for unit, single in zip(units, singles, strict=True):
                if single.ok:
                    failed.update(_refusals(unit, single.result, action))
                else:
                    failed[unit[0]["sku"]] = single.error or action
    return failed


def _by_sku(entries: list[dict], size: int) -> list[list[dict]]:
    """Chunks of about `size` entries that never split one SKU's entries."""
    chunks: list[list[dict]] = []
    current: list[dict] = []
    for entry in entries:
        if len(current) >= size and current[-1]["sku"] != entry["sku"]:
            chunks.append(current)
            current = []
        current.append(entry)
    if current:
        chunks.append(current)
    return chunks


def _refusals(chunk: list[dict], answer: object, action: str) -> dict[str, str]:
    if not isinstance(answer, list) or not answer:
        return {}
    skus = {entry["sku"] for entry in chunk}
    failed: dict[str, str] = {}
    for item in answer:
        if not isinstance(item, dict):
            continue
        parameters = item.get("parameters") or []
        values = parameters.values() if isinstance(parameters, dict) else parameters
        message = f"{action}: Magento refused it: {format_message(item.get('message', ''), parameters)}"
        named = [str(value) for value in values if str(value) in skus]
        for sku in named or sorted(skus):
            failed.setdefault(sku, message)
    return failed


@dataclass(frozen=True)
class Write:
    """One kind of write: the bulk route (`method`, `template`), what each body is called in an error
    (`action`), how one body is sent on its own (`direct`), and the store code of the bulk route (None: the
    client's)."""

    method: str
    template: str
    action: Callable[[dict], str]
    direct: Callable[[dict], Any]
    store: str | None = None


class BulkWriter:
    """Writes of one run; remembers whether the store has the bulk routes."""

    def __init__(self, client: MagentoClient, batching: Batching, *, use_bulk: bool = True):
        self.client = client
        self.batching = batching
        self.use_bulk = use_bulk

    def write(self, write: Write, bodies: list[dict]) -> list[Outcome]:
        """Send each body; one `Outcome` per body, in order."""
        if not bodies:
            return []
        if self.use_bulk:
            try:
                return self._bulk(write, bodies)
            except MagentoBulkUnsupportedError as exc:
                self.use_bulk = False
                log.info("the store has no async bulk routes; writing one by one", extra={"error": str(exc)})
        outcomes = self.batching.map(lambda body: outcome_of(write.action(body), lambda: write.direct(body)), bodies)
        self.batching.check(outcomes)
        return outcomes

    def _bulk(self, write: Write, bodies: list[dict]) -> list[Outcome]:
        client, action = self.client, write.action
        outcomes: list[Outcome | None] = [None] * len(bodies)
        submitted: list[tuple[int, bulk.Submission]] = []
        offset = 0
        for chunk in batches(bodies, self.batching.size):
            try:
                submitted.append((offset, bulk.submit(client, write.method, write.template, chunk, store=write.store)))
            except (MagentoBulkUnsupportedError, MagentoAuthError):
                if submitted:  # routes do not vanish mid-run; if they do, say so rather than resend
                    raise MagentoTransientError("the bulk routes stopped answering during the run") from None
                raise
            except MagentoPermanentError as exc:
                for index in range(offset, offset + len(chunk)):
                    outcomes[index] = Outcome(False, error=refused(action(bodies[index]), exc))
            except MagentoTransientError as exc:
                for index in range(offset, offset + len(chunk)):
                    outcomes[index] = Outcome(False, error=f"{action(bodies[index])}: {exc.message}", transient=True)
            offset += len(chunk)
        for start, submission in submitted:
            # A stalled consumer raises MagentoBulkTimeoutError: the run fails and is retried later.
            result = bulk.wait(client, submission, poll_interval_s=BULK_POLL_S, stall_timeout_s=BULK_STALL_S)
            for op in result.operations:
                index = start + op.index
                if op.ok:
                    outcomes[index] = Outcome(True, op.result)
                else:
                    message = f"{action(bodies[index])}: Magento's bulk operation {op.status_name}: {op.message}"
                    retryable = op.status == bulk.STATUS_FAILED_RETRYABLE
                    outcomes[index] = Outcome(False, error=message, transient=retryable)
        final = [
            outcome or Outcome(False, error=f"{action(bodies[i])}: Magento reported no result", transient=True)
            for i, outcome in enumerate(outcomes)
        ]
        self.batching.check(final)
        return final
