"""Adobe I/O Events digital signatures: RSA PKCS#1 v1.5 SHA-256 over the raw body, public keys fetched by path.

Adobe signs every delivery twice (`x-adobe-digital-signature-1` / `-2`, base64) and names where each public key
lives (`x-adobe-public-key1-path` / `-2-path`, relative to https://static.adobeioevents.com); either signature
verifying is enough, and keys may be cached for at most 24 hours
(https://developer.adobe.com/events/docs/guides/#security-considerations).

The paths come from the request, before it is authenticated, so only the form Adobe uses is fetched
(`/prod/keys/pub-key-<id>.pem`), a signature that cannot be one is refused without any fetch, unknown keys are
remembered as unknown for a while, and the cache holds a bounded number of keys.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNATURE_HEADERS = ("x-adobe-digital-signature-1", "x-adobe-digital-signature-2")
KEY_PATH_HEADERS = ("x-adobe-public-key1-path", "x-adobe-public-key2-path")

#: The only key paths fetched: Adobe's production key files.
KEY_PATH = re.compile(r"/prod/keys/pub-key-[A-Za-z0-9-]{1,64}\.pem")
#: Longest signature header read, in characters (a 4096-bit RSA signature is 684 base64 characters).
MAX_SIGNATURE_CHARS = 1024
#: Seconds a fetched key is used before it is fetched again (Adobe: cache for at most 24 hours).
KEY_TTL_S = 24 * 60 * 60
#: Seconds a key path that Adobe does not serve is remembered as unknown (no fetch per forged request).
UNKNOWN_KEY_TTL_S = 5 * 60
#: Keys (and unknown paths) kept per process; the oldest entry goes first.
MAX_CACHED_KEYS = 32
#: Seconds to connect to and to read from the key server: Adobe waits 10 s for the whole answer.
KEY_CONNECT_TIMEOUT_S = 2.0
KEY_READ_TIMEOUT_S = 3.0
#: Largest key file read, in bytes.
MAX_KEY_BYTES = 16 * 1024
#: Fetches of keys not in the cache allowed per process per `FETCH_WINDOW_S`: Adobe rotates keys rarely, so
#: more than this is someone sending made-up key paths, and fetching each would make every such request cost a
#: round trip to the key server. Beyond it a new key answers 503 (Adobe retries); cached keys are unaffected.
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


class KeyStore:
    """Fetches Adobe's public keys from `base_url` and keeps each for at most `KEY_TTL_S` seconds."""

    def __init__(self, base_url: str, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._lock = threading.Lock()
        self._keys: OrderedDict[str, tuple[float, rsa.RSAPublicKey | None]] = OrderedDict()
        self._recent_fetches: list[float] = []

    def get(self, path: str) -> rsa.RSAPublicKey | None:
        """The RSA key at `path`, or None when the key server has no such key; `KeyUnavailableError` on failure."""
        now = time.monotonic()
        with self._lock:
            cached = self._keys.get(path)
            if cached is not None and cached[0] > now:
                return cached[1]
            self._recent_fetches = [t for t in self._recent_fetches if t > now - FETCH_WINDOW_S]
            if len(self._recent_fetches) >= MAX_KEY_FETCHES:
                raise KeyUnavailableError(f"public key {path} not fetched: too many new keys asked for just now")
            self._recent_fetches.append(now)
        key = self._fetch(path)
        ttl = KEY_TTL_S if key is not None else UNKNOWN_KEY_TTL_S
        with self._lock:
            self._keys[path] = (now + ttl, key)
            self._keys.move_to_end(path)
            while len(self._keys) > MAX_CACHED_KEYS:
                self._keys.popitem(last=False)
        return key

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
            key = keys.get(path)
        except KeyUnavailableError as exc:
            unavailable = str(exc)
            continue
        if key is None or len(signature) != key.key_size // 8:
            continue
        try:
            key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return Verdict(True)
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
