"""Adobe I/O Events digital signatures: RSA PKCS#1 v1.5 SHA-256 over the raw body, public keys fetched by path.

Adobe signs every delivery twice (`x-adobe-digital-signature-1` / `-2`, base64) and names where each public key
lives (`x-adobe-public-key1-path` / `-2-path`, relative to https://static.adobeioevents.com); either signature
verifying is enough, and keys should be fetched again after at most 24 hours
(https://developer.adobe.com/events/docs/guides/#security-considerations).

The paths come from the request, before it is authenticated, so only the form Adobe uses is fetched
(`/prod/keys/pub-key-<id>.pem`) and a signature that cannot be one is refused without any fetch. Keys that have
verified a signature are kept apart from everything else (unknown paths, keys that verified nothing yet), so
unsigned requests naming made-up paths can neither push them out nor use up the fetch budget they rely on
(docs/magento-setup.md#adobe-commerce-adobe-io-events, where it says how the signatures are checked).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

log = logging.getLogger(__name__)

SIGNATURE_HEADERS = ("x-adobe-digital-signature-1", "x-adobe-digital-signature-2")
KEY_PATH_HEADERS = ("x-adobe-public-key1-path", "x-adobe-public-key2-path")

#: The only key paths fetched: Adobe's production key files.
KEY_PATH = re.compile(r"/prod/keys/pub-key-[A-Za-z0-9-]{1,64}\.pem")
#: Longest signature header read, in characters (a 4096-bit RSA signature is 684 base64 characters).
MAX_SIGNATURE_CHARS = 1024
#: Age in seconds after which a key that verifies is fetched again (Adobe: cache keys for at most 24 hours). Until
#: the key server answers, the key stays in use: Adobe retries refused deliveries for 24 hours only.
KEY_TTL_S = 24 * 60 * 60
#: Seconds between two attempts at fetching such a key again while the key server fails.
KEY_REFETCH_INTERVAL_S = 60
#: Seconds a key path that Adobe does not serve is remembered as unknown (no fetch per forged request).
UNKNOWN_KEY_TTL_S = 5 * 60
#: Keys that have verified a signature, kept per process; the least recently used goes first. Only a
#: signature Adobe made can add one, and Adobe signs with two keys at a time.
MAX_VERIFIED_KEYS = 16
#: Other paths kept per process (unknown, or a key that has verified nothing yet); the oldest goes first.
MAX_UNVERIFIED_KEYS = 32
#: Seconds to connect to and to read from the key server: Adobe waits 10 s for the whole answer.
KEY_CONNECT_TIMEOUT_S = 2.0
KEY_READ_TIMEOUT_S = 3.0
#: Largest key file read, in bytes.
MAX_KEY_BYTES = 16 * 1024
#: Fetches of key paths never seen verifying allowed per process per `FETCH_WINDOW_S`: Adobe rotates keys rarely,
#: so more than this is someone sending made-up key paths, and fetching each would make every such request cost
#: a round trip to the key server. Beyond it a new path answers 503 (Adobe retries); keys that have verified a
#: signature are unaffected, their own refetches included.
MAX_KEY_FETCHES = 10
FETCH_WINDOW_S = 60.0


class KeyUnavailableError(Exception):
    """A public key could not be fetched just now (network, timeout, 5xx): the sender should retry."""


@dataclass(frozen=True)
class Verdict:
    """What the signature check found: `valid`, or why not; `retry` when a key could not be fetched."""

    valid: bool
    message: str = ""
    retry: bool = False


@dataclass
class _Trusted:
    """A key that has verified a signature: when it was fetched, and when a refetch was last tried."""

    key: rsa.RSAPublicKey
    fetched_at: float
    refetch_tried_at: float | None = None


class KeyStore:
    """Fetches Adobe's public keys from `base_url`; keeps those that verify apart, fetching them again daily.

    `clock` gives the time in seconds (monotonic); tests move it to age the keys.
    """

    def __init__(
        self, base_url: str, session: requests.Session | None = None, clock: Callable[[], float] = time.monotonic
    ):
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self._session = session or requests.Session()
        self._lock = threading.Lock()
        self._trusted: OrderedDict[str, _Trusted] = OrderedDict()
        # path -> (fetched at, forgotten at, the key or None when the key server has none)
        self._untrusted: OrderedDict[str, tuple[float, float, rsa.RSAPublicKey | None]] = OrderedDict()
        self._recent_fetches: list[float] = []

    def verifies(self, path: str, signature: bytes, body: bytes) -> bool:
        """Whether the key at `path` verifies `signature` of `body`; `KeyUnavailableError` when it cannot be had."""
        key, fetched_at = self._key(path)
        if key is None or len(signature) != key.key_size // 8:
            return False
        try:
            key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        self._trust(path, key, fetched_at)
        return True

    def _key(self, path: str) -> tuple[rsa.RSAPublicKey | None, float]:
        now = self.clock()
        with self._lock:
            trusted = self._trusted.get(path)
            if trusted is not None:
                if now - trusted.fetched_at < KEY_TTL_S or (
                    trusted.refetch_tried_at is not None and now - trusted.refetch_tried_at < KEY_REFETCH_INTERVAL_S
                ):
                    return trusted.key, trusted.fetched_at
                trusted.refetch_tried_at = now  # one refetch at a time; the others go on with the key meanwhile
            else:
                cached = self._untrusted.get(path)
                if cached is not None and cached[1] > now:
                    return cached[2], cached[0]
                self._recent_fetches = [t for t in self._recent_fetches if t > now - FETCH_WINDOW_S]
                if len(self._recent_fetches) >= MAX_KEY_FETCHES:
                    raise KeyUnavailableError(f"public key {path} not fetched: too many new keys asked for just now")
                self._recent_fetches.append(now)
        if trusted is not None:
            return self._refetched(path, trusted, now)
        key = self._fetch(path)
        with self._lock:
            self._remember_untrusted(path, key, now)
        return key, now

    def _refetched(self, path: str, trusted: _Trusted, now: float) -> tuple[rsa.RSAPublicKey | None, float]:
        """`path`'s key fetched again; the old one while the key server fails, none once it no longer serves it."""
        try:
            key = self._fetch(path)
        except KeyUnavailableError as exc:
            log.warning(
                "Adobe public key kept in use: it could not be fetched again",
                extra={"key_path": path, "reason": str(exc)},
            )
            return trusted.key, trusted.fetched_at
        with self._lock:
            if key is None:
                # Adobe withdrew it (the reason keys are fetched again): signatures made with it no longer count.
                if self._trusted.get(path) is trusted:
                    del self._trusted[path]
                self._remember_untrusted(path, None, now)
                return None, now
            if self._trusted.get(path) is trusted:
                self._trusted[path] = _Trusted(key, now)
        return key, now

    def _trust(self, path: str, key: rsa.RSAPublicKey, fetched_at: float) -> None:
        with self._lock:
            trusted = self._trusted.get(path)
            if trusted is None or trusted.key is not key:
                if trusted is not None and trusted.fetched_at > fetched_at:
                    return  # fetched again meanwhile: the newer copy stays
                self._trusted[path] = _Trusted(key, fetched_at)
                self._untrusted.pop(path, None)
            self._trusted.move_to_end(path)
            while len(self._trusted) > MAX_VERIFIED_KEYS:
                self._trusted.popitem(last=False)

    def _remember_untrusted(self, path: str, key: rsa.RSAPublicKey | None, now: float) -> None:
        if path in self._trusted:
            return  # verified by another request meanwhile
        ttl = KEY_TTL_S if key is not None else UNKNOWN_KEY_TTL_S
        self._untrusted[path] = (now, now + ttl, key)
        self._untrusted.move_to_end(path)
        while len(self._untrusted) > MAX_UNVERIFIED_KEYS:
            self._untrusted.popitem(last=False)

    def _fetch(self, path: str) -> rsa.RSAPublicKey | None:
        try:
            response = self._session.get(
                self.base_url + path, timeout=(KEY_CONNECT_TIMEOUT_S, KEY_READ_TIMEOUT_S), allow_redirects=False
            )
        except requests.RequestException as exc:
            raise KeyUnavailableError(f"public key {path} could not be fetched: {type(exc).__name__}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise KeyUnavailableError(f"public key {path} could not be fetched: HTTP {response.status_code}")
        if response.status_code != 200 or len(response.content) > MAX_KEY_BYTES:
            return None
        try:
            key = serialization.load_pem_public_key(response.content)
        except ValueError:
            return None
        return key if isinstance(key, rsa.RSAPublicKey) else None


def verify(body: bytes, headers, keys: KeyStore) -> Verdict:
    """Check Adobe's digital signatures of `body` given the request `headers` (either valid is enough)."""
    unavailable = None
    offered = False
    for signature_header, path_header in zip(SIGNATURE_HEADERS, KEY_PATH_HEADERS, strict=True):
        signature = _signature(headers.get(signature_header))
        path = headers.get(path_header) or ""
        if signature is None or not KEY_PATH.fullmatch(path):
            continue
        offered = True
        try:
            if keys.verifies(path, signature, body):
                return Verdict(True)
        except KeyUnavailableError as exc:
            unavailable = str(exc)
    if unavailable:
        return Verdict(False, f"{unavailable}; send it again shortly", retry=True)
    if not offered:
        return Verdict(
            False,
            "missing Adobe I/O Events signature: x-adobe-digital-signature-1/-2 (base64) with "
            "x-adobe-public-key1-path/-2-path of the form /prod/keys/pub-key-<id>.pem",
        )
    return Verdict(False, "wrong x-adobe-digital-signature-1/-2: neither verifies the exact body bytes")


def _signature(header: str | None) -> bytes | None:
    if not header or len(header) > MAX_SIGNATURE_CHARS:
        return None
    try:
        return base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
