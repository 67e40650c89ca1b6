"""Magento customers → POS customers: an order's buyer (a guest by email) and a customer record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncapi.inbound.mappers.values import MappingError, is_true, magento_id, text_of
from syncapi.pos.gateway import CustomerIn


def order_customer(order: Mapping[str, Any]) -> CustomerIn:
    """The POS customer of an order: the Magento customer, or for a guest one found or created by email.

    A guest order often has no customer name (Magento leaves `customer_firstname` null): the billing address's
    name is taken then.
    """
    number = order.get("entity_id")
    billing = order.get("billing_address") or {}
    email = text_of(order.get("customer_email")) or text_of(billing.get("email"))
    if not email:
        raise MappingError(f"order {number} has no customer email (customer_email or billing_address.email)")
    first, last = text_of(order.get("customer_firstname")), text_of(order.get("customer_lastname"))
    if not first and not last:
        first, last = text_of(billing.get("firstname")), text_of(billing.get("lastname"))
    guest = is_true(order.get("customer_is_guest")) or order.get("customer_id") in (None, "", 0, "0")
    return CustomerIn(
        email=email,
        first_name=first,
        last_name=last,
        phone=text_of(billing.get("telephone")) or None,
        magento_id=None if guest else magento_id(order.get("customer_id"), f"order {number} customer_id"),
    )


def customer_to_pos(customer: Mapping[str, Any]) -> CustomerIn:
    """A Magento customer as the POS customer to find or create (phone from the default billing address)."""
    number = magento_id(customer.get("id"), "customer id")
    email = text_of(customer.get("email"))
    if not email:
        raise MappingError(f"customer {number} has no email")
    return CustomerIn(
        email=email,
        first_name=text_of(customer.get("firstname")),
        last_name=text_of(customer.get("lastname")),
        phone=_customer_phone(customer),
        magento_id=number,
    )


def _customer_phone(customer: Mapping[str, Any]) -> str | None:
    addresses = [a for a in customer.get("addresses") or [] if isinstance(a, Mapping)]
    default_billing = str(customer.get("default_billing") or "")
    # The default billing address first (sorted() is stable, so the others keep their order).
    ranked = sorted(
        addresses, key=lambda a: not (a.get("default_billing") is True or str(a.get("id")) == default_billing)
    )
    for address in ranked:
        phone = text_of(address.get("telephone"))
        if phone:
            return phone
    return None
