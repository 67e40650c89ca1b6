"""The real webhook senders, rebuilt for tests: each builds its deliveries byte for byte and header for header as
the sender's own source does, and applies its own retry policy to the answers it gets.

- Mage-OS Async Events (github.com/mage-os/mageos-async-events) 2.x, 3.x up to 3.2, 3.x from 3.3, and 4.x
  (CloudEvents): Guzzle 7 posts, a body from PHP's `json_encode`, `x-magento-signature` = hex HMAC-SHA256 of
  the body keyed with the subscription's verification token, retries at +1, 4, 9, 16, 25 s (`min(60, n²)`).
- Adobe I/O Events webhooks for Adobe Commerce events: one CloudEvent or a JSON array of up to 20, two RSA
  PKCS#1 v1.5 SHA-256 signatures with their public keys served by a key server (`KeyServer`, local, keys made
  here), retries after 1, 2, 4, 8 minutes then every 15 minutes for 24 hours.

Nothing here sleeps: a retry's delay is recorded in `Outcome.delays_s` and the retry is sent at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: Mage-OS Async Events: `system/async_events/max_deaths` (5) retries after the first attempt.
MAGEOS_MAX_RETRIES = 5
#: Adobe I/O Events: seconds before each retry (1, 2, 4, 8 min, then every 15 min for 24 h).
ADOBE_RETRY_DELAYS_S = (60, 120, 240, 480, *([900] * ((24 * 3600 - 900) // 900)))

#: Every event mageos-common-async-events declares (etc/async_events.xml), plus the misspelt name its order
#: observer publishes instead of `sales.order.unholded` (Observer/SalesOrderSaveAfterObserver.php).
COMMON_MODULE_EVENTS = (
    "customer.created",
    "customer.updated",
    "customer.login",
    "customer.address.created",
    "customer.address.updated",
    "sales.order.created",
    "sales.order.updated",
    "sales.order.paid",
    "sales.order.shipped",
    "sales.order.holded",
    "sales.order.unholded",
    "sales.unholdedcreated",
    "sales.order.cancelled",
    "sales.shipment.created",
    "sales.invoice.created",
    "sales.invoice.paid",
    "sales.creditmemo.created",
    "catalog.product.created",
    "catalog.product.updated",
    "cms.page.created",
    "cms.page.updated",
    "cms.block.created",
    "cms.block.updated",
)


def php_json_encode(value) -> bytes:
    """`value` as PHP's `json_encode($value)` with no flags writes it: compact, `/` as `\\/`, non-ASCII as
    `\\u00fc`, whole floats without `.0` (72.0 -> 72), exponents as `1.0e-5`, an empty array as `[]`."""
    return _php(value).encode("ascii")


def _php(value) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        text = repr(value)
        if "e" in text:
            mantissa, exponent = text.split("e")
            mantissa = mantissa if "." in mantissa else mantissa + ".0"
            power = int(exponent)
            text = f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"
        return text
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True).replace("/", "\\/")
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_php(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "[]"  # PHP cannot tell an empty map from an empty list
        return "{" + ",".join(f"{_php(str(key))}:{_php(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"no PHP JSON form for {type(value).__name__}")


@dataclass(frozen=True)
class Attempt:
    """One HTTP request as a sender puts it on the wire."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    json: object


#: Sends one attempt somewhere (the Flask test client, or real HTTP to gunicorn) and returns the answer.
Transport = Callable[[Attempt], Answer]


@dataclass
class Outcome:
    """What a sender did with one event: every answer it got, the delays it waited, and its verdict."""

    answers: list[Answer] = field(default_factory=list)
    delays_s: list[float] = field(default_factory=list)
    verdict: str = ""
    """`delivered`, `dead-lettered` (Mage-OS 2.x/3.x), `dropped` (not retried, or Adobe after 24 h)."""


