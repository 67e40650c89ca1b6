"""The webhook signature: lowercase hex HMAC-SHA256 of the raw body, keyed with `WEBHOOK_SECRET`.

This is what Mage-OS Async Events puts in `x-magento-signature` (keyed with the subscription's
`verification_token`). Uppercase hex and a `sha256=` prefix (how many relays and gateways write HMAC headers)
are accepted as the same signature.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Magento-Signature"
SIGNATURE_PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The signature of `body` under `secret`, as the sender computes it."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class Verifier:
    """Checks signatures against one secret; the keyed HMAC state is built once, not per request."""

    def __init__(self, secret: str):
        if not secret:
            raise ValueError("a webhook secret is required")
        self._keyed = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)

    def expected(self, body: bytes) -> str:
        """The signature `body` must carry."""
        mac = self._keyed.copy()
        mac.update(body)
        return mac.hexdigest()

    def verify(self, body: bytes, header: str | None) -> bool:
        """True when `header` is the signature of `body`; compared in constant time."""
        if not header:
            return False
        given = header.strip()
        if given[: len(SIGNATURE_PREFIX)].lower() == SIGNATURE_PREFIX:
            given = given[len(SIGNATURE_PREFIX) :]
        # Bytes, not str: compare_digest refuses non-ASCII str, and a header is whatever the client sent.
        return hmac.compare_digest(self.expected(body).encode("ascii"), given.lower().encode("utf-8", "replace"))
