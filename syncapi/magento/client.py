"""The Magento REST client: base URL, authentication, one `requests.Session`, timeouts, retries, error mapping.

Resource modules (`products`, `inventory`, `prices`, ...) hold only paths and payload shapes and call
`MagentoClient.get/post/put/delete`. Every call:

- goes to `<base>/rest/<store>/V1/...` (the store code defaults to `MAGENTO_STORE_CODE`, `all` = global values);
- is signed with OAuth 1.0a HMAC-SHA256 (an integration) or carries a bearer token;
- has a connect and a read timeout;
- is retried with exponential backoff and jitter on connection errors, timeouts, 429 and 5xx, honouring
  `Retry-After`, up to `max_retries` times and `max_total_wait_s` seconds of waiting in all. A POST, which
  Magento may not treat as safe to repeat (a media POST adds an image every time), is only retried when it
  cannot have reached Magento: connection refused, 429, 503. Pass `idempotent=True` for POSTs that are upserts.
- maps answers to `errors`: 2xx -> the decoded JSON; 401/403 -> `MagentoAuthError`; 404 -> `MagentoNotFoundError`;
  other 4xx -> `MagentoPermanentError`; retries used up -> `MagentoTransientError`.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth1
from urllib3.exceptions import NewConnectionError

from syncapi.config import MAGENTO_AUTH_BEARER, Settings
from syncapi.magento.errors import (
    MagentoAuthError,
    MagentoNotFoundError,
    MagentoPermanentError,
    MagentoTransientError,
    MagentoUnsafePathError,
    format_message,
)
from syncapi.magento.search import SearchCriteria
from syncapi.textcheck import DOT_SEGMENTS, SKU_RULE

log = logging.getLogger(__name__)

#: First backoff step in seconds; doubles per attempt up to BACKOFF_MAX_S, with jitter.
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 30.0
#: Most seconds one call may spend waiting between its attempts, so a job never hangs on a sick store.
MAX_TOTAL_WAIT_S = 120.0
#: Statuses worth another attempt: rate limited, or a server/proxy error.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Statuses after which the request certainly did not run (rate limit; 503 is Magento's maintenance page).
NOT_APPLIED_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
#: Connections requests keeps per host unless told otherwise.
REQUESTS_POOL_SIZE = 10
#: Characters of an error page kept in an error message.
BODY_EXCERPT_CHARS = 300

_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


class BearerAuth(requests.auth.AuthBase):
    """`Authorization: Bearer <token>` (an integration token, when the store allows it as a bearer token)."""

    def __init__(self, token: str):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def auth_for(settings: Settings) -> requests.auth.AuthBase:
    """The request signer the settings ask for: OAuth 1.0a HMAC-SHA256 (default) or a bearer token."""
    if settings.magento_auth == MAGENTO_AUTH_BEARER:
        return BearerAuth(settings.magento_access_token)
    return OAuth1(
        client_key=settings.magento_consumer_key,
        client_secret=settings.magento_consumer_secret,
        resource_owner_key=settings.magento_access_token,
        resource_owner_secret=settings.magento_access_token_secret,
        signature_method=SIGNATURE_HMAC_SHA256,
        signature_type="AUTH_HEADER",
    )


def path(template: str, **values: object) -> str:
    """`template` with each `{name}` replaced by its value percent-encoded whole (SKUs may hold `/`, `#`, `?`, ` `).

    Magento reads `/` inside a SKU as a path separator unless it is encoded (magento2 #37830, #37913). A value
    that is empty, `.` or `..` raises `MagentoUnsafePathError`: encoding leaves the dots as they are (and `%2E`
    is decoded again by URL normalisation), so the request would reach another resource.
    """
    encoded = {}
    for name, value in values.items():
        text = str(value)
        if not text or text in DOT_SEGMENTS:
            raise MagentoUnsafePathError(
                f"{name} {text!r} cannot be put in a Magento URL path ({template}): it would address another "
                f"resource; {SKU_RULE}"
            )
        encoded[name] = quote(text, safe="")
    return template.format(**encoded)


def batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """`items` in lists of at most `size`."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class ClientOptions:
    """How a `MagentoClient` calls: its store view, timeouts, retry policy and list sizes."""

    store_code: str = "all"
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    max_retries: int = 5
    page_size: int = 100
    batch_size: int = 100
    backoff_base_s: float = BACKOFF_BASE_S
    backoff_max_s: float = BACKOFF_MAX_S
    max_total_wait_s: float = MAX_TOTAL_WAIT_S

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ClientOptions:
        """The options `settings` ask for; keyword `overrides` replace single options."""
        options = cls(
            store_code=settings.magento_store_code,
            connect_timeout_s=settings.magento_connect_timeout_s,
            read_timeout_s=settings.magento_read_timeout_s,
            max_retries=settings.magento_max_retries,
            page_size=settings.magento_page_size,
            batch_size=settings.magento_batch_size,
        )
        return replace(options, **overrides)


class MagentoClient:
    """One Magento store's REST API over one session; thread-safe for concurrent calls like `requests.Session`."""

    def __init__(
        self,
        base_url: str,
        auth: requests.auth.AuthBase | None,
        options: ClientOptions | None = None,
        *,
        session: requests.Session | None = None,
    ):
        options = options or ClientOptions()
        self.base_url = base_url.rstrip("/")
        self.options = options
        self.store_code = options.store_code
        self.connect_timeout_s = options.connect_timeout_s
        self.read_timeout_s = options.read_timeout_s
        self.max_retries = options.max_retries
        self.page_size = options.page_size
        self.batch_size = options.batch_size
        self.backoff_base_s = options.backoff_base_s
        self.backoff_max_s = options.backoff_max_s
        self.max_total_wait_s = options.max_total_wait_s
        self.session = session or requests.Session()
        self.session.auth = auth
        self.session.headers.update({"Accept": "application/json", "User-Agent": "syncapi"})
        self._pool_size = REQUESTS_POOL_SIZE

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> MagentoClient:
        """A client configured from `settings`; keyword `overrides` replace single `ClientOptions`."""
        return cls(settings.magento_base_url, auth_for(settings), ClientOptions.from_settings(settings, **overrides))

    def pool_at_least(self, connections: int) -> None:
        """Keep at least `connections` connections per host, so that many threads calling at once do not open
        and drop a connection per call."""
        if connections > self._pool_size:
            adapter = HTTPAdapter(pool_connections=connections, pool_maxsize=connections)
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)
            self._pool_size = connections

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()

    # --- requests ---------------------------------------------------------------------------------

    def url(self, path: str, store: str | None = None) -> str:
        """The full URL of `path` (`/V1/...` or `/async/bulk/V1/...`) in store view `store`."""
        return f"{self.base_url}/rest/{store or self.store_code}{path}"

    def get(self, path: str, params: dict | None = None, *, store: str | None = None) -> Any:
        """GET `path`; the decoded JSON answer."""
        return self.request("GET", path, params=params, store=store)

    def post(self, path: str, json: Any = None, *, store: str | None = None, idempotent: bool = False) -> Any:
        """POST `json` to `path`; `idempotent=True` when repeating it is harmless (an upsert), so it is retried."""
        return self.request("POST", path, json=json, store=store, idempotent=idempotent)

    def put(self, path: str, json: Any = None, *, store: str | None = None) -> Any:
        """PUT `json` to `path`."""
        return self.request("PUT", path, json=json, store=store)

    def delete(self, path: str, *, store: str | None = None) -> Any:
        """DELETE `path`."""
        return self.request("DELETE", path, store=store)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: Any = None,
        store: str | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one call with the retry policy; the decoded JSON of a 2xx answer (None for an empty body)."""
        method = method.upper()
        url = self.url(path, store)
        safe_to_repeat = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        attempt = 0
        waited_s = 0.0
        while True:
            attempt += 1
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    timeout=(self.connect_timeout_s, self.read_timeout_s),
                )
            except requests.RequestException as exc:
                reached = _may_have_reached_server(exc)
                problem = _describe_network_error(exc, self.connect_timeout_s, self.read_timeout_s)
                if reached and not safe_to_repeat:
                    raise MagentoTransientError(
                        f"{problem}; not repeated because the request may have been applied",
                        attempts=attempt,
                        may_have_applied=True,
                        method=method,
                        url=url,
                    ) from exc
                delay_s = self._backoff_s(attempt)
                if not self._may_wait(attempt, waited_s, delay_s):
                    raise MagentoTransientError(
                        f"{problem} (gave up after {attempt} attempts)",
                        attempts=attempt,
                        may_have_applied=reached,
                        method=method,
                        url=url,
                    ) from exc
                self._log_retry(method, path, None, problem, attempt, delay_s)
                time.sleep(delay_s)
                waited_s += delay_s
                continue

            status = response.status_code
            if 200 <= status < 300:
                return _decode(response, method, url)
            if status not in RETRY_STATUSES:
                raise _permanent_error(response, method, url)
            message = _error_message(response)
            if status not in NOT_APPLIED_STATUSES and not safe_to_repeat:
                raise MagentoTransientError(
                    f"Magento answered {status}: {message}; not repeated because the request may have been applied",
                    status=status,
                    attempts=attempt,
                    may_have_applied=True,
                    method=method,
                    url=url,
                )
            retry_after_s = _retry_after_s(response.headers.get("Retry-After"))
            delay_s = retry_after_s if retry_after_s is not None else self._backoff_s(attempt)
            if not self._may_wait(attempt, waited_s, delay_s):
                asked = f"; it asked to wait {retry_after_s:g} s" if retry_after_s is not None else ""
                raise MagentoTransientError(
                    f"Magento answered {status}: {message} (gave up after {attempt} attempts{asked})",
                    status=status,
                    attempts=attempt,
                    method=method,
                    url=url,
                )
            self._log_retry(method, path, status, message, attempt, delay_s)
            time.sleep(delay_s)
            waited_s += delay_s

    def _backoff_s(self, attempt: int) -> float:
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
        # "Equal jitter": at least half the step, so retries from many workers spread without collapsing to 0.
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not security

    def _may_wait(self, attempt: int, waited_s: float, delay_s: float) -> bool:
        return attempt <= self.max_retries and waited_s + delay_s <= self.max_total_wait_s

    @staticmethod
    def _log_retry(method: str, path: str, status: int | None, problem: str, attempt: int, delay_s: float) -> None:
        log.warning(
            "magento call failed, retrying",
            extra={
                "method": method,
                "path": path,
                "status": status,
                "problem": problem,
                "attempt": attempt,
                "delay_s": round(delay_s, 3),
            },
        )

    # --- lists --------------------------------------------------------------------------------------

    def search(self, path: str, criteria: SearchCriteria | None = None, *, store: str | None = None) -> dict:
        """One page of a list endpoint: `{"items": [...], "search_criteria": ..., "total_count": N}`."""
        criteria = criteria or SearchCriteria()
        return self.get(path, params=criteria.to_params(), store=store)

    def paginate(
        self,
        path: str,
        criteria: SearchCriteria | None = None,
        *,
        store: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict]:
        """Every item of a list endpoint, page by page, stopping at `total_count`.

        Magento answers a page past the end with the last page again rather than an empty one, so the
        iterator stops by counting pages against `total_count`, never by waiting for an empty page.
        """
        size = page_size or self.page_size
        criteria = (criteria or SearchCriteria()).copy()
        current = 1
        while True:
            result = self.search(path, criteria.page(size, current), store=store) or {}
            items = result.get("items") or []
            yield from items
            total = int(result.get("total_count") or 0)
            if not items or current >= math.ceil(total / size):
                return
            current += 1

    def send_in_batches(
        self,
        path: str,
        key: str,
        items: Iterable[Any],
        *,
        store: str | None = None,
        batch_size: int | None = None,
        idempotent: bool = True,
    ) -> list[Any]:
        """POST `items` to a list endpoint as `{key: [...]}` in batches; the answers, one per batch.

        The list endpoints (source items, base and special prices) are upserts, so they are retried.
        """
        return [
            self.post(path, {key: batch}, store=store, idempotent=idempotent)
            for batch in batches(items, batch_size or self.batch_size)
        ]


def client_for(settings: Settings, **overrides: Any) -> MagentoClient:
    """A `MagentoClient` for `settings` (a process keeps one as `Services.magento`)."""
    return MagentoClient.from_settings(settings, **overrides)


# --- answers --------------------------------------------------------------------------------------


def _decode(response: requests.Response, method: str, url: str) -> Any:
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        raise MagentoPermanentError(
            response.status_code,
            f"the answer is not JSON, so this is probably not Magento's REST API "
            f"(check MAGENTO_BASE_URL): {_excerpt(response.text)!r}",
            response.text,
            method=method,
            url=url,
        ) from None


def _error_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _error_message(response: requests.Response) -> str:
    """Magento's own message with its parameters filled in, or an excerpt of a non-Magento error page."""
    body = _error_body(response)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message = format_message(body["message"], body.get("parameters"))
        details = [
            format_message(error.get("message", ""), error.get("parameters"))
            for error in body.get("errors") or []
            if isinstance(error, dict)
        ]
        return "; ".join([message, *[d for d in details if d and d != message]])
    text = _excerpt(body if isinstance(body, str) else str(body))
    return f"{response.reason or 'error'}{': ' + text if text else ''}"


