"""Reading JSON from strangers: how deep a body may nest and how long a number may be, for every body the service
parses (operator API and webhooks), so a hostile body is a clear 400, never a 500 or minutes of CPU.

Python's parser alone fails on such bodies with a RecursionError (nesting deeper than the interpreter's stack),
a ValueError (integers over 4,300 digits) or quietly turns `1e999` into infinity; here each is refused with a
message that names the limit (docs/security.md, "Request bodies").
"""

from __future__ import annotations

import json
import math
from typing import Any

#: Deepest nesting of arrays and objects accepted; Magento's and the API's documents nest a few levels.
MAX_DEPTH = 64
#: Longest number literal accepted, in characters (sign, digits, point and exponent): a 64-bit integer or a
#: double's shortest form needs at most 25.
MAX_NUMBER_CHARS = 40


class JSONLimitError(ValueError):
    """A body that is JSON but over one of the limits; the message says which."""


def loads(data: bytes | str) -> Any:
    """The JSON document in `data`, refusing deep nesting, long numbers and non-finite values.

    Raises `json.JSONDecodeError` (a `ValueError`) for what is not JSON at all and `JSONLimitError` (also a
    `ValueError`) for what breaks a limit.
    """
    try:
        document = json.loads(data, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant)
    except RecursionError:
        raise JSONLimitError(f"the JSON nests deeper than {MAX_DEPTH} levels") from None
    check_depth(document)
    return document


def check_depth(document: Any) -> None:
    """`JSONLimitError` if `document` nests arrays and objects deeper than MAX_DEPTH."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            raise JSONLimitError(f"the JSON nests deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def _check_length(text: str) -> None:
    if len(text) > MAX_NUMBER_CHARS:
        raise JSONLimitError(f"a number in the JSON is longer than {MAX_NUMBER_CHARS} characters: {text[:20]}…")


def _parse_int(text: str) -> int:
    _check_length(text)
    return int(text)


def _parse_float(text: str) -> float:
    _check_length(text)
    value = float(text)
    if not math.isfinite(value):
        raise JSONLimitError(f"a number in the JSON is out of range: {text}")
    return value


def _refuse_constant(name: str):
    raise JSONLimitError(f"{name} is not a JSON number")
