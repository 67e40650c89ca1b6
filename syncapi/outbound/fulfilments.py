"""Fulfilment push: what the shop shipped of a web order becomes one Magento shipment, with its tracking.

Each POS fulfilment (`fulfilments` + `fulfilment_lines`) is sent once with `POST /V1/order/{id}/ship`: its
lines as the order's items (a configurable product's parent item, the one Magento ships), its carrier and
tracking number as a track, `notify` so Magento mails the customer, and the MSI source mapped to the sale's
location (`STOCK_SOURCES`), which the shipment deducts from. The shipment's id is recorded on the fulfilment
(`magento_shipment_id`), so a fulfilment with one is never sent again.

The ship call is not idempotent: when its answer was lost the shipment may exist, so every send first looks
for a shipment of the order carrying the fulfilment's tracking number and records that one instead. Magento's
refusals (400 "Shipment Document Validation Error(s)": already shipped, more than is left to ship, a canceled
order) fail the fulfilment for good, by its id, until the POS changes it; timeouts and 5xx are retried.
See docs/sync.md, "Shipments".
"""

from __future__ import annotations

from decimal import Decimal

from syncapi.magento import sales
from syncapi.magento import shipments as magento_shipments
from syncapi.magento.writes import Outcome, outcome_of
from syncapi.outbound.context import PushContext
from syncapi.outbound.delta import PosRecords, changed_keys, hash_of
from syncapi.outbound.records import pos_ids, push_records
from syncapi.pos.errors import PosError, PosValidationError
from syncapi.pos.fulfilments import Fulfilment, FulfilmentGateway
from syncapi.state import put_hashes

KIND = "fulfilments"
#: Carrier codes Magento knows by name (its shipping carriers); any other carrier is sent as `custom` with the
#: POS's carrier name as the track's title, as Magento's admin does.
KNOWN_CARRIERS = ("ups", "usps", "fedex", "dhl")
CUSTOM_CARRIER = "custom"
DEFAULT_TRACK_TITLE = "Shipping"

#: Hashes (sync_hashes) of fulfilments Magento or the service refused, by POS id: one read again unchanged (a
#: later run, the commit settle window) is not sent again; a changed one, or a run with `force`, sends it.
HASH_FULFILMENT_REFUSALS = "fulfilment_refusals"

CREATED, UNCHANGED, REFUSED, FAILED = "created", "unchanged", "refused", "failed"


def push_fulfilments(ctx: PushContext, *, full: bool = False, keys: list[str] | None = None) -> None:
    """One fulfilment run: the ids asked for, or what changed since the last run (everything with `full`)."""
    gateway = ctx.gateway
    if not isinstance(gateway, FulfilmentGateway):
        raise PosValidationError("this POS gateway does not read fulfilments, so none can become shipments")
    records = PosRecords(
        gateway.changed_fulfilments,
        lambda chunk: gateway.get_fulfilments([int(key) for key in chunk]),
        key_of=lambda fulfilment: str(fulfilment.id),
        count=gateway.count_fulfilments,
        noun=KIND,
        missing="no such fulfilment in the POS",
    )
    push = FulfilmentPush(ctx, gateway).push
    push_records(ctx, KIND, records, push, full=full, keys=pos_ids(ctx, keys, "fulfilment"), retry_ok=str.isdigit)


