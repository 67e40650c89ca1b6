"""The webhook event table (docs/magento-setup.md): which Magento event queues which import job, keyed by which id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from jobs.inbound import import_category, import_creditmemo, import_customer, import_invoice, import_order

#: Prefix of Adobe I/O Events for Commerce event types: `com.adobe.commerce.observer.<magento_event>` is the
#: event `observer.<magento_event>` here.
ADOBE_TYPE_PREFIX = "com.adobe.commerce."


@dataclass(frozen=True)
class EventRoute:
    """Where one kind of Magento record goes: the job that imports it and where its id sits in the entity."""

    entity: str
    """The record kind; also the first part of the job id (`order` -> `order-42`)."""
    func: Callable[[int], dict]
    """The job function, queued with the entity id (RQ stores its dotted path, `jobs.inbound.import_order`)."""
    id_keys: tuple[str, ...]
    """Keys of the entity id in the entity, tried in order; a key that is absent or null passes to the next."""


ORDER = EventRoute("order", import_order, ("entity_id",))
INVOICE = EventRoute("invoice", import_invoice, ("entity_id",))
CREDITMEMO = EventRoute("creditmemo", import_creditmemo, ("entity_id",))
# Mage-OS sends the service output (`CustomerInterface`, `CategoryInterface`), whose id is `id`; Adobe's observer
# payloads are model data, where a category's id is `entity_id`, so that key is read when `id` is absent.
CUSTOMER = EventRoute("customer", import_customer, ("id", "entity_id"))
CATEGORY = EventRoute("category", import_category, ("id", "entity_id"))
# An address announces its customer: Mage-OS sends `AddressInterface` (`customer_id`; its `id` is the address's),
# Adobe's observer payloads carry the address model, whose customer is `parent_id`.
ADDRESS_CUSTOMER = EventRoute("customer", import_customer, ("parent_id", "customer_id"))

#: Every event name the service accepts, in the order of the contract's table.
EVENTS: MappingProxyType[str, EventRoute] = MappingProxyType(
    {
        "sales.order.created": ORDER,
        "sales.order.updated": ORDER,
        "sales.order.paid": ORDER,
        "sales.order.cancelled": ORDER,
        "observer.sales_order_save_after": ORDER,
        "sales.invoice.created": INVOICE,
        "sales.invoice.paid": INVOICE,
        "observer.sales_order_invoice_save_after": INVOICE,
        "sales.creditmemo.created": CREDITMEMO,
        "observer.sales_order_creditmemo_save_after": CREDITMEMO,
        "customer.created": CUSTOMER,
        "customer.updated": CUSTOMER,
        "observer.customer_save_after_data_object": CUSTOMER,
        "customer.address.created": ADDRESS_CUSTOMER,
        "customer.address.updated": ADDRESS_CUSTOMER,
        "catalog.category.created": CATEGORY,
        "observer.catalog_category_save_after": CATEGORY,
    }
)
KNOWN_EVENTS: tuple[str, ...] = tuple(EVENTS)
#: The metric label of every event name that is not a known one: labels come from a closed set, so a stranger
#: posting to `/webhooks/magento/<anything>` cannot add a series.
OTHER = "other"


def label(name: str | None) -> str:
    """The metric label for event `name`: the name itself when it is a known event, else `other`."""
    return name if name in EVENTS else OTHER


def event_name(raw: str) -> str:
    """The event name for `raw`, a name or an Adobe event type (`com.adobe.commerce.observer.x` -> `observer.x`)."""
    if raw.startswith(ADOBE_TYPE_PREFIX):
        return raw[len(ADOBE_TYPE_PREFIX) :]
    return raw
