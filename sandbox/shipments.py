"""Shipments, like Magento_Sales' ship-order call with MSI's source deduction (docs/magento.md, "Shipments").

`POST /V1/order/{orderId}/ship` validates the way Magento's ShipOrder does: the order must allow a shipment
(not canceled, on hold, in payment review, closed or complete), every item must be an item of the order and its
quantity at most what is left to ship (ordered - shipped - refunded - canceled); failures answer 400 "Shipment
Document Validation Error(s):" with one line each. The shipment then deducts its quantities from the source
given in `arguments.extension_attributes.source_code` (the default source when none is given); a source item
without enough quantity refuses the whole shipment ("Not all of your products are available in the requested
quantity."), as MSI's source deduction does. The order's items get `qty_shipped`, and the order becomes
`complete` once everything is shipped and invoiced. `GET /V1/shipments` searches, `GET /V1/shipment/{id}` reads.
"""

from __future__ import annotations

from sandbox import search, seed
from sandbox.errors import MagentoHttpError
from sandbox.routing import ROUTER, Call, int_or_none
from sandbox.state import SandboxState

ACL_SHIP = "Magento_Sales::ship"
ACL_SHIPMENTS = "Magento_Sales::shipment"
ACL_SALABLE = "Magento_InventoryApi::stock"
ENTITY_NOT_FOUND = "The entity that was requested doesn't exist. Verify the entity and try again."
VALIDATION_ERRORS = "Shipment Document Validation Error(s):\n"
NOT_AVAILABLE = "Not all of your products are available in the requested quantity."
DEFAULT_SOURCE = "default"
#: Order states Magento never ships from (Order::canShip and the CanShip validator).
UNSHIPPABLE_STATES = ("canceled", "holded", "payment_review", "closed", "complete")


def to_ship(item: dict) -> float:
    """What is left to ship of an order item (Order\\Item::getQtyToShip)."""
    return max(
        0.0,
        float(item.get("qty_ordered") or 0)
        - float(item.get("qty_shipped") or 0)
        - float(item.get("qty_refunded") or 0)
        - float(item.get("qty_canceled") or 0),
    )


@ROUTER.route("POST", "/V1/order/{orderId}/ship", ACL_SHIP)
def ship_order(state: SandboxState, call: Call):
    order = state.orders.get(int_or_none(call.params["orderId"]))
    if order is None:
        raise MagentoHttpError(404, ENTITY_NOT_FOUND)
    body = call.body if isinstance(call.body, dict) else {}
    by_id = {int(item["item_id"]): item for item in order.get("items") or []}
    wanted = _wanted_items(body, by_id)
    errors = _validate(order, by_id, wanted)
    if errors:
        raise MagentoHttpError(400, VALIDATION_ERRORS + "\n".join(errors))
    arguments = body.get("arguments") or {}
    source_code = (arguments.get("extension_attributes") or {}).get("source_code") or DEFAULT_SOURCE
    _deduct(state, source_code, [(by_id[item_id]["sku"], qty) for item_id, qty in wanted])
    shipment = _record(state, order, by_id, wanted, body, source_code)
    _mark_shipped(order, by_id, wanted)
    return shipment["entity_id"]


def _wanted_items(body: dict, by_id: dict[int, dict]) -> list[tuple[int, float]]:
    """`(order_item_id, qty)` asked for; without items, everything left to ship (as Magento does)."""
    items = body.get("items") or []
    if not items:
        return [(item_id, to_ship(item)) for item_id, item in by_id.items() if not item.get("parent_item_id")]
    return [(int(item["order_item_id"]), float(item["qty"])) for item in items]


def _validate(order: dict, by_id: dict[int, dict], wanted: list[tuple[int, float]]) -> list[str]:
    errors = []
    if order.get("state") in UNSHIPPABLE_STATES:
        errors.append(f"A shipment cannot be created when an order has a status of {order.get('status')}")
    for item_id, qty in wanted:
        item = by_id.get(item_id)
        if item is None:
            errors.append(f"The order does not contain the item with ID {item_id}.")
        elif qty < 0 or qty > to_ship(item):
            errors.append(
                f'The quantity to ship must not be greater than the unshipped quantity for product "{item["sku"]}".'
            )
    if not errors and not any(qty > 0 for _item_id, qty in wanted):
        errors.append("You can't create a shipment without products.")
    return errors


