"""The Magento 2 REST client and its resources.

`MagentoClient` (in `client`) owns the HTTP: base URL, OAuth 1.0a or bearer auth, one session, timeouts,
retries and error mapping (`errors`). The resource modules (`products`, `media`, `configurable`, `attributes`,
`categories`, `inventory`, `prices`, `customers`, `sales`, `stores`) hold paths and payload shapes; `bulk` runs
the async bulk API; `writes` sends many writes at once (list endpoints in batches, bulk with a one-by-one
fallback) and says what became of each; `changes` reads a list by `updated_at`; `search` builds searchCriteria.
Nothing outside this package calls the client's HTTP methods.

A process's client is `Services.magento` (built by `client_for`).
"""

from __future__ import annotations

from syncapi.magento.client import MagentoClient, client_for, path
from syncapi.magento.errors import (
    MagentoAuthError,
    MagentoBulkTimeoutError,
    MagentoBulkUnsupportedError,
    MagentoError,
    MagentoNotFoundError,
    MagentoPermanentError,
    MagentoTransientError,
    format_message,
)
from syncapi.magento.search import SearchCriteria

__all__ = [
    "MagentoAuthError",
    "MagentoBulkTimeoutError",
    "MagentoBulkUnsupportedError",
    "MagentoClient",
    "MagentoError",
    "MagentoNotFoundError",
    "MagentoPermanentError",
    "MagentoTransientError",
    "SearchCriteria",
    "client_for",
    "format_message",
    "path",
]
