"""Routes of the sandbox's REST API, matched on the raw (still percent-encoded) path the way Magento does.

Templates are the schema's (`/V1/products/{sku}`); a placeholder matches one segment, decoded, so a SKU with
an encoded `/` stays one SKU. Routes with more literal segments win (`/V1/products/base-prices` over
`/V1/products/{sku}`). Each route names the ACL resource an integration needs for it. A handler reads its
call's body with `required_object` / `required_list`, which refuse a missing parameter the way Magento does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from sandbox.errors import MagentoHttpError

# ACL resources, as in the stores' webapi.xml files.
ACL_PRODUCTS = "Magento_Catalog::products"
ACL_CATEGORIES = "Magento_Catalog::categories"
ACL_ATTRIBUTES = "Magento_Catalog::attributes_attributes"
ACL_ATTRIBUTE_SETS = "Magento_Catalog::sets"
ACL_SOURCE_ITEMS = "Magento_InventoryApi::source"
ACL_CUSTOMERS = "Magento_Customer::customer"
ACL_CUSTOMERS_MANAGE = "Magento_Customer::manage"
ACL_ORDERS = "Magento_Sales::actions_view"
ACL_INVOICES = "Magento_Sales::sales_invoice"
ACL_CREDITMEMOS = "Magento_Sales::sales_creditmemo"
ACL_STORES = "Magento_Backend::store"
ACL_BULK = "Magento_Logging::system_magento_logging_bulk_operations"


@dataclass
class Call:
    """One call to a handler: from HTTP, or an async bulk operation run by the consumer."""

    method: str
    template: str
    store: str
    params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass
class Answer:
    """A handler's answer when it is not a plain 200."""

    status: int
    payload: Any


@dataclass(frozen=True)
class Route:
    """A method + path template, its handler and the ACL resource it needs."""

    method: str
    template: str
    handler: Callable
    acl: str

    @property
    def segments(self) -> list[str]:
        """The template split on `/`."""
        return self.template.strip("/").split("/")

    @property
    def placeholders(self) -> list[str]:
        """The names of the template's placeholders, in order."""
        return [s[1:-1] for s in self.segments if s.startswith("{")]


class Router:
    """The routes, matched by method and raw path."""

    def __init__(self):
        self.routes: list[Route] = []

    def route(self, method: str, template: str, acl: str):
        """Register the decorated handler for `method template`."""

        def register(handler):
            self.routes.append(Route(method, template, handler, acl))
            self.routes.sort(key=lambda r: -sum(not s.startswith("{") for s in r.segments))
            return handler

        return register

    def match(self, method: str, raw_segments: list[str], *, bulk: bool = False) -> tuple[Route, dict] | None:
        """The route and decoded path parameters for `raw_segments` (`["V1", "products", "A%2FB"]`).

        With `bulk`, placeholders appear as `by<Name>` literals (`/V1/products/bySku`) and the values come
        with each body instead.
        """
        for route in self.routes:
            if route.method != method or len(route.segments) != len(raw_segments):
                continue
            params: dict[str, str] = {}
            for pattern, raw in zip(route.segments, raw_segments, strict=True):
                if pattern.startswith("{"):
                    name = pattern[1:-1]
                    if bulk:
                        if raw != "by" + name[:1].upper() + name[1:]:
                            break
                    else:
                        if raw == "":
                            break
                        params[name] = unquote(raw)
                elif pattern != raw:
                    break
            else:
                return route, params
        return None


ROUTER = Router()


# --- reading a call -----------------------------------------------------------------------------


def required_object(body: Any, key: str) -> dict:
    """`body[key]` as a dict, or Magento's 400 for a missing or malformed top-level parameter."""
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise MagentoHttpError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": key})
    return body[key]


def required_list(body: Any, key: str) -> list:
    """`body[key]` as a list, or Magento's 400."""
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise MagentoHttpError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": key})
    return body[key]


def int_or_none(value: Any) -> int | None:
    """`value` as an int, or None when it is not one (an id from a path or a query)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