def _permanent_error(response: requests.Response, method: str, url: str) -> MagentoPermanentError:
    status = response.status_code
    cls = MagentoPermanentError
    if status in (401, 403):
        cls = MagentoAuthError
    elif status == 404:
        cls = MagentoNotFoundError
    return cls(status, _error_message(response), _error_body(response), method=method, url=url)


def _excerpt(text: str) -> str:
    return _SPACES.sub(" ", _TAGS.sub(" ", text or "")).strip()[:BODY_EXCERPT_CHARS]


def _retry_after_s(value: str | None) -> float | None:
    """Seconds asked for by a `Retry-After` header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _may_have_reached_server(exc: requests.RequestException) -> bool:
    """False only when the request certainly never left: no connection could be opened."""
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.ReadTimeout):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return not isinstance(reason, NewConnectionError)
    return True


def _describe_network_error(exc: requests.RequestException, connect_s: float, read_s: float) -> str:
    host = urlsplit(exc.request.url).netloc if exc.request is not None else "Magento"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS handshake with {host} failed: {exc}"
    if isinstance(exc, requests.ConnectTimeout):
        return f"could not connect to {host} within {connect_s:g} s"
    if isinstance(exc, requests.ReadTimeout):
        return f"{host} did not answer within {read_s:g} s"
    if isinstance(exc, requests.ConnectionError):
        return f"could not reach {host}: {exc}"
    return f"request to {host} failed: {exc}"
