"""Shipments: created with the ship-order call, read back by order. Paths and payload shapes only.

`POST /V1/order/{orderId}/ship` (Magento\\Sales\\Api\\ShipOrderInterface) answers the new shipment's id. It is
not idempotent: a call whose answer was lost may have created the shipment, so callers look for it by order and
tracking number (`shipments_of_order`) before sending again (docs/magento.md, "Shipments").
"""

from __future__ import annotations

from syncapi.magento.client import MagentoClient, path
from syncapi.magento.search import SearchCriteria

SHIP_ORDER = "/V1/order/{order_id}/ship"
SHIPMENTS = "/V1/shipments"
SHIPMENT = "/V1/shipment/{entity_id}"


def ship_order(client: MagentoClient, order_id: int, body: dict) -> int:
    """Create a shipment of order `order_id`; the shipment's entity id."""
    return int(client.post(path(SHIP_ORDER, order_id=order_id), body))


def shipments_of_order(client: MagentoClient, order_id: int) -> list[dict]:
    """Every shipment of order `order_id`, tracks included."""
    return list(client.paginate(SHIPMENTS, SearchCriteria().where("order_id", order_id)))


def get_shipment(client: MagentoClient, shipment_id: int) -> dict:
    """The shipment `shipment_id`."""
    return client.get(path(SHIPMENT, entity_id=shipment_id))


def ship_body(items: list[tuple[int, float]], track: dict | None, source_code: str | None) -> dict:
    """The ship-order body: items as `(order_item_id, qty)`, one track (`carrier_code`, `title`,
    `track_number`) or none, the customer notified, and with MSI the source the shipment deducts from."""
    body: dict = {
        "items": [{"order_item_id": item_id, "qty": qty} for item_id, qty in items],
        "notify": True,
    }
    if track is not None:
        body["tracks"] = [track]
    if source_code is not None:
        body["arguments"] = {"extension_attributes": {"source_code": source_code}}
    return body
