"""Product attributes, their options, and attribute sets. Paths and payload shapes only.

Select and multiselect attributes (`color`, `size`) take option ids in `custom_attributes`: read the options,
add the missing labels, read again for their ids.
"""

from __future__ import annotations

from collections.abc import Iterator

from syncapi.magento.client import MagentoClient, path
from syncapi.magento.search import SearchCriteria

ATTRIBUTE = "/V1/products/attributes/{code}"
OPTIONS = "/V1/products/attributes/{code}/options"
ATTRIBUTE_SETS = "/V1/products/attribute-sets/sets/list"
SET_ATTRIBUTES = "/V1/products/attribute-sets/{set_id}/attributes"


def attribute(client: MagentoClient, code: str, *, store: str | None = None) -> dict:
    """The product attribute `code` (input type, scope, options)."""
    return client.get(path(ATTRIBUTE, code=code), store=store)


def options(client: MagentoClient, code: str, *, store: str | None = None) -> list[dict]:
    """The options of attribute `code` as `{"label", "value"}` (value = option id; the first is the empty one)."""
    return client.get(path(OPTIONS, code=code), store=store) or []


def add_option(
    client: MagentoClient, code: str, label: str, *, sort_order: int | None = None, store: str | None = None
) -> str:
    """Add option `label` to attribute `code`; Magento's answer (the new option id in 2.4)."""
    option: dict = {"label": label, "value": "", "is_default": False}
    if sort_order is not None:
        option["sort_order"] = sort_order
    return client.post(path(OPTIONS, code=code), {"option": option}, store=store)


def attribute_sets(client: MagentoClient, criteria: SearchCriteria | None = None) -> Iterator[dict]:
    """Every product attribute set (`attribute_set_id`, `attribute_set_name`)."""
    return client.paginate(ATTRIBUTE_SETS, criteria)


def set_attributes(client: MagentoClient, set_id: int, *, store: str | None = None) -> list[dict]:
    """The attributes of attribute set `set_id`."""
    return client.get(path(SET_ATTRIBUTES, set_id=set_id), store=store) or []
