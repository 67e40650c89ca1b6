"""searchCriteria as Magento reads it from a query string, applied to the sandbox's records.

Both spellings Magento accepts are read (`filter_groups`/`filterGroups`, `condition_type`/`conditionType`, ...).
Filters in a group are OR-ed, groups AND-ed. A page past the end answers the last page again, as Magento's
collections do, so a client must stop at `total_count`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.errors import MagentoHttpError

_FILTER = re.compile(
    r"^searchCriteria\[(?:filter_groups|filterGroups)\]\[(\d+)\]\[filters\]\[(\d+)\]\[(field|value|condition_type|conditionType)\]$"
)
_SORT = re.compile(r"^searchCriteria\[(?:sort_orders|sortOrders)\]\[(\d+)\]\[(field|direction)\]$")
_PAGE = re.compile(r"^searchCriteria\[(page_size|pageSize|current_page|currentPage)\]$")


def parse(query: Mapping[str, str], *, required: bool = True) -> dict:
    """The searchCriteria in `query` as Magento echoes it in `search_criteria`."""
    keys = [key for key in query if key.startswith("searchCriteria")]
    if required and not keys:
        raise MagentoHttpError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "searchCriteria"})
    groups: dict[int, dict[int, dict]] = {}
    sorts: dict[int, dict] = {}
    criteria: dict[str, Any] = {}
    for key in keys:
        value = query[key]
        if match := _FILTER.match(key):
            group, number, part = int(match.group(1)), int(match.group(2)), match.group(3)
            part = "condition_type" if part == "conditionType" else part
            groups.setdefault(group, {}).setdefault(number, {})[part] = value
        elif match := _SORT.match(key):
            sorts.setdefault(int(match.group(1)), {})[match.group(2)] = value
        elif match := _PAGE.match(key):
            name = {"pageSize": "page_size", "currentPage": "current_page"}.get(match.group(1), match.group(1))
            try:
                criteria[name] = int(value)
            except ValueError:
                raise MagentoHttpError(
                    400,
                    'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
                    {"value": value, "type": "int"},
                ) from None
    criteria["filter_groups"] = [
        {"filters": [dict({"condition_type": "eq"}, **groups[g][f]) for f in sorted(groups[g])]} for g in sorted(groups)
    ]
    for group in criteria["filter_groups"]:
        for flt in group["filters"]:
            if "field" not in flt:
                raise MagentoHttpError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "field"})
            if flt["condition_type"] not in CONDITIONS:
                raise MagentoHttpError(
                    400, 'Invalid condition type "%1" for field "%2".', [flt["condition_type"], flt["field"]]
                )
    if sorts:
        criteria["sort_orders"] = [
            {"field": sorts[s].get("field", ""), "direction": sorts[s].get("direction", "ASC").upper()}
            for s in sorted(sorts)
        ]
    return criteria


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(actual: Any, expected: str) -> int:
    a, b = _number(actual), _number(expected)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    left, right = str(actual), str(expected)
    return (left > right) - (left < right)


def _like(actual: Any, pattern: str) -> bool:
    regex = "^" + ".*".join(re.escape(part) for part in str(pattern).split("%")) + "$"
    return re.match(regex, str(actual), re.IGNORECASE | re.DOTALL) is not None


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _equal(actual: Any, expected: str) -> bool:
    # Magento's tables use a case-insensitive collation (utf8mb4_general_ci), so `eq` and `in` match text in any
    # case: a customer search by "Ada@Example.com" finds "ada@example.com".
    return actual is not None and _compare(_fold(actual), _fold(expected)) == 0


def _in(actual: Any, listed: str) -> bool:
    """`actual` equals one of the comma-separated values (numbers compared as numbers)."""
    if actual is None:
        return False
    values = listed.split(",")
    if str(actual) in values:
        return True
    # Not the same text: equal only as numbers (a value that is no number compares as text).
    return _number(actual) is not None and any(_equal(actual, value) for value in values)


CONDITIONS: dict[str, Callable[[Any, str], bool]] = {
    "eq": _equal,
    "neq": lambda a, v: not _equal(a, v),
    "like": lambda a, v: a is not None and _like(a, v),
    "nlike": lambda a, v: a is None or not _like(a, v),
    "in": _in,
    "nin": lambda a, v: not _in(a, v),
    "null": lambda a, v: a is None or a == "",
    "notnull": lambda a, v: a is not None and a != "",
    "gt": lambda a, v: a is not None and _compare(a, v) > 0,
    "gteq": lambda a, v: a is not None and _compare(a, v) >= 0,
    "moreq": lambda a, v: a is not None and _compare(a, v) >= 0,
    "from": lambda a, v: a is not None and _compare(a, v) >= 0,
    "lt": lambda a, v: a is not None and _compare(a, v) < 0,
    "lteq": lambda a, v: a is not None and _compare(a, v) <= 0,
    "to": lambda a, v: a is not None and _compare(a, v) <= 0,
    "finset": lambda a, v: a is not None and v in str(a).split(","),
    "nfinset": lambda a, v: a is None or v not in str(a).split(","),
}


def apply(items: list[dict], criteria: dict, value: Callable[[dict, str], Any] | None = None) -> dict:
    """The search result Magento answers: `{"items", "search_criteria", "total_count"}`."""
    read = value or (lambda item, name: item.get(name))
    matching = [
        item
        for item in items
        if all(
            any(CONDITIONS[f["condition_type"]](read(item, f["field"]), str(f.get("value", ""))) for f in g["filters"])
            for g in criteria["filter_groups"]
            if g["filters"]
        )
    ]
    for order in reversed(criteria.get("sort_orders", [])):
        present = [i for i in matching if read(i, order["field"]) is not None]
        absent = [i for i in matching if read(i, order["field"]) is None]
        present.sort(key=lambda i: _sort_key(read(i, order["field"])), reverse=order["direction"] == "DESC")
        matching = present + absent
    total = len(matching)
    size = criteria.get("page_size")
    if size:
        last_page = max(1, math.ceil(total / size))
        # Magento's collections answer a page past the end with the last page, not an empty list.
        current = min(max(1, criteria.get("current_page") or 1), last_page)
        matching = matching[(current - 1) * size : current * size]
    return {"items": matching, "search_criteria": criteria, "total_count": total}


def _sort_key(value: Any):
    number = _number(value)
    return (0, number, "") if number is not None else (1, 0.0, str(value))
