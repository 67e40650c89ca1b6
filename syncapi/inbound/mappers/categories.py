"""Magento categories → POS categories: roots left out, shop categories under their parent's POS category."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncapi.inbound.mappers.values import MappingError, magento_id, optional_id, text_of
from syncapi.pos.gateway import CategoryIn

#: Magento's category levels 0 ("Root Catalog") and 1 (a store's root, "Default Category") are not shop
#: categories: the POS has no counterpart for them.
ROOT_CATEGORY_MAX_LEVEL = 1


def _category_path(category: Mapping[str, Any]) -> list[int]:
    path = category.get("path")
    if not isinstance(path, str) or not path.strip():
        return []
    try:
        return [int(part) for part in path.strip().split("/")]
    except ValueError:
        raise MappingError(f"category {category.get('id')} has an unreadable path {path!r}") from None


def category_level(category: Mapping[str, Any]) -> int:
    """The category's depth: 0 Root Catalog, 1 a store's root, 2 and below the shop's categories."""
    level = category.get("level")
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str) and level.strip().isdigit():
        return int(level)
    path = _category_path(category)
    if path:
        return len(path) - 1
    raise MappingError(f"category {category.get('id')} has neither a level nor a path")


def is_root_category(category: Mapping[str, Any]) -> bool:
    """True for Magento's root categories, which have no POS counterpart."""
    return category_level(category) <= ROOT_CATEGORY_MAX_LEVEL


def category_ancestors(category: Mapping[str, Any]) -> list[int]:
    """The ids of the category's shop-level ancestors, top first (roots and the category itself left out)."""
    path = _category_path(category)
    return path[ROOT_CATEGORY_MAX_LEVEL + 1 : -1]


def category_to_pos(category: Mapping[str, Any]) -> CategoryIn:
    """A shop category as the POS category to find or create, under its parent's POS category (a top-level one
    when the parent is a store's root)."""
    number = magento_id(category.get("id"), "category id")
    name = text_of(category.get("name"))
    if not name:
        raise MappingError(f"category {number} has no name")
    parent = optional_id(category.get("parent_id"), f"category {number} parent_id")
    if category_level(category) <= ROOT_CATEGORY_MAX_LEVEL + 1:
        parent = None  # its parent is a root category, which the POS does not have
    return CategoryIn(magento_id=number, name=name, parent_magento_id=parent)
