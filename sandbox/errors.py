"""Errors the way Magento answers them: `{"message", "parameters"}` with an HTTP status, and the message with its
placeholders filled in, as Magento's phrase renderer does for bulk operation results."""

from __future__ import annotations

import re
from typing import Any

_PLACEHOLDER = re.compile(r"%(\w+)")


class MagentoHttpError(Exception):
    """An answer the way Magento gives errors: `{"message": ..., "parameters": ...}` with an HTTP status."""

    def __init__(self, status: int, message: str, parameters: Any = None, *, errors: list | None = None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameters = parameters
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict:
        """The JSON body Magento would send."""
        body: dict[str, Any] = {"message": self.message}
        if self.parameters:
            body["parameters"] = self.parameters
        if self.errors:
            body["errors"] = self.errors
        return body


def not_found_product() -> MagentoHttpError:
    """Magento's 404 for an unknown SKU."""
    return MagentoHttpError(404, "The product that was requested doesn't exist. Verify the product and try again.")


def no_such_entity(field_name: str, value: Any) -> MagentoHttpError:
    """Magento's 404 `No such entity with %fieldName = %fieldValue`."""
    return MagentoHttpError(
        404, "No such entity with %fieldName = %fieldValue", {"fieldName": field_name, "fieldValue": str(value)}
    )


def render_message(message: str, parameters: Any = None) -> str:
    """`message` with `%1`, `%2`, ... (a list of parameters) or `%name` (a dict) filled in; unknown ones kept."""
    if not parameters:
        return message
    values = {str(i): v for i, v in enumerate(parameters, start=1)} if isinstance(parameters, list) else parameters
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), message)
