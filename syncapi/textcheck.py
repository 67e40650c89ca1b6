"""Checks on text that crosses the service: SKUs that can go into a Magento URL path, and text that is valid
Unicode without NUL characters (see docs/security.md, "Hostile input").

A SKU becomes one path segment of a Magento REST URL (`/V1/products/{sku}`). Percent-encoding makes every
character safe except the dot segments: `.` and `..` (and their `%2E` spellings, which HTTP libraries and
servers decode) are removed or resolved by URL normalisation (RFC 3986 §5.2.4), so `PUT /V1/products/..`
would reach another resource. `/` would split the segment wherever a server decodes `%2F`, and control
characters have no place in an identifier. Such SKUs are refused where they enter, and the path builder
refuses the dot segments again before any request is sent.

NUL characters and lone surrogates (U+D800 to U+DFFF alone, which JSON's `\\ud800` escapes and undecodable
bytes read with `surrogateescape` produce) are not text any database or Magento stores faithfully: a record
carrying one fails permanently with an error naming the field, and is never sent on.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

#: Path segments that URL normalisation removes or resolves: no encoding makes them safe.
DOT_SEGMENTS = frozenset({".", ".."})
#: What a SKU may not be or hold, said once for every error message.
SKU_RULE = "a SKU must not be '.' or '..' and must not contain '/' or control characters"
#: Fields of the gateway's records that are SKUs (checked by the SKU rule as well as the text rule).
SKU_FIELDS = frozenset({"sku", "parent_sku"})


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored or sent as text (a NUL character, a lone surrogate), or None."""
    if "\x00" in value:
        return f"contains a NUL character at position {value.index(chr(0))}"
    for position, char in enumerate(value):
        if "\ud800" <= char <= "\udfff":
            return f"contains a lone surrogate U+{ord(char):04X} at position {position} (not valid Unicode)"
    return None


def sku_problem(sku: object) -> str | None:
    """Why `sku` cannot be a SKU sent to Magento, or None."""
    if not isinstance(sku, str):
        return f"a SKU must be text, got {type(sku).__name__}"
    if not sku.strip():
        return "a SKU must not be blank"
    problem = text_problem(sku)
    if problem:
        return f"the SKU {problem}"
    if sku in DOT_SEGMENTS or "/" in sku or any(unicodedata.category(char) == "Cc" for char in sku):
        return f"{sku!r} cannot be sent to Magento: {SKU_RULE}"
    return None


def _texts(value: Any, name: str) -> Iterator[tuple[str, str]]:
    """Every text inside `value` (dataclasses, mappings, lists, tuples), with a dotted name for it."""
    if isinstance(value, str):
        yield name, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _texts(getattr(value, item.name), f"{name}.{item.name}" if name else item.name)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _texts(item, f"{name}.{key}" if name else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _texts(item, f"{name}[{index}]")


def record_problem(record: Any) -> str | None:
    """The first problem of a record read from the POS (a gateway dataclass): a SKU field breaking the SKU rule,
    or a text field with a NUL or a lone surrogate, named by field; None when it may be sent to Magento."""
    for name, value in _texts(record, ""):
        problem = sku_problem(value) if name.rsplit(".", 1)[-1] in SKU_FIELDS else text_problem(value)
        if problem:
            return f"{name}: {problem}"
    return None
