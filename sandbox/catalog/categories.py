"""Categories: the tree, one category, create and update (URL keys unique among siblings)."""

from __future__ import annotations

from typing import Any

from sandbox import seed
from sandbox.catalog.values import EMPTY_ATTRIBUTE, URL_KEY_EXISTS, slug, write_scoped
from sandbox.errors import MagentoHttpError, no_such_entity
from sandbox.routing import ACL_CATEGORIES, ROUTER, Call, int_or_none, required_object
from sandbox.state import Category, SandboxState

CATEGORY_FIELDS = ("name", "is_active", "include_in_menu")


def _category(state: SandboxState, category_id: Any) -> Category:
    category = state.categories.get(int_or_none(category_id))
    if category is None:
        raise no_such_entity("id", category_id)
    return category


def _children_of(state: SandboxState, category_id: int) -> list[Category]:
    return sorted((c for c in state.categories.values() if c.parent_id == category_id), key=lambda c: c.position)


def render_category(state: SandboxState, category: Category, store: str) -> dict:
    """A category as `GET /V1/categories/{id}` answers."""
    values = category.effective(store)
    return {
        "id": category.id,
        "parent_id": category.parent_id,
        "name": values.get("name"),
        "is_active": bool(values.get("is_active", True)),
        "position": category.position,
        "level": category.level,
        "children": ",".join(str(c.id) for c in _children_of(state, category.id)),
        "created_at": category.created_at,
        "updated_at": category.updated_at,
        "path": category.path,
        "available_sort_by": [],
        "include_in_menu": bool(values.get("include_in_menu", True)),
        "custom_attributes": [
            {"attribute_code": code, "value": value}
            for code, value in values.items()
            if code not in CATEGORY_FIELDS and value is not None
        ],
    }


def _tree(state: SandboxState, category: Category, store: str, depth: int | None) -> dict:
    values = category.effective(store)
    children = [] if depth == 0 else _children_of(state, category.id)
    return {
        "id": category.id,
        "parent_id": category.parent_id,
        "name": values.get("name"),
        "is_active": bool(values.get("is_active", True)),
        "position": category.position,
        "level": category.level,
        "product_count": sum(
            1
            for p in state.products.values()
            if any(str(link["category_id"]) == str(category.id) for link in p.category_links)
        ),
        "children_data": [_tree(state, c, store, None if depth is None else depth - 1) for c in children],
    }


def _category_values(payload: dict) -> dict[str, Any]:
    values = {name: payload[name] for name in CATEGORY_FIELDS if name in payload}
    for item in payload.get("custom_attributes") or []:
        if isinstance(item, dict) and item.get("attribute_code"):
            values[item["attribute_code"]] = item.get("value")
    return values


def _check_category_url_key(state: SandboxState, category: Category) -> None:
    for store in ("all", "default"):
        key = category.effective(store).get("url_key")
        for sibling in _children_of(state, category.parent_id):
            if sibling.id != category.id and sibling.effective(store).get("url_key") == key:
                raise MagentoHttpError(400, URL_KEY_EXISTS)


@ROUTER.route("GET", "/V1/categories", ACL_CATEGORIES)
def category_tree(state: SandboxState, call: Call):
    root_id = call.query.get("rootCategoryId")
    if root_id is None:
        root_id = seed.ROOT_CATEGORY_ID if call.store == "all" else seed.DEFAULT_CATEGORY_ID
    depth = int_or_none(call.query.get("depth"))
    return _tree(state, _category(state, root_id), call.store, depth)


@ROUTER.route("GET", "/V1/categories/{categoryId}", ACL_CATEGORIES)
def get_category(state: SandboxState, call: Call):
    return render_category(state, _category(state, call.params["categoryId"]), call.store)


@ROUTER.route("POST", "/V1/categories", ACL_CATEGORIES)
def create_category(state: SandboxState, call: Call):
    payload = required_object(call.body, "category")
    parent = _category(state, payload.get("parent_id") or seed.DEFAULT_CATEGORY_ID)
    values = _category_values(payload)
    if not values.get("name"):
        raise MagentoHttpError(400, EMPTY_ATTRIBUTE, ["Name"])
    values.setdefault("is_active", True)
    values.setdefault("include_in_menu", True)
    if not values.get("url_key"):
        values["url_key"] = slug(values["name"])
    stamp = seed.now()
    category_id = state.counters["category"] + 1
    position = payload.get("position")
    if position is None:
        position = len(_children_of(state, parent.id)) + 1
    category = Category(
        category_id, parent.id, f"{parent.path}/{category_id}", parent.level + 1, int(position), stamp, stamp
    )
    write_scoped(state, category.values, values, call.store, creating=True)
    _check_category_url_key(state, category)
    state.next_id("category")
    state.categories[category.id] = category
    return render_category(state, category, call.store)


@ROUTER.route("PUT", "/V1/categories/{id}", ACL_CATEGORIES)
def update_category(state: SandboxState, call: Call):
    payload = required_object(call.body, "category")
    existing = _category(state, call.params["id"])
    category = Category(
        existing.id,
        existing.parent_id,
        existing.path,
        existing.level,
        int(payload.get("position", existing.position)),
        existing.created_at,
        seed.now(),
        {scope: dict(values) for scope, values in existing.values.items()},
    )
    write_scoped(state, category.values, _category_values(payload), call.store, creating=False)
    _check_category_url_key(state, category)
    state.categories[category.id] = category
    return render_category(state, category, call.store)
