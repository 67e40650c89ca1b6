"""How the catalog stores values: global values and store-view overrides by attribute scope, URL keys, and the
messages Magento refuses a value with."""

from __future__ import annotations

import re
from typing import Any

from sandbox.state import SandboxState

STORE_SCOPES = ("store", "website")
URL_KEY_EXISTS = "URL key for specified store already exists."
EMPTY_ATTRIBUTE = 'The "%1" attribute value is empty. Set the attribute and try again.'


def slug(text: str) -> str:
    """Magento's URL key for a name: lower case, runs of other characters as one `-`."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")


def _scope_of(state: SandboxState, code: str) -> str:
    attribute = state.attributes.get(code)
    return attribute["scope"] if attribute else "global"


def _split_by_scope(state: SandboxState, values: dict[str, Any]) -> tuple[dict, dict]:
    global_values = {c: v for c, v in values.items() if _scope_of(state, c) not in STORE_SCOPES}
    store_values = {c: v for c, v in values.items() if _scope_of(state, c) in STORE_SCOPES}
    return global_values, store_values


def write_scoped(state: SandboxState, values_by_scope: dict, incoming: dict, store: str, creating: bool) -> None:
    """Store `incoming` the way Magento does for a save through `store`.

    Through `all` every value is global. Through a store view, values of store- and website-scope attributes
    become that view's overrides (magento2 #9186, #31083); on creation they are the global values as well.
    """
    if store == "all" or creating:
        values_by_scope["all"].update(incoming)
    if store != "all":
        global_values, store_values = _split_by_scope(state, incoming)
        values_by_scope["all"].update(global_values)
        if store_values:
            values_by_scope.setdefault(store, {}).update(store_values)