def _deduct(state: SandboxState, source_code: str, lines: list[tuple[str, float]]) -> None:
    """MSI's source deduction: all lines or none. SKUs the store does not hold (seeded orders) are not stocked."""
    if source_code not in state.sources:
        raise MagentoHttpError(400, NOT_AVAILABLE)
    needed: dict[str, float] = {}
    for sku, qty in lines:
        if sku in state.products:
            needed[sku] = needed.get(sku, 0.0) + qty
    for sku, qty in needed.items():
        item = state.source_items.get((sku, source_code))
        if item is None or float(item["quantity"]) < qty:
            raise MagentoHttpError(400, NOT_AVAILABLE)
    for sku, qty in needed.items():
        item = state.source_items[(sku, source_code)]
        item["quantity"] = float(item["quantity"]) - qty


def _record(
    state: SandboxState, order: dict, by_id: dict[int, dict], wanted: list[tuple[int, float]], body: dict, source: str
) -> dict:
    shipments = state.shipments
    shipment_id = state.next_id("shipment")
    stamp = seed.now()
    tracks = []
    for track in body.get("tracks") or []:
        tracks.append(
            {
                "entity_id": state.next_id("shipment_track"),
                "parent_id": shipment_id,
                "order_id": order["entity_id"],
                "track_number": track.get("track_number"),
                "title": track.get("title"),
                "carrier_code": track.get("carrier_code"),
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    shipment = {
        "entity_id": shipment_id,
        "increment_id": f"{shipment_id:09d}",
        "order_id": order["entity_id"],
        "store_id": order.get("store_id", 1),
        "customer_id": order.get("customer_id"),
        "total_qty": sum(qty for _item_id, qty in wanted),
        "email_sent": 1 if body.get("notify") else None,
        "created_at": stamp,
        "updated_at": stamp,
        "items": [
            {
                "entity_id": shipment_id * 100 + index,
                "parent_id": shipment_id,
                "order_item_id": item_id,
                "sku": by_id[item_id]["sku"],
                "name": by_id[item_id].get("name"),
                "product_id": by_id[item_id].get("product_id"),
                "price": by_id[item_id].get("price"),
                "qty": qty,
            }
            for index, (item_id, qty) in enumerate(wanted, start=1)
        ],
        "tracks": tracks,
        "comments": [],
        "packages": [],
        "extension_attributes": {"source_code": source},
    }
    shipments[shipment_id] = shipment
    return shipment


def _mark_shipped(order: dict, by_id: dict[int, dict], wanted: list[tuple[int, float]]) -> None:
    """The items' `qty_shipped` (a configurable's child with its parent); `complete` when all is shipped and
    invoiced (Magento's order state processor)."""
    for item_id, qty in wanted:
        by_id[item_id]["qty_shipped"] = float(by_id[item_id].get("qty_shipped") or 0) + qty
        for child in by_id.values():
            if child.get("parent_item_id") == item_id:
                child["qty_shipped"] = float(child.get("qty_shipped") or 0) + qty
    order["updated_at"] = seed.now()
    items = [item for item in by_id.values() if not item.get("parent_item_id")]
    shipped = all(to_ship(item) == 0 for item in items)
    invoiced = all(
        float(item.get("qty_invoiced") or 0)
        >= float(item.get("qty_ordered") or 0) - float(item.get("qty_canceled") or 0)
        for item in items
    )
    if shipped and invoiced:
        order["state"] = "complete"
        order["status"] = "complete"


def _qty(item: dict, key: str) -> float:
    return float(item.get(key) or 0)


@ROUTER.route("GET", "/V1/shipment/{id}", ACL_SHIPMENTS)
def get_shipment(state: SandboxState, call: Call):
    shipment = state.shipments.get(int_or_none(call.params["id"]))
    if shipment is None:
        raise MagentoHttpError(404, ENTITY_NOT_FOUND)
    return dict(shipment)


@ROUTER.route("GET", "/V1/shipments", ACL_SHIPMENTS)
def search_shipments(state: SandboxState, call: Call):
    return search.apply([dict(s) for s in state.shipments.values()], search.parse(call.query))


@ROUTER.route("GET", "/V1/inventory/get-product-salable-quantity/{sku}/{stockId}", ACL_SALABLE)
def salable_quantity(state: SandboxState, call: Call):
    """MSI's salable quantity: the source quantities less the reservations of orders not yet shipped (placed
    orders reserve, shipments, cancellations and refunds compensate: what is left to ship stays reserved)."""
    sku = call.params["sku"]
    if sku not in state.products:
        raise MagentoHttpError(404, ENTITY_NOT_FOUND)
    on_hand = sum(float(item["quantity"]) for (held, _source), item in state.source_items.items() if held == sku)
    return on_hand - reserved(state, sku)


def reserved(state: SandboxState, sku: str) -> float:
    """Units of `sku` the store's orders hold reserved: what is left to ship of them."""
    return sum(
        to_ship(item)
        for order in state.orders.values()
        for item in order.get("items") or []
        if item.get("sku") == sku and not item.get("parent_item_id")
    )