class MageOs:
    """Mage-OS Async Events of one major line: `2.x`, `3.2` (3.x up to 3.2.0), `3.3` (3.x from 3.3.0) or `4.x`."""

    VERSIONS = ("2.x", "3.2", "3.3", "4.x")

    def __init__(self, version: str, verification_token: str, host: str = "localhost"):
        assert version in self.VERSIONS
        self.version = version
        self.token = verification_token
        self.host = host

    def __repr__(self) -> str:
        return f"MageOs({self.version})"

    @property
    def cloudevents(self) -> bool:
        return self.version == "4.x"

    def recipient_url(self, event: str) -> str:
        """The subscription's `recipient_url` as docs/magento-setup.md tells the user to create it."""
        return "/webhooks/magento" if self.cloudevents else f"/webhooks/magento/{event}"

    def build(self, event: str, data: dict, recipient_url: str | None = None, event_id: str | None = None) -> Attempt:
        """The request for one subscription of `event` carrying the service output `data`."""
        if self.cloudevents:
            # EventDispatcher: new CloudEventImmutable($uuid, (string) $storeId, $eventName, $output,
            # 'application/json'), store id unknown to the common events -> "0"; no time, subject or dataschema.
            document = {
                "specversion": "1.0",
                "id": event_id or str(uuid.uuid4()),
                "source": "0",
                "type": event,
                "datacontenttype": "application/json",
                "data": data,
            }
        else:
            document = {"data": data}
        body = php_json_encode(document)
        headers = {
            "Host": self.host,
            "User-Agent": "GuzzleHttp/7",
            "Accept": "*/*",
            "x-magento-signature": hmac.new(self.token.encode(), body, hashlib.sha256).hexdigest(),
        }
        if not self.cloudevents:
            headers["Content-Type"] = "application/json"  # Guzzle's `json` option; 4.x sends a raw `body`
        return Attempt(recipient_url or self.recipient_url(event), headers, body)

    def retries(self, answer: Answer) -> bool:
        """Whether this version sends the event again after `answer` (there was an answer: no timeout)."""
        if 200 <= answer.status < 300:
            return False
        if self.version == "4.x":
            return answer.status >= 500 or answer.status == 429
        return True  # 2.x and 3.x: every 4xx and 5xx answer

    def delay_s(self, retry: int, answer: Answer) -> float:
        """Seconds before retry number `retry` (1-based): min(60, n²), or a numeric Retry-After from 3.3 on."""
        retry_after = answer.headers.get("retry-after", "")
        if self.version in ("3.3", "4.x") and retry_after.isdigit():
            return float(retry_after)
        return float(min(60, retry**2))

    def send(self, transport: Transport, attempt: Attempt) -> Outcome:
        """Deliver `attempt` with this version's retries; the same bytes every time."""
        outcome = Outcome()
        for retry in range(MAGEOS_MAX_RETRIES + 1):
            answer = transport(attempt)
            outcome.answers.append(answer)
            if 200 <= answer.status < 300:
                outcome.verdict = "delivered"
                return outcome
            if not self.retries(answer):
                outcome.verdict = "dropped"
                return outcome
            if retry < MAGEOS_MAX_RETRIES:
                outcome.delays_s.append(self.delay_s(retry + 1, answer))
        # 4.x keeps retrying only what it marked retryable; every version dead-letters after the last retry.
        outcome.verdict = "dead-lettered"
        return outcome


class KeyServer:
    """A local stand-in for https://static.adobeioevents.com: serves public keys at /prod/keys/pub-key-<id>.pem,
    counts each fetch, and can be told to fail (`failing = 503`)."""

    def __init__(self):
        self.keys: dict[str, bytes] = {}
        self.fetches: list[str] = []
        self.failing: int | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches.append(self.path)
                if server.failing:
                    self.send_response(server.failing)
                    self.end_headers()
                    return
                pem = server.keys.get(self.path)
                self.send_response(200 if pem else 404)
                self.send_header("Content-Type", "application/x-pem-file")
                self.end_headers()
                if pem:
                    self.wfile.write(pem)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def publish(self, key: rsa.RSAPrivateKey) -> str:
        """Serve the public half of `key`; the relative path Adobe names in its header."""
        path = f"/prod/keys/pub-key-{uuid.uuid4()}.pem"
        self.keys[path] = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return path

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def new_rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


