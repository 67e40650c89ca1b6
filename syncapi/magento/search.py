"""Magento's searchCriteria as a builder, turned into the query parameters the list endpoints read.

Filters inside one group are OR-ed; groups are AND-ed:

    SearchCriteria().where("updated_at", "2024-05-01 00:00:00", "gteq").where_any(("state", "complete"),
        ("state", "closed")).order_by("updated_at").page(100, 1)
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass

#: The condition types Magento's filter groups understand.
CONDITION_TYPES = frozenset(
    {
        "eq",
        "neq",
        "like",
        "nlike",
        "in",
        "nin",
        "null",
        "notnull",
        "gt",
        "gteq",
        "lt",
        "lteq",
        "moreq",
        "from",
        "to",
        "finset",
        "nfinset",
    }
)
SORT_ASC = "ASC"
SORT_DESC = "DESC"


@dataclass(frozen=True)
class Filter:
    """One `field <condition_type> value` test; `value` may be a list for `in`/`nin` (sent comma-separated)."""

    field: str
    value: object
    condition_type: str = "eq"

    def __post_init__(self):
        if self.condition_type not in CONDITION_TYPES:
            raise ValueError(f"unknown condition type {self.condition_type!r}; one of {sorted(CONDITION_TYPES)}")

    def query_value(self) -> str:
        """The value as Magento reads it from the query string."""
        if isinstance(self.value, list | tuple | set | frozenset):
            return ",".join(str(v) for v in self.value)
        if isinstance(self.value, bool):
            return "1" if self.value else "0"
        return "" if self.value is None else str(self.value)


class SearchCriteria:
    """A searchCriteria: filter groups (AND of ORs), sort orders, page size and current page."""

    def __init__(self):
        self.filter_groups: list[list[Filter]] = []
        self.sort_orders: list[tuple[str, str]] = []
        self.page_size: int | None = None
        self.current_page: int | None = None

    def where(self, field: str, value: object, condition_type: str = "eq") -> SearchCriteria:
        """AND a new group holding one filter."""
        self.filter_groups.append([Filter(field, value, condition_type)])
        return self

    def where_any(self, *filters: Filter | tuple) -> SearchCriteria:
        """AND a new group that matches when any of `filters` (Filters or `(field, value[, condition])`) does."""
        group = [f if isinstance(f, Filter) else Filter(*f) for f in filters]
        if not group:
            raise ValueError("where_any needs at least one filter")
        self.filter_groups.append(group)
        return self

    def order_by(self, field: str, direction: str = SORT_ASC) -> SearchCriteria:
        """Add a sort order (`ASC` or `DESC`)."""
        direction = direction.upper()
        if direction not in (SORT_ASC, SORT_DESC):
            raise ValueError(f"sort direction must be ASC or DESC, got {direction!r}")
        self.sort_orders.append((field, direction))
        return self

    def page(self, size: int, current: int = 1) -> SearchCriteria:
        """Set the page size and the (1-based) current page."""
        if size < 1 or current < 1:
            raise ValueError("page size and current page start at 1")
        self.page_size, self.current_page = size, current
        return self

    def copy(self) -> SearchCriteria:
        """An independent copy (the paging iterator changes the page of its copy only)."""
        return copy.deepcopy(self)

    def to_params(self) -> dict[str, str]:
        """The query parameters, e.g. `searchCriteria[filter_groups][0][filters][0][field]`."""
        params: dict[str, str] = {}
        for g, group in enumerate(self.filter_groups):
            for f, flt in enumerate(group):
                prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
                params[f"{prefix}[field]"] = flt.field
                params[f"{prefix}[value]"] = flt.query_value()
                params[f"{prefix}[condition_type]"] = flt.condition_type
        for s, (field, direction) in enumerate(self.sort_orders):
            params[f"searchCriteria[sort_orders][{s}][field]"] = field
            params[f"searchCriteria[sort_orders][{s}][direction]"] = direction
        if self.page_size is not None:
            params["searchCriteria[page_size]"] = str(self.page_size)
        if self.current_page is not None:
            params["searchCriteria[current_page]"] = str(self.current_page)
        if not params:
            # The list endpoints refuse a request without searchCriteria ("searchCriteria" is required).
            params["searchCriteria"] = ""
        return params


def field_in(field: str, values: Iterable[object]) -> SearchCriteria:
    """Criteria matching records whose `field` is one of `values`."""
    return SearchCriteria().where(field, list(values), "in")
