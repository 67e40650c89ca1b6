"""GET /api/v1/links/<entity>/<magento_id>: where a Magento record went in the POS."""

from __future__ import annotations

from flask import abort, current_app

from syncapi import services
from syncapi.api import common
from syncapi.api.schemas import LinkSchema
from syncapi.state.links import LINK_ENTITIES, get_link
from syncapi.state.models import MAGENTO_ID_LENGTH

blp = common.blueprint("links", __name__, "Where each Magento record went in the POS.")


@blp.get(
    "/links/<entity>/<magento_id>",
    parameters=[common.path_choice("entity", LINK_ENTITIES, "the kind of Magento record")],
)
@blp.response(200, LinkSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(503, response="SERVICE_UNAVAILABLE")
def get(entity: str, magento_id: str):
    """The POS record a Magento order, invoice, credit memo, customer, category or product became."""
    if entity not in LINK_ENTITIES:
        abort(404, description=f"unknown entity {entity!r}; known entities: {', '.join(LINK_ENTITIES)}")
    if not magento_id.strip() or len(magento_id) > MAGENTO_ID_LENGTH:
        abort(404, description=f"no {entity} with Magento id {magento_id!r} has been recorded")
    link = get_link(services.of_app(current_app).state_engine, entity, magento_id)
    if link is None:
        abort(404, description=f"no {entity} with Magento id {magento_id!r} has been recorded")
    return {
        "entity": link.entity,
        "magento_id": link.magento_id,
        "pos_id": link.pos_id,
        "status": link.status,
        "synced_at": link.synced_at,
        "error": link.error,
        "attempts": link.attempts,
        "updated_at": link.updated_at,
    }
