"""MSI sources and source items, like Magento_InventoryApi: items saved per SKU and source; source items of
unknown SKUs answer 200 and are not stored; one item naming an unknown source fails the whole request and
stores nothing (the source-item validators run over every item before the save)."""

from __future__ import annotations

from sandbox import search
from sandbox.errors import MagentoHttpError
from sandbox.routing import ACL_SOURCE_ITEMS, ROUTER, Call, required_list
from sandbox.state import SandboxState


@ROUTER.route("POST", "/V1/inventory/source-items", ACL_SOURCE_ITEMS)
def save_source_items(state: SandboxState, call: Call):
    items = required_list(call.body, "sourceItems")
    errors = []
    for item in items:
        if not isinstance(item, dict):
            errors.append({"message": '"%field" can not be empty.', "parameters": {"field": "sku"}})
            continue
        for field_name in ("sku", "source_code"):
            if not item.get(field_name):
                errors.append({"message": '"%field" can not be empty.', "parameters": {"field": field_name}})
        if item.get("source_code") and item["source_code"] not in state.sources:
            errors.append(
                {"message": 'Source with code "%code" does not exist.', "parameters": {"code": item["source_code"]}}
            )
        if item.get("status") not in (0, 1):
            errors.append({"message": '"%field" should be numeric.', "parameters": {"field": "status"}})
        if not isinstance(item.get("quantity"), int | float) or isinstance(item.get("quantity"), bool):
            errors.append({"message": '"%field" should be numeric.', "parameters": {"field": "quantity"}})
    if errors:
        raise MagentoHttpError(400, "Validation Failed", errors=errors)
    for item in items:
        # Unknown SKUs are answered 200 and silently not stored (magento2 #38154).
        if item["sku"] in state.products:
            state.source_items[(item["sku"], item["source_code"])] = {
                "sku": item["sku"],
                "source_code": item["source_code"],
                "quantity": item["quantity"],
                "status": item["status"],
            }
    return []


@ROUTER.route("GET", "/V1/inventory/source-items", ACL_SOURCE_ITEMS)
def search_source_items(state: SandboxState, call: Call):
    return search.apply([dict(i) for i in state.source_items.values()], search.parse(call.query))


@ROUTER.route("GET", "/V1/inventory/sources", ACL_SOURCE_ITEMS)
def search_sources(state: SandboxState, call: Call):
    return search.apply([dict(source) for source in state.sources.values()], search.parse(call.query))
