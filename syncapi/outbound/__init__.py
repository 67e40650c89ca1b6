"""POS → Magento: the pushes of products, stock, prices, categories and customers, and shop fulfilments as
shipments.

The jobs in `jobs.outbound` (`push_<kind>(run_id, full=False, keys=None, force=False)`) wrap these in a run:

    with push_context(svc, recorder, force=force) as ctx:      # context: client, POS gateway, threads, lock
        PUSHES[kind](ctx, full=full, keys=keys)

Modules: `mapping` (POS records to Magento bodies, pure), `delta` (watermarks, retries, hashes),
`attributes` (attribute sets and options), one module per kind (`products`
with `images`, `prices`, `stock`, `categories`, `customers`, `fulfilments`), and `cli` (`flask sync`).
"""

from __future__ import annotations

from syncapi.outbound.categories import push_categories
from syncapi.outbound.context import PushContext, push_context
from syncapi.outbound.customers import push_customers
from syncapi.outbound.fulfilments import push_fulfilments
from syncapi.outbound.prices import push_prices
from syncapi.outbound.products import push_products
from syncapi.outbound.stock import push_stock

#: The push of each kind, by run kind.
PUSHES = {
    "products": push_products,
    "stock": push_stock,
    "prices": push_prices,
    "categories": push_categories,
    "customers": push_customers,
    "fulfilments": push_fulfilments,
}

__all__ = [
    "PUSHES",
    "PushContext",
    "push_categories",
    "push_context",
    "push_customers",
    "push_fulfilments",
    "push_prices",
    "push_products",
    "push_stock",
]
