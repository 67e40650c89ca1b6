"""What can go wrong talking to Magento, split the way a job needs it: retry later, or record and stop.

- `MagentoTransientError`: the call may succeed later (connection refused, timeout, 429, 5xx) and the client's
  own retries are used up, or a non-idempotent call may have reached Magento. A job lets it propagate so RQ
  retries the job with its backoff.
- `MagentoPermanentError`: Magento refused the request (a 4xx other than 429). Retrying the same request gives the
  same answer: a job records `message` against the record and stops. Subclasses: `MagentoAuthError` (401/403:
  credentials or the integration's API resources), `MagentoNotFoundError` (404), `MagentoBulkUnsupportedError`
  (the store has no async bulk routes).
- `MagentoUnsafePathError`: a value (a SKU) that no encoding makes safe in a URL path (`.`, `..`, blank); the
  request is never sent. Permanent, like a refusal.
- `MagentoBulkTimeoutError`: a bulk's operations did not finish in time (usually the `async.operations.all`
  consumer is not running); transient.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_POSITIONAL = re.compile(r"%(\d+)")
_NAMED = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)")


def format_message(message: str, parameters: Any = None) -> str:
    """Magento's `message` with its `%1`/`%name` placeholders filled from `parameters` (a list or a dict).

    A list fills `%1`, `%2`, ... and then, in order, any named placeholders: Magento serialises some named
    parameters as a plain list (the price APIs' `%SKU`, for example).
    """
    if not parameters or not isinstance(message, str):
        return message
    if isinstance(parameters, Mapping):
        return _NAMED.sub(lambda m: str(parameters[m.group(1)]) if m.group(1) in parameters else m.group(0), message)
    if not isinstance(parameters, list | tuple):
        return message
    values = [str(value) for value in parameters]
    used: set[int] = set()

    def positional(match: re.Match) -> str:
        index = int(match.group(1)) - 1
        if 0 <= index < len(values):
            used.add(index)
            return values[index]
        return match.group(0)

    filled = _POSITIONAL.sub(positional, message)
    remaining = iter([v for i, v in enumerate(values) if i not in used])
    return _NAMED.sub(lambda m: next(remaining, m.group(0)), filled)


class MagentoError(Exception):
    """Base of every error the Magento client raises; `str()` is a sentence an operator can act on."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None):
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method and self.url else ""
        return f"{self.message}{where}"


class MagentoTransientError(MagentoError):
    """Magento could not be reached or was busy, and the client's retries are used up: try again later.

    `status` is the last HTTP status (None for a network error or timeout). `may_have_applied` is true when a
    request that is not safe to repeat may have reached Magento (a timeout or 5xx after a POST): the caller
    should read back before sending it again.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        attempts: int = 1,
        may_have_applied: bool = False,
        method: str | None = None,
        url: str | None = None,
    ):
        super().__init__(message, method=method, url=url)
        self.status = status
        self.attempts = attempts
        self.may_have_applied = may_have_applied


class MagentoPermanentError(MagentoError):
    """Magento refused the request; `message` is Magento's own, parameters filled in; `body` its whole answer."""

    def __init__(
        self,
        status: int,
        message: str,
        body: Any = None,
        *,
        method: str | None = None,
        url: str | None = None,
    ):
        super().__init__(message, method=method, url=url)
        self.status = status
        self.body = body

    def __str__(self) -> str:
        return f"Magento answered {self.status}: {super().__str__()}"

    @property
    def parameters(self) -> Any:
        """The `parameters` of Magento's error body, if any."""
        return self.body.get("parameters") if isinstance(self.body, dict) else None


class MagentoAuthError(MagentoPermanentError):
    """401 or 403: the credentials are wrong, or the integration lacks the API resource (ACL) for this call."""


class MagentoNotFoundError(MagentoPermanentError):
    """404: the record (or the route) does not exist."""


class MagentoBulkUnsupportedError(MagentoNotFoundError):
    """The store has no async bulk routes (Magento_WebapiAsync disabled): send the requests one by one."""


class MagentoUnsafePathError(MagentoPermanentError):
    """A path value URL normalisation would remove or resolve (`.`, `..`) or an empty one: refused before any
    request (docs/security.md, "Hostile input"). `status` is 0: Magento was not asked."""

    def __init__(self, message: str):
        super().__init__(0, message)

    def __str__(self) -> str:
        return self.message


class MagentoBulkTimeoutError(MagentoTransientError):
    """A bulk did not finish in time; `counts` has its operations per status name when it gave up."""

    def __init__(self, message: str, *, bulk_uuid: str, counts: Mapping[str, int]):
        super().__init__(message)
        self.bulk_uuid = bulk_uuid
        self.counts = dict(counts)