class FulfilmentPush:
    """Sends fulfilments as shipments for one run."""

    def __init__(self, ctx: PushContext, gateway: FulfilmentGateway):
        self.ctx = ctx
        self.gateway = gateway

    def push(self, records: list[Fulfilment]) -> None:
        """Ship each fulfilment not yet a Magento shipment, one after another (two parcels of one order must not
        race for the same quantities)."""
        tally = self.ctx.tally
        waiting = {str(f.id): hash_of(_content(f)) for f in records if f.magento_shipment_id is None}
        changed, _stored = changed_keys(self.ctx.state_engine, HASH_FULFILMENT_REFUSALS, waiting, force=self.ctx.force)
        todo = [f for f in records if str(f.id) in changed]
        for fulfilment in records:
            if str(fulfilment.id) not in changed:
                tally.unchanged(str(fulfilment.id))  # shipped already, or refused as it is
        results = [self._push_one(fulfilment) for fulfilment in todo]
        self.ctx.check_transient(outcome for outcome, _change in results)
        refusals = {}
        for fulfilment, (outcome, change) in zip(todo, results, strict=True):
            key = str(fulfilment.id)
            if change == UNCHANGED:
                tally.unchanged(key)
            elif change == CREATED:
                tally.created(key)
            elif change == REFUSED:
                tally.refused(key, outcome.error or "refused")
                refusals[key] = (changed[key], None)
            else:
                tally.failed(key, outcome.error or "not sent")
        if refusals:
            put_hashes(self.ctx.state_engine, HASH_FULFILMENT_REFUSALS, refusals)

    def _push_one(self, fulfilment: Fulfilment) -> tuple[Outcome, str]:
        if fulfilment.magento_shipment_id is not None:
            return Outcome(True, fulfilment.magento_shipment_id), UNCHANGED
        label = f"fulfilment {fulfilment.id}"
        problem = _unsendable(fulfilment, self.ctx.settings.stock_sources)
        if problem:
            return Outcome(False, error=f"{label}: {problem}"), REFUSED
        order_id = int(fulfilment.magento_order_id or 0)
        client = self.ctx.client
        order = outcome_of(f"read order {order_id} of {label}", lambda: sales.get_order(client, order_id))
        if not order.ok:
            return order, FAILED if order.transient else REFUSED
        existing = self._shipped_already(fulfilment, order_id, label)
        if existing is not None:
            return existing
        items, missing = order_items(order.result, fulfilment)
        if missing:
            return Outcome(False, error=f"{label}: {missing}"), REFUSED
        body = magento_shipments.ship_body(
            items, track_of(fulfilment), self.ctx.settings.stock_sources[fulfilment.location_code]
        )
        shipped = outcome_of(
            f"ship {label} (order {order_id})", lambda: magento_shipments.ship_order(client, order_id, body)
        )
        if not shipped.ok:
            return shipped, FAILED if shipped.transient else REFUSED
        return self._record(fulfilment, int(shipped.result), label)

    def _shipped_already(self, fulfilment: Fulfilment, order_id: int, label: str) -> tuple[Outcome, str] | None:
        """The shipment an earlier send created (same order, same tracking number), recorded; None when there is
        none, or when the fulfilment has no tracking number to recognise it by."""
        if not fulfilment.tracking_number:
            return None
        found = outcome_of(
            f"look up the shipments of order {order_id} for {label}",
            lambda: magento_shipments.shipments_of_order(self.ctx.client, order_id),
        )
        if not found.ok:
            return found, FAILED if found.transient else REFUSED
        for shipment in found.result:
            numbers = {str(track.get("track_number")) for track in shipment.get("tracks") or []}
            if fulfilment.tracking_number in numbers:
                return self._record(fulfilment, int(shipment["entity_id"]), label)
        return None

    def _record(self, fulfilment: Fulfilment, shipment_id: int, label: str) -> tuple[Outcome, str]:
        try:
            self.gateway.set_fulfilment_shipment(fulfilment.id, shipment_id)
        except PosError as exc:
            return Outcome(False, error=f"{label} is Magento shipment {shipment_id}, but the POS refused it: {exc}"), (
                FAILED
            )
        return Outcome(True, shipment_id), CREATED


def _content(fulfilment: Fulfilment) -> dict:
    """What a fulfilment sends: a refusal holds until one of these changes."""
    return {
        "location": fulfilment.location_code,
        "carrier": fulfilment.carrier,
        "tracking": fulfilment.tracking_number,
        "lines": [[line.sku, str(line.qty)] for line in fulfilment.lines],
    }


def _unsendable(fulfilment: Fulfilment, sources: dict[str, str]) -> str | None:
    """Why the fulfilment cannot be sent as the POS holds it (None when it can)."""
    if fulfilment.magento_order_id is None:
        return f"its sale {fulfilment.sale_id} is not a Magento order"
    if not fulfilment.lines:
        return "it has no lines"
    bad = [line.sku for line in fulfilment.lines if line.qty <= 0]
    if bad:
        return f"quantities must be above 0 (SKU {', '.join(bad)})"
    if fulfilment.location_code not in sources:
        return f"no Magento source is mapped to POS location {fulfilment.location_code!r} (STOCK_SOURCES)"
    return None


def order_items(order: dict, fulfilment: Fulfilment) -> tuple[list[tuple[int, float]], str | None]:
    """The ship-order items of `fulfilment` as `(order_item_id, qty)`, or why a line has no item of the order.

    Magento ships the item a customer ordered: a configurable product's parent item (which carries the chosen
    variant's SKU), never its child; a child item has `parent_item_id`."""
    by_sku: dict[str, int] = {}
    for item in order.get("items") or []:
        if item.get("parent_item_id") is None and item.get("sku") is not None:
            by_sku.setdefault(str(item["sku"]), int(item["item_id"]))
    wanted: dict[int, Decimal] = {}
    for line in fulfilment.lines:
        item_id = by_sku.get(line.sku)
        if item_id is None:
            number = order.get("increment_id") or order.get("entity_id")
            return [], f"SKU {line.sku} is not an item of Magento order {number}"
        wanted[item_id] = wanted.get(item_id, Decimal(0)) + line.qty
    return [(item_id, _number(qty)) for item_id, qty in wanted.items()], None


def track_of(fulfilment: Fulfilment) -> dict | None:
    """The track of the shipment (None without a tracking number)."""
    if not fulfilment.tracking_number:
        return None
    carrier = (fulfilment.carrier or "").strip()
    code = carrier.lower() if carrier.lower() in KNOWN_CARRIERS else CUSTOM_CARRIER
    return {"carrier_code": code, "title": carrier or DEFAULT_TRACK_TITLE, "track_number": fulfilment.tracking_number}


def _number(qty: Decimal) -> float:
    return int(qty) if qty == qty.to_integral_value() else float(qty)
