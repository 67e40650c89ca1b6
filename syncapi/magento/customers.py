"""Customers: `/V1/customers`. Paths and payload shapes only."""

from __future__ import annotations

from collections.abc import Iterator

from syncapi.magento.changes import changed_since as _changed_since
from syncapi.magento.client import MagentoClient, path
from syncapi.magento.search import SearchCriteria

CUSTOMERS = "/V1/customers"
CUSTOMER = "/V1/customers/{customer_id}"
SEARCH = "/V1/customers/search"
GROUPS_SEARCH = "/V1/customerGroups/search"


def get(client: MagentoClient, customer_id: int) -> dict:
    """The customer `customer_id`."""
    return client.get(path(CUSTOMER, customer_id=customer_id))


def search(client: MagentoClient, criteria: SearchCriteria | None = None) -> dict:
    """One page of customers matching `criteria`."""
    return client.search(SEARCH, criteria)


def iterate(client: MagentoClient, criteria: SearchCriteria | None = None) -> Iterator[dict]:
    """Every customer matching `criteria`, page by page."""
    return client.paginate(SEARCH, criteria)


def changed_since(client: MagentoClient, since: str | None) -> Iterator[dict]:
    """Every customer changed at or after `since` (all when None), oldest change first (see `changes`)."""
    return _changed_since(client, SEARCH, since, "id")


def find_by_email(client: MagentoClient, email: str) -> dict | None:
    """The customer with `email` (in any website), or None."""
    answer = search(client, SearchCriteria().where("email", email).page(1))
    items = (answer or {}).get("items") or []
    return items[0] if items else None


def create(client: MagentoClient, customer: dict, password: str | None = None) -> dict:
    """Create `customer` (`email`, `firstname`, `lastname`, ...); the saved customer with its `id`."""
    body: dict = {"customer": customer}
    if password is not None:
        body["password"] = password
    return client.post(CUSTOMERS, body)


def update(client: MagentoClient, customer_id: int, customer: dict) -> dict:
    """Update customer `customer_id` (`customer` must carry `id`, `email`, `firstname`, `lastname`)."""
    return client.put(path(CUSTOMER, customer_id=customer_id), {"customer": {**customer, "id": int(customer_id)}})


def group_codes(client: MagentoClient) -> dict[str, dict]:
    """Every customer group, keyed by its code in lower case (Magento compares codes without case)."""
    return {str(group["code"]).lower(): group for group in client.paginate(GROUPS_SEARCH)}
