"""The sandbox's customer, sales, store and bulk-status endpoints.

Orders, invoices and credit memos are read only (tests seed them through `/_sandbox/seed`); their search
endpoints honour searchCriteria filters, sort orders and paging like Magento's.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sandbox import search, seed
from sandbox.catalog import required_object
from sandbox.routing import (
    ACL_BULK,
    ACL_CREDITMEMOS,
    ACL_CUSTOMERS,
    ACL_CUSTOMERS_MANAGE,
    ACL_INVOICES,
    ACL_ORDERS,
    ACL_STORES,
    ROUTER,
    Call,
)
from sandbox.state import Bulk, MagentoHttpError, SandboxState, no_such_entity

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ENTITY_NOT_FOUND = "The entity that was requested doesn't exist. Verify the entity and try again."
DUPLICATE_EMAIL = "A customer with the same email address already exists in an associated website."
CUSTOMER_FIELDS = (
    "group_id",
    "default_billing",
    "default_shipping",
    "dob",
    "email",
    "firstname",
    "lastname",
    "middlename",
    "prefix",
    "suffix",
    "gender",
    "store_id",
    "taxvat",
    "website_id",
    "addresses",
    "disable_auto_group_change",
    "extension_attributes",
    "custom_attributes",
)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- customers ---------------------------------------------------------------------------------------


def check_customer(state: SandboxState, customer: dict, customer_id: int | None) -> None:
    """Magento's 400s for a customer without name or a valid email, or with another customer's email."""
    for name in ("email", "firstname", "lastname"):
        if not str(customer.get(name) or "").strip():
            raise MagentoHttpError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": name})
    if not _EMAIL.match(customer["email"]):
        raise MagentoHttpError(
            400, '"%1" is not a valid email address. Enter a valid email address and try again.', [customer["email"]]
        )
    website = customer.get("website_id", 1)
    for other in state.customers.values():
        if (
            other["id"] != customer_id
            and other["email"].lower() == customer["email"].lower()
            and (other.get("website_id", 1) == website)
        ):
            raise MagentoHttpError(400, DUPLICATE_EMAIL)


def store_customer(state: SandboxState, customer: dict, customer_id: int | None = None) -> dict:
    """Create (no id) or replace customer `customer_id` with the fields of `customer`; the stored record."""
    existing = state.customers.get(customer_id) if customer_id is not None else None
    merged = {**(existing or {}), **{k: v for k, v in customer.items() if k in CUSTOMER_FIELDS}}
    check_customer(state, merged, customer_id)
    stamp = seed.now()
    if existing is None:
        customer_id = customer_id or state.next_id("customer")
        state.bump("customer", customer_id)
        record = seed.customer(customer_id, merged["email"], merged["firstname"], merged["lastname"], created_at=stamp)
        record.update(merged)
        record["id"] = customer_id
    else:
        record = {**merged, "id": customer_id, "updated_at": stamp}
    state.customers[customer_id] = record
    return dict(record)


@ROUTER.route("GET", "/V1/customers/{customerId}", ACL_CUSTOMERS)
def get_customer(state: SandboxState, call: Call):
    customer = state.customers.get(_int(call.params["customerId"]))
    if customer is None:
        raise no_such_entity("customerId", call.params["customerId"])
    return dict(customer)


@ROUTER.route("GET", "/V1/customers/search", ACL_CUSTOMERS)
def search_customers(state: SandboxState, call: Call):
    return search.apply([dict(c) for c in state.customers.values()], search.parse(call.query))


@ROUTER.route("POST", "/V1/customers", ACL_CUSTOMERS_MANAGE)
def create_customer(state: SandboxState, call: Call):
    customer = required_object(call.body, "customer")
    if customer.get("id") is not None and _int(customer["id"]) in state.customers:
        return store_customer(state, customer, _int(customer["id"]))
    return store_customer(state, customer)


@ROUTER.route("PUT", "/V1/customers/{customerId}", ACL_CUSTOMERS_MANAGE)
def update_customer(state: SandboxState, call: Call):
    customer = required_object(call.body, "customer")
    customer_id = _int(call.params["customerId"])
    if customer_id not in state.customers:
        raise no_such_entity("customerId", call.params["customerId"])
    return store_customer(state, customer, customer_id)


# --- sales -------------------------------------------------------------------------------------------


def _get(records: dict[int, dict], raw_id: str) -> dict:
    record = records.get(_int(raw_id))
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


# --- stores ------------------------------------------------------------------------------------------


@ROUTER.route("GET", "/V1/store/storeViews", ACL_STORES)
def store_views(state: SandboxState, call: Call):
    return [dict(view) for view in state.store_views]


# --- bulk status -------------------------------------------------------------------------------------


def _bulk(state: SandboxState, uuid: str) -> Bulk:
    bulk = state.bulks.get(uuid)
    if bulk is None:
        raise MagentoHttpError(404, "Bulk uuid %bulkUuid not exist", {"bulkUuid": uuid})
    return bulk


def _bulk_answer(bulk: Bulk, detailed: bool) -> dict:
    operations = []
    for op in bulk.operations:
        operation = {"id": op.id, "status": op.status, "result_message": op.result_message, "error_code": op.error_code}
        if detailed:
            operation.update(
                bulk_uuid=bulk.uuid,
                topic_name=op.topic_name,
                serialized_data=json.dumps({"entity_id": None, "entity_link": "", "meta_information": op.body}),
                result_serialized_data=json.dumps(op.result) if op.result is not None else None,
            )
        operations.append(operation)
    return {
        "operations_list": operations,
        "user_type": 1,
        "bulk_id": bulk.uuid,
        "description": bulk.description,
        "start_time": bulk.start_time,
        "user_id": 1,
        "operation_count": len(bulk.operations),
    }


@ROUTER.route("GET", "/V1/bulk/{bulkUuid}/status", ACL_BULK)
def bulk_status(state: SandboxState, call: Call):
    return _bulk_answer(_bulk(state, call.params["bulkUuid"]), detailed=False)


@ROUTER.route("GET", "/V1/bulk/{bulkUuid}/detailed-status", ACL_BULK)
def bulk_detailed_status(state: SandboxState, call: Call):
    return _bulk_answer(_bulk(state, call.params["bulkUuid"]), detailed=True)
