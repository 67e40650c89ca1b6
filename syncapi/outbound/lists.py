"""Sending entries to Magento's list endpoints (source items, base and special prices) in batches.

Each batch is one call of `MAGENTO_BATCH_SIZE` entries; batches run `MAGENTO_CONCURRENCY` at a time. The price
endpoints answer 200 with the entries they refused (`{"message", "parameters"}`): a refusal is pinned on the
SKU its parameters name, or on every SKU of its batch when none is named. A batch Magento refuses whole (a 400)
is sent again entry by entry, so one bad entry fails only its own SKU.
"""

from __future__ import annotations

from collections.abc import Callable

from syncapi.magento.client import batches
from syncapi.magento.errors import format_message
from syncapi.outbound.context import Outcome, PushContext, outcome_of


def send_entries(ctx: PushContext, path: str, key: str, entries: list[dict], action: str) -> dict[str, str]:
    """POST `entries` (each with a `sku`) to `path` as `{key: [...]}`; the SKUs that failed, with why."""
    if not entries:
        return {}
    client = ctx.client
    chunks = list(batches(entries, ctx.settings.magento_batch_size))

    def send(chunk: list[dict]) -> Callable[[], object]:
        return lambda: client.post(path, {key: chunk}, idempotent=True)

    outcomes = ctx.map(lambda chunk: outcome_of(f"{action} ({len(chunk)} SKUs)", send(chunk)), chunks)
    ctx.check_transient(outcomes)
    failed: dict[str, str] = {}
    for chunk, outcome in zip(chunks, outcomes, strict=True):
        if outcome.ok:
            failed.update(_refusals(chunk, outcome.result, action))
        elif outcome.transient or len(chunk) == 1:
            failed.update({entry["sku"]: outcome.error or action for entry in chunk})
        else:
            singles: list[Outcome] = ctx.map(lambda entry: outcome_of(f"{action} {entry['sku']}", send([entry])), chunk)
            ctx.check_transient(singles)
            for entry, single in zip(chunk, singles, strict=True):
                if single.ok:
                    failed.update(_refusals([entry], single.result, action))
                else:
                    failed[entry["sku"]] = single.error or action
    return failed


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
