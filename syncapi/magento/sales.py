"""Orders, invoices and credit memos (read only). Paths only.

Order `state` (new, processing, complete, closed, canceled, holded) is what to test, not the free-text
`status`; `updated_at` is UTC without a zone: poll with an overlapping window (OCA/connector-magento #181).
"""

from __future__ import annotations

from collections.abc import Iterator

from syncapi.magento.changes import changed_since
from syncapi.magento.client import MagentoClient, path
from syncapi.magento.search import SearchCriteria

ORDERS = "/V1/orders"
ORDER = "/V1/orders/{entity_id}"
INVOICES = "/V1/invoices"
INVOICE = "/V1/invoices/{entity_id}"
CREDITMEMOS = "/V1/creditmemos"
CREDITMEMO = "/V1/creditmemo/{entity_id}"


def get_order(client: MagentoClient, order_id: int) -> dict:
    """The order with entity id `order_id` (not the increment id customers see)."""
    return client.get(path(ORDER, entity_id=order_id))


def orders(client: MagentoClient, criteria: SearchCriteria | None = None) -> Iterator[dict]:
    """Every order matching `criteria`, page by page."""
    return client.paginate(ORDERS, criteria)


def get_invoice(client: MagentoClient, invoice_id: int) -> dict:
    """The invoice `invoice_id`."""
    return client.get(path(INVOICE, entity_id=invoice_id))


def invoices(client: MagentoClient, criteria: SearchCriteria | None = None) -> Iterator[dict]:
    """Every invoice matching `criteria`, page by page."""
    return client.paginate(INVOICES, criteria)


def get_creditmemo(client: MagentoClient, creditmemo_id: int) -> dict:
    """The credit memo `creditmemo_id`."""
    return client.get(path(CREDITMEMO, entity_id=creditmemo_id))


def creditmemos(client: MagentoClient, criteria: SearchCriteria | None = None) -> Iterator[dict]:
    """Every credit memo matching `criteria`, page by page."""
    return client.paginate(CREDITMEMOS, criteria)


def orders_changed_since(client: MagentoClient, since: str | None) -> Iterator[dict]:
    """Every order changed at or after `since` (all when None), oldest change first (see `changes`)."""
    return changed_since(client, ORDERS, since, "entity_id")


def invoices_changed_since(client: MagentoClient, since: str | None) -> Iterator[dict]:
    """Every invoice changed at or after `since` (all when None), oldest change first (see `changes`)."""
    return changed_since(client, INVOICES, since, "entity_id")


def creditmemos_changed_since(client: MagentoClient, since: str | None) -> Iterator[dict]:
    """Every credit memo changed at or after `since` (all when None), oldest change first (see `changes`)."""
    return changed_since(client, CREDITMEMOS, since, "entity_id")
