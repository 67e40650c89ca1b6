"""Many writes of one kind at once: product saves and image uploads.

With MAGENTO_USE_BULK (the default) they go through Magento's async bulk API, `MAGENTO_BATCH_SIZE` bodies per
submission, every submission of a batch sent before the first is waited for. A store without the bulk routes
(Magento_WebapiAsync off) answers 404 on the first submission; the run then sends the rest one by one, as it
does without MAGENTO_USE_BULK: one call per record, `MAGENTO_CONCURRENCY` at a time over the one client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from syncapi.magento import bulk, media, products
from syncapi.magento.client import batches
from syncapi.magento.errors import (
    MagentoAuthError,
    MagentoBulkUnsupportedError,
    MagentoPermanentError,
    MagentoTransientError,
)
from syncapi.outbound.context import Outcome, PushContext, outcome_of, refused

log = logging.getLogger(__name__)

#: Seconds between polls of a bulk's status (bulks of a batch are waited for one after the other).
BULK_POLL_S = 0.2
#: Seconds without progress after which Magento's bulk consumer is taken to be down (the run then fails).
BULK_STALL_S = 120.0


class Writer:
    """Writes for one run; remembers whether the store has the bulk routes."""

    def __init__(self, ctx: PushContext):
        self.ctx = ctx
        self.use_bulk = ctx.settings.magento_use_bulk

    def save_products(self, bodies: list[dict]) -> list[Outcome]:
        """Save each product body (an upsert by SKU); one `Outcome` per body, in order (result: the product)."""
        client, store = self.ctx.client, self.ctx.client.store_code
        return self._write(
            "POST",
            products.PRODUCTS,
            [{"product": body} for body in bodies],
            lambda body: f"save product {body['product']['sku']}",
            lambda body: products.update(client, body["product"]["sku"], body["product"], store=store),
        )

    def add_images(self, items: list[tuple[str, dict]]) -> list[Outcome]:
        """Add each `(sku, gallery entry)`; one `Outcome` per item (result: the new entry id, when known)."""
        client = self.ctx.client
        return self._write(
            "POST",
            media.ENTRIES,
            [{"sku": sku, "entry": entry} for sku, entry in items],
            lambda body: f"upload image {body['entry']['content']['name']} of {body['sku']}",
            lambda body: media.add(client, body["sku"], body["entry"]),
        )

    def _write(
        self,
        method: str,
        template: str,
        bodies: list[dict],
        action: Callable[[dict], str],
        direct: Callable[[dict], Any],
    ) -> list[Outcome]:
        if not bodies:
            return []
        if self.use_bulk:
            try:
                return self._bulk(method, template, bodies, action)
            except MagentoBulkUnsupportedError as exc:
                self.use_bulk = False
                log.info("the store has no async bulk routes; writing one by one", extra={"error": str(exc)})
        outcomes = self.ctx.map(lambda body: outcome_of(action(body), lambda: direct(body)), bodies)
        self.ctx.check_transient(outcomes)
        return outcomes

    def _bulk(self, method: str, template: str, bodies: list[dict], action: Callable[[dict], str]) -> list[Outcome]:
        client = self.ctx.client
        size = self.ctx.settings.magento_batch_size
        outcomes: list[Outcome | None] = [None] * len(bodies)
        submitted: list[tuple[int, bulk.Submission]] = []
        offset = 0
        for chunk in batches(bodies, size):
            try:
                submitted.append((offset, bulk.submit(client, method, template, chunk)))
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
        self.ctx.check_transient(final)
        return final
