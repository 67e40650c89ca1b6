"""Orders, invoices and credit memos, like Magento_Sales.

They are read only (tests seed them through `/_sandbox/seed`); their search endpoints honour searchCriteria
filters, sort orders and paging like Magento's.
"""

from __future__ import annotations

from sandbox import search
from sandbox.errors import MagentoHttpError
from sandbox.routing import ACL_CREDITMEMOS, ACL_INVOICES, ACL_ORDERS, ROUTER, Call, int_or_none
from sandbox.state import SandboxState

ENTITY_NOT_FOUND = "The entity that was requested doesn't exist. Verify the entity and try again."


def _get(records: dict[int, dict], raw_id: str) -> dict:
    record = records.get(int_or_none(raw_id))
    if record is None:
        raise MagentoHttpError(404, ENTITY_NOT_FOUND)
    return dict(record)


@ROUTER.route("GET", "/V1/orders/{id}", ACL_ORDERS)
def get_order(state: SandboxState, call: Call):
    return _get(state.orders, call.params["id"])


@ROUTER.route("GET", "/V1/orders", ACL_ORDERS)
def search_orders(state: SandboxState, call: Call):
    return search.apply([dict(o) for o in state.orders.values()], search.parse(call.query))


@ROUTER.route("GET", "/V1/invoices/{id}", ACL_INVOICES)
def get_invoice(state: SandboxState, call: Call):
    return _get(state.invoices, call.params["id"])


@ROUTER.route("GET", "/V1/invoices", ACL_INVOICES)
def search_invoices(state: SandboxState, call: Call):
    return search.apply([dict(i) for i in state.invoices.values()], search.parse(call.query))


@ROUTER.route("GET", "/V1/creditmemo/{id}", ACL_CREDITMEMOS)
def get_creditmemo(state: SandboxState, call: Call):
    return _get(state.creditmemos, call.params["id"])


@ROUTER.route("GET", "/V1/creditmemos", ACL_CREDITMEMOS)
def search_creditmemos(state: SandboxState, call: Call):
    return search.apply([dict(c) for c in state.creditmemos.values()], search.parse(call.query))
