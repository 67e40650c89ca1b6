"""Authentication the way a Magento 2.4 store checks an integration's requests.

OAuth 1.0a signatures (HMAC-SHA256 or HMAC-SHA1) are verified with oauthlib's `ResourceEndpoint` against the
configured consumer and access token, over the URL exactly as the client sent it. A bearer token is accepted
only when the store allows integration tokens as bearer tokens (2.4.4+: off by default).
"""

from __future__ import annotations

import threading
import time

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, RequestValidator, ResourceEndpoint

from sandbox.state import Config

#: Seconds a timestamp may differ from the sandbox's clock (oauthlib's default lifetime).
TIMESTAMP_LIFETIME_S = 600
#: Nonces remembered to refuse replays; older ones are forgotten once the set grows past this.
MAX_NONCES = 100_000


class _IntegrationValidator(RequestValidator):
    """Knows one integration: its consumer key/secret and its access token/secret."""

    def __init__(self, config: Config, nonces: set, lock: threading.Lock):
        super().__init__()
        self.config = config
        self.nonces = nonces
        self.nonce_lock = lock

    @property
    def allowed_signature_methods(self):
        return (SIGNATURE_HMAC_SHA256, SIGNATURE_HMAC_SHA1)

    @property
    def enforce_ssl(self):
        return False

    @property
    def dummy_client(self):
        return "dummy-client"

    @property
    def dummy_access_token(self):
        return "dummy-access-token"

    # Magento's keys are 32 characters of [a-z0-9]; the sandbox's are readable words with dashes.
    def check_client_key(self, client_key):
        return bool(client_key) and len(client_key) <= 255

    def check_access_token(self, request_token):
        return bool(request_token) and len(request_token) <= 255

    def check_nonce(self, nonce):
        return bool(nonce) and len(nonce) <= 255

    def validate_client_key(self, client_key, request):
        return client_key == self.config.consumer_key

    def validate_access_token(self, client_key, token, request):
        return token == self.config.access_token

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True

    def get_client_secret(self, client_key, request):
        return self.config.consumer_secret if client_key == self.config.consumer_key else "dummy-secret"

    def get_access_token_secret(self, client_key, token, request):
        return self.config.access_token_secret if token == self.config.access_token else "dummy-secret"

    def validate_timestamp_and_nonce(
        self, client_key, timestamp, nonce, request, request_token=None, access_token=None
    ):
        key = (client_key, timestamp, nonce)
        with self.nonce_lock:
            if key in self.nonces:
                return False
            if len(self.nonces) >= MAX_NONCES:
                horizon = str(int(time.time()) - TIMESTAMP_LIFETIME_S)
                stale = {k for k in self.nonces if k[1] < horizon}
                self.nonces.difference_update(stale or set(list(self.nonces)[: MAX_NONCES // 2]))
            self.nonces.add(key)
        return True


class Authenticator:
    """Decides whether a request carries the integration's credentials."""

    def __init__(self):
        self.nonce_lock = threading.Lock()

    def authenticated(
        self, config: Config, nonces: set, uri: str, method: str, headers: dict, body: str | None = None
    ) -> bool:
        """True when `headers` hold a valid OAuth 1.0a signature of `method uri` (and of a form `body`, which
        OAuth signs too), or an allowed bearer token."""
        authorization = headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            return config.allow_bearer and authorization[len("Bearer ") :].strip() == config.access_token
        if not authorization.startswith("OAuth "):
            return False
        endpoint = ResourceEndpoint(_IntegrationValidator(config, nonces, self.nonce_lock))
        valid, _request = endpoint.validate_protected_resource_request(
            uri, http_method=method, body=body, headers=headers
        )
        return valid
