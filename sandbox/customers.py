"""Customers, like Magento_Customer: read, search, create and update, with Magento's checks on names and emails."""

from __future__ import annotations

import re

from sandbox import search, seed
from sandbox.errors import MagentoHttpError, no_such_entity
from sandbox.routing import ACL_CUSTOMERS, ACL_CUSTOMERS_MANAGE, ROUTER, Call, int_or_none, required_object
from sandbox.state import SandboxState

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
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
    customer = state.customers.get(int_or_none(call.params["customerId"]))
    if customer is None:
        raise no_such_entity("customerId", call.params["customerId"])
    return dict(customer)


@ROUTER.route("GET", "/V1/customers/search", ACL_CUSTOMERS)
def search_customers(state: SandboxState, call: Call):
    return search.apply([dict(c) for c in state.customers.values()], search.parse(call.query))


@ROUTER.route("POST", "/V1/customers", ACL_CUSTOMERS_MANAGE)
def create_customer(state: SandboxState, call: Call):
    customer = required_object(call.body, "customer")
    if customer.get("id") is not None and int_or_none(customer["id"]) in state.customers:
        return store_customer(state, customer, int_or_none(customer["id"]))
    return store_customer(state, customer)


@ROUTER.route("PUT", "/V1/customers/{customerId}", ACL_CUSTOMERS_MANAGE)
def update_customer(state: SandboxState, call: Call):
    customer = required_object(call.body, "customer")
    customer_id = int_or_none(call.params["customerId"])
    if customer_id not in state.customers:
        raise no_such_entity("customerId", call.params["customerId"])
    return store_customer(state, customer, customer_id)