class AdobeIo:
    """Adobe I/O Events delivering Adobe Commerce events to one webhook registration (single or batch)."""

    def __init__(self, keys: KeyServer, client_id: str, client_secret: str = "adobe-client-secret", batch=False):  # noqa: S107
        self.client_id = client_id
        self.client_secret = client_secret
        self.batch = batch
        self.provider = str(uuid.uuid4())
        self.private = [new_rsa_key(), new_rsa_key()]
        self.key_paths = [keys.publish(key) for key in self.private]

    def __repr__(self) -> str:
        return f"AdobeIo({'batch' if self.batch else 'single'})"

    def event(self, observer_event: str, value: dict, event_id: str | None = None) -> dict:
        """One Commerce event as Adobe I/O delivers it: `data.value` holds the subscribed fields as strings."""
        return {
            "specversion": "1.0",
            "id": event_id or str(uuid.uuid4()),
            "source": f"urn:uuid:{self.provider}",
            "type": f"com.adobe.commerce.observer.{observer_event}",
            "datacontenttype": "application/json",
            "time": "2026-11-22T10:00:00.000Z",
            "eventid": str(uuid.uuid4()),
            "recipientclientid": self.client_id,
            "data": {
                "key": str(uuid.uuid4()),
                "value": value,
                "source": "shop.example.com.default",
                "_metadata": {"commerceEdition": "Adobe Commerce", "eventsClientVersion": "1.12.0"},
            },
        }

    def build(self, events: list[dict], path: str = "/webhooks/magento", signers=(0, 1)) -> Attempt:
        """The request carrying `events` (one, or a batch), signed with the keys numbered in `signers`."""
        document = events if self.batch else events[0]
        # Adobe's serializer is not documented; raw UTF-8 here, so only a check of the raw bytes passes.
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Adobe/1.0",
            "Accept-Encoding": "deflate,compress,identity",
            "x-adobe-delivery-id": str(uuid.uuid4()),
            "x-adobe-provider": self.provider,
            "x-request-id": str(uuid.uuid4()),
            "x-adobe-signature": base64.b64encode(
                hmac.new(self.client_secret.encode(), body, hashlib.sha256).digest()
            ).decode(),
        }
        if not self.batch:
            headers["x-adobe-event-code"] = events[0]["type"]
            headers["x-adobe-event-id"] = events[0]["eventid"]
        for number in (1, 2):
            key = self.private[number - 1]
            signature = key.sign(body, padding.PKCS1v15(), hashes.SHA256()) if number - 1 in signers else b"x" * 256
            headers[f"x-adobe-digital-signature-{number}"] = base64.b64encode(signature).decode()
            headers[f"x-adobe-public-key{number}-path"] = self.key_paths[number - 1]
        return Attempt(path, headers, body)

    @staticmethod
    def retries(answer: Answer) -> bool:
        """429 and 5xx except 505 are retried; every other answer ends the event (a 2xx delivers it)."""
        return answer.status == 429 or (500 <= answer.status <= 599 and answer.status != 505)

    def send(self, transport: Transport, attempt: Attempt, until: Callable[[int], None] | None = None) -> Outcome:
        """Deliver `attempt` with Adobe's retries; `until(retry)` runs before each retry (a test's clock)."""
        outcome = Outcome()
        for retry, delay in enumerate((None, *ADOBE_RETRY_DELAYS_S)):
            if delay is not None:
                outcome.delays_s.append(delay)
                if until:
                    until(retry)
            answer = transport(attempt)
            outcome.answers.append(answer)
            if 200 <= answer.status < 300:
                outcome.verdict = "delivered"
                return outcome
            if not self.retries(answer):
                outcome.verdict = "dropped"
                return outcome
        outcome.verdict = "dropped"
        return outcome


def flask_transport(client) -> Transport:
    """Send attempts through the Flask test client, headers and bytes as given (no Content-Type added)."""

    def send(attempt: Attempt) -> Answer:
        headers = {k: v for k, v in attempt.headers.items() if k.lower() != "content-type"}
        content_type = next((v for k, v in attempt.headers.items() if k.lower() == "content-type"), None)
        response = client.post(attempt.path, data=attempt.body, headers=headers, content_type=content_type)
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.get_json())

    return send


def http_transport(base_url: str, session) -> Transport:
    """Send attempts over real HTTP to `base_url` with exactly the sender's headers."""

    def send(attempt: Attempt) -> Answer:
        headers = {"Accept-Encoding": None, "Connection": None, **attempt.headers}
        headers.pop("Host", None)
        response = session.post(base_url + attempt.path, data=attempt.body, headers=headers, timeout=15)
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.json())

    return send
