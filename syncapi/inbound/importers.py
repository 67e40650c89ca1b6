"""The import flow of one Magento record: fetch it from Magento, map it, write it through the POS gateway, and
record where it went (`sync_links`, served at `GET /api/v1/links/<entity>/<magento_id>`).

The webhook body is only a hint: every import reads the record fresh from Magento's REST API, so a late or
repeated delivery writes what Magento holds now, and the POS's unique Magento-id columns make any number of
deliveries land once.

Errors, by what should happen next:

- transient: `MagentoTransientError` (Magento unreachable, timeouts, 429/5xx after the client's own retries),
  `PosUnavailableError` (the POS database is down): raised as they are, so RQ retries the job with backoff;
- permanent: Magento refused the request (404 for the record, 401/403), the POS refused the record (unknown SKU,
  invalid data, a clash), or the record lacks what the POS needs: raised as `PermanentImportError`, whose reason
  the job records on the link. Retrying the same job cannot help until someone fixes the cause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import Engine

from syncapi.inbound import mappers
from syncapi.inbound.locations import OrderLocations
from syncapi.inbound.mappers import MappingError
from syncapi.magento import MagentoClient, MagentoPermanentError, categories, customers, sales
from syncapi.pos.errors import PosValidationError
from syncapi.pos.gateway import SALE_VOIDED, PosGateway, WriteResult
from syncapi.state.links import (
    LINK_FAILED,
    LINK_PENDING,
    LINK_SKIPPED,
    LINK_SYNCED,
    LINK_VOIDED,
    get_link,
    record_link,
)

log = logging.getLogger(__name__)

ENTITY_ORDER = "order"
ENTITY_INVOICE = "invoice"
ENTITY_CREDITMEMO = "creditmemo"
ENTITY_CUSTOMER = "customer"
ENTITY_CATEGORY = "category"
ENTITIES = (ENTITY_ORDER, ENTITY_INVOICE, ENTITY_CREDITMEMO, ENTITY_CUSTOMER, ENTITY_CATEGORY)
#: The link note of a canceled order with no sale: also the mark a sale written meanwhile looks for.
CANCELED_NOTE = "the order is canceled and was never written to the POS; nothing to take back"
#: How each entity is named in messages.
NAMES = {ENTITY_CREDITMEMO: "credit memo"}


def entity_name(entity: str) -> str:
    """`creditmemo` -> `credit memo`; other entities as they are."""
    return NAMES.get(entity, entity)


class PermanentImportError(Exception):
    """The record cannot be imported as it is; trying the same job again gives the same answer until the cause
    (the POS's catalogue, the record in Magento, the credentials) is fixed."""

    def __init__(self, entity: str, magento_id: object, reason: str, number: str | None = None):
        super().__init__(f"{entity_name(entity)} {magento_id}: {reason}")
        self.entity = entity
        self.magento_id = magento_id
        self.reason = reason
        #: The number people know the record by (an order's increment id), when Magento gave one.
        self.number = number


@dataclass(frozen=True)
class ImportOutcome:
    """Where one Magento record went: `status` is `synced`, `pending` (written later) or `skipped` (never)."""

    entity: str
    magento_id: int
    status: str
    pos_id: int | None = None
    #: True when this import created the POS record (False: it was there already, or nothing was written).
    created: bool = False
    #: Why a pending or skipped record was not written (also kept as the link's `error`).
    note: str | None = None
    #: What this import's cancellation took back: `voided`, `location_code`, `returned` (SKU -> qty).
    cancellation: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The outcome as a JSON-friendly dict (the job's result); `cancellation` only when there was one."""
        answer = asdict(self)
        if self.cancellation is None:
            del answer["cancellation"]
        return answer


class Importer:
    """Imports Magento records into the POS over one Magento client, POS gateway and state database (a job builds
    one over its process's `Services`)."""

    def __init__(
        self,
        client: MagentoClient,
        gateway: PosGateway,
        state_engine: Engine,
        write_states: Iterable[str],
        *,
        pos_currency: str | None = None,
        locations: OrderLocations | None = None,
        return_location: str | None = None,
    ):
        self.client = client
        self.gateway = gateway
        self.state_engine = state_engine
        self.write_states = tuple(write_states)
        #: `POS_CURRENCY`: records in another base currency are refused (None: any).
        self.pos_currency = pos_currency or None
        #: `ORDER_LOCATIONS`: the POS location of each order's store (None: the gateway's location for all).
        self.locations = locations
        #: Where credit memo items go back to stock (`MAGENTO_AUTO_RETURN` on), or None: nothing goes back.
        self.return_location = return_location or None

    # --- orders --------------------------------------------------------------------------------------------

    def import_order(self, order_id: int) -> ImportOutcome:
        """Write the order as a sale once its state is a write state; else record it pending (or skipped). A
        canceled order voids its sale, a partly canceled one takes that part back (docs/sync.md)."""
        order = self._read(ENTITY_ORDER, order_id, "it", lambda: sales.get_order(self.client, order_id))
        with _permanent(ENTITY_ORDER, order_id, order):
            if mappers.is_canceled(order):
                return self._cancel(order_id, None)
            decision = mappers.order_decision(order, self.write_states)
            if decision.action == mappers.ACTION_WRITE:
                sale = mappers.order_to_sale(
                    order, pos_currency=self.pos_currency, retail_prices=self._bundle_prices(order)
                )
                if self.locations is not None:
                    sale = replace(sale, location_code=self._location_of(order_id, order))
                result = self.gateway.write_sale(sale)
                if result.created:
                    return self._after_written(order_id, result)
                if mappers.has_canceled_items(order):
                    return self._cancel(order_id, mappers.sold_quantities(sale))
                return self._order_outcome(order_id)
        existing = self.gateway.find_sale(order_id)
        if existing is not None:
            # Written at an earlier state (complete, then closed by a refund): it stays where it landed.
            return self._order_outcome(order_id)
        status = LINK_PENDING if decision.action == mappers.ACTION_WAIT else LINK_SKIPPED
        record_link(self.state_engine, ENTITY_ORDER, order_id, status, error=decision.reason)
        return ImportOutcome(ENTITY_ORDER, order_id, status, note=decision.reason)

    def _after_written(self, order_id: int, result: WriteResult) -> ImportOutcome:
        """Look at the order's link once its sale is written: a cancellation that came while it was being written
        marked the link before finding no sale to void, so the sale is taken back here."""
        link = get_link(self.state_engine, ENTITY_ORDER, order_id)
        if link is not None and link.status == LINK_SKIPPED and link.error == CANCELED_NOTE:
            return self._cancel(order_id, None)
        return self._synced(ENTITY_ORDER, order_id, result)

    def _cancel(self, order_id: int, sold: dict | None) -> ImportOutcome:
        """Void the order's sale (`sold=None`) or take back what is no longer sold; a no-op without a sale."""
        if sold is None:
            # Marked before looking for the sale, so a write committing meanwhile sees the mark and voids it.
            record_link(self.state_engine, ENTITY_ORDER, order_id, LINK_SKIPPED, error=CANCELED_NOTE)
        cancellation = self.gateway.cancel_sale(order_id, sold)
        if cancellation is None:
            log.info("cancellation of an order the POS does not have", extra={"magento_order_id": order_id})
            return ImportOutcome(ENTITY_ORDER, order_id, LINK_SKIPPED, note=CANCELED_NOTE)
        outcome = self._order_outcome(order_id)
        if not cancellation.changed:
            return outcome
        taken = {sku: str(qty) for sku, qty in sorted(cancellation.returned.items())}
        return ImportOutcome(
            ENTITY_ORDER,
            order_id,
            outcome.status,
            pos_id=cancellation.sale_id,
            note=outcome.note,
            cancellation={
                "voided": cancellation.voided,
                "location_code": cancellation.location_code,
                "returned": taken,
            },
        )

    def _order_outcome(self, order_id: int) -> ImportOutcome:
        """The link of an order whose sale is written: `voided` once canceled, else `synced`."""
        sale = self.gateway.find_sale(order_id)
        if sale is None:  # pragma: no cover - called only once the sale is written
            raise PermanentImportError(ENTITY_ORDER, order_id, "its sale vanished from the POS")
        if sale.status == SALE_VOIDED:
            note = "the order was canceled in Magento; its sale is voided and its stock put back"
            record_link(self.state_engine, ENTITY_ORDER, order_id, LINK_VOIDED, pos_id=sale.id, error=note)
            return ImportOutcome(ENTITY_ORDER, order_id, LINK_VOIDED, pos_id=sale.id, note=note)
        return self._synced(ENTITY_ORDER, order_id, WriteResult(sale.id, False))

    # --- invoices and credit memos -------------------------------------------------------------------------

    def import_invoice(self, invoice_id: int) -> ImportOutcome:
        """Write the invoice and its payment; it lands even before its order's sale, which links it later."""
        invoice = self._read(ENTITY_INVOICE, invoice_id, "it", lambda: sales.get_invoice(self.client, invoice_id))
        order = self._order_of(ENTITY_INVOICE, invoice_id, invoice)
        with _permanent(ENTITY_INVOICE, invoice_id, invoice):
            result = self.gateway.write_invoice(mappers.invoice_to_pos(invoice, order, pos_currency=self.pos_currency))
        return self._synced(ENTITY_INVOICE, invoice_id, result)

    def import_creditmemo(self, creditmemo_id: int) -> ImportOutcome:
        """Write the credit memo as a credit note and its refund; linked to its invoice whenever that lands."""
        creditmemo = self._read(
            ENTITY_CREDITMEMO, creditmemo_id, "it", lambda: sales.get_creditmemo(self.client, creditmemo_id)
        )
        order = self._order_of(ENTITY_CREDITMEMO, creditmemo_id, creditmemo)
        with _permanent(ENTITY_CREDITMEMO, creditmemo_id, creditmemo):
            result = self.gateway.write_credit_note(
                mappers.creditmemo_to_pos(
                    creditmemo, order, pos_currency=self.pos_currency, return_location=self.return_location
                )
            )
        return self._synced(ENTITY_CREDITMEMO, creditmemo_id, result)

    def _location_of(self, order_id: int, order: dict) -> str:
        """The POS location of the order's store (`ORDER_LOCATIONS`); Magento refusing its store list is permanent."""
        try:
            return self.locations.location_of(order)
        except MagentoPermanentError as exc:
            raise PermanentImportError(
                ENTITY_ORDER, order_id, f"Magento did not give its store views, which pick the POS location: {exc}"
            ) from exc

    def _bundle_prices(self, order: dict) -> dict:
        """POS retail prices of the children of the order's fixed-price bundles, which share the bundle's price."""
        skus = mappers.fixed_bundle_skus(order)
        return {price.sku: price.retail_price for price in self.gateway.get_prices(skus)} if skus else {}

    def _order_of(self, entity: str, magento_id: int, record: dict) -> dict:
        with _permanent(entity, magento_id):
            order_id = mappers.order_id_of(record, entity_name(entity))
        return self._read(entity, magento_id, f"its order {order_id}", lambda: sales.get_order(self.client, order_id))

    # --- customers and categories --------------------------------------------------------------------------

    def import_customer(self, customer_id: int) -> ImportOutcome:
        """Create the customer in the POS, or link the POS customer with the same email (no update: POS wins)."""
        customer = self._read(ENTITY_CUSTOMER, customer_id, "it", lambda: customers.get(self.client, customer_id))
        with _permanent(ENTITY_CUSTOMER, customer_id):
            result = self.gateway.ensure_customer(mappers.customer_to_pos(customer))
        return self._synced(ENTITY_CUSTOMER, customer_id, result)

    def import_category(self, category_id: int) -> ImportOutcome:
        """Create the category (its missing ancestors first) in the POS, or link the one it has."""
        category = self._read(ENTITY_CATEGORY, category_id, "it", lambda: categories.get(self.client, category_id))
        with _permanent(ENTITY_CATEGORY, category_id):
            if mappers.is_root_category(category):
                note = "a root category of Magento's catalogue has no POS counterpart"
                record_link(self.state_engine, ENTITY_CATEGORY, category_id, LINK_SKIPPED, error=note)
                return ImportOutcome(ENTITY_CATEGORY, category_id, LINK_SKIPPED, note=note)
            ancestors = mappers.category_ancestors(category)
        for ancestor_id in ancestors:
            # Parents first, so the category lands under its parent rather than at the top of the POS tree.
            link = get_link(self.state_engine, ENTITY_CATEGORY, ancestor_id)
            if link is not None and link.status == LINK_SYNCED:
                continue
            ancestor = self._read(
                ENTITY_CATEGORY,
                category_id,
                f"its parent category {ancestor_id}",
                lambda ancestor_id=ancestor_id: categories.get(self.client, ancestor_id),
            )
            with _permanent(ENTITY_CATEGORY, category_id):
                result = self.gateway.ensure_category(mappers.category_to_pos(ancestor))
            self._synced(ENTITY_CATEGORY, ancestor_id, result)
        with _permanent(ENTITY_CATEGORY, category_id):
            result = self.gateway.ensure_category(mappers.category_to_pos(category))
        return self._synced(ENTITY_CATEGORY, category_id, result)

    # --- helpers -------------------------------------------------------------------------------------------

    def _read(self, entity: str, magento_id: int, what: str, fetch: Callable[[], Any]) -> dict:
        """`fetch()` from Magento; a refusal (404, 401/403, other 4xx) is permanent, a transient error passes."""
        try:
            record = fetch()
        except MagentoPermanentError as exc:
            raise PermanentImportError(entity, magento_id, f"Magento did not give {what}: {exc}") from exc
        if not isinstance(record, dict):
            raise PermanentImportError(entity, magento_id, f"Magento answered {what} with {type(record).__name__}")
        return record

    def _synced(self, entity: str, magento_id: int, result: WriteResult) -> ImportOutcome:
        record_link(self.state_engine, entity, magento_id, LINK_SYNCED, pos_id=result.pos_id)
        return ImportOutcome(entity, magento_id, LINK_SYNCED, pos_id=result.pos_id, created=result.created)


@contextmanager
def _permanent(entity: str, magento_id: int, record: dict | None = None) -> Iterator[None]:
    """Turn the POS's refusals and unmappable records into `PermanentImportError`, carrying the record's
    number (`increment_id`) when `record` has one."""
    number = record.get("increment_id") if record is not None else None
    number = str(number) if isinstance(number, str | int) and str(number).strip() else None
    try:
        yield
    except PosValidationError as exc:
        raise PermanentImportError(entity, magento_id, f"the POS refused it: {exc}", number) from exc
    except MappingError as exc:
        raise PermanentImportError(entity, magento_id, f"it cannot be mapped to the POS: {exc}", number) from exc


def record_failure(
    engine: Engine, entity: str, magento_id: int, reason: str, *, will_retry: bool, number: str | None = None
) -> None:
    """Record a failed attempt on the link: `pending` while RQ will try again, `failed` once it will not.

    A record already synced (or voided) stays so: a later attempt that failed does not move it out of the POS.
    """
    link = get_link(engine, entity, magento_id)
    if link is not None and link.status in (LINK_SYNCED, LINK_VOIDED):
        return
    if will_retry:
        record_link(engine, entity, magento_id, LINK_PENDING, error=f"{reason} (will be retried)")
    else:
        record_link(engine, entity, magento_id, LINK_FAILED, error=reason, magento_number=number)
