"""Fixtures for code that talks to Magento: the sandbox as a real HTTP server, checking every request body
against Adobe's published 2.4.8 REST schema, and clients configured to reach it.

- `magento`: a `SandboxControl` of a running sandbox (one per test session, reset before each test); a test
  in which any request body violated the schema fails. A test that sends a bad body on purpose takes the
  violations with `magento.violations(clear=True)` and checks them.
- `magento_settings`: service `Settings` pointing at the sandbox with its OAuth credentials.
- `magento_client`: a `MagentoClient` on those settings with millisecond backoffs.
- `magento_client_factory(settings_overrides=None, **client_overrides)`: more clients, other settings.
- `signed(method, path, **kwargs)`: a raw OAuth-signed request to the sandbox's REST API.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from sandbox import Sandbox, SandboxControl
from sandbox.schema import DEFAULT_SCHEMA_PATH, SCHEMA_FILE_NAME, find_schema
from syncapi.config import (
    DEV_MAGENTO_ACCESS_TOKEN,
    DEV_MAGENTO_ACCESS_TOKEN_SECRET,
    DEV_MAGENTO_CONSUMER_KEY,
    DEV_MAGENTO_CONSUMER_SECRET,
    Settings,
)
from syncapi.magento.client import MagentoClient, auth_for, client_for

#: Where CI keeps Adobe's admin REST schema: beside the repository, never copied into it.
_BESIDE_CHECKOUT = Path(__file__).resolve().parents[2] / "shared" / "magento" / SCHEMA_FILE_NAME
#: Adobe's admin REST schema: `MAGENTO_SCHEMA_PATH`, else what `make schema` wrote, else beside the checkout.
MAGENTO_SCHEMA_PATH = find_schema(os.environ) or _BESIDE_CHECKOUT
#: Why the tests that validate request bodies against the schema cannot run here (None: they can).
SCHEMA_MISSING = (
    None
    if MAGENTO_SCHEMA_PATH.is_file()
    else "needs Magento's REST schema to validate request bodies "
    f"(not at {os.environ.get('MAGENTO_SCHEMA_PATH') or DEFAULT_SCHEMA_PATH}): "
    "run `make schema` or set MAGENTO_SCHEMA_PATH"
)
#: The fixtures that stand for "this test validates request bodies against the schema".
SCHEMA_FIXTURES = ("magento_sandbox", "magento_schema_path")
#: Client options for tests: real retries, millisecond waits.
FAST_RETRIES = {"backoff_base_s": 0.01, "backoff_max_s": 0.05, "max_total_wait_s": 5.0}


def magento_test_settings(base_url: str, **overrides) -> Settings:
    """Service settings that reach the sandbox at `base_url` with its default OAuth integration."""
    values = {
        "MAGENTO_BASE_URL": base_url,
        "MAGENTO_AUTH": "oauth1",
        "MAGENTO_CONSUMER_KEY": DEV_MAGENTO_CONSUMER_KEY,
        "MAGENTO_CONSUMER_SECRET": DEV_MAGENTO_CONSUMER_SECRET,
        "MAGENTO_ACCESS_TOKEN": DEV_MAGENTO_ACCESS_TOKEN,
        "MAGENTO_ACCESS_TOKEN_SECRET": DEV_MAGENTO_ACCESS_TOKEN_SECRET,
        "MAGENTO_CONNECT_TIMEOUT": 2,
        "MAGENTO_READ_TIMEOUT": 5,
        "MAGENTO_MAX_RETRIES": 3,
        "WEBHOOK_SECRET": "test-webhook-secret",
        "API_TOKEN": "test-api-token-0123456789",
    }
    values.update(overrides)
    return Settings.from_env(environ={}, overrides=values)


@pytest.fixture(scope="session")
def magento_schema_path() -> Path:
    """The schema file; a missing one fails the test (outside CI such tests are skipped before they start)."""
    if SCHEMA_MISSING:
        pytest.fail(f"Magento's REST schema is missing at {MAGENTO_SCHEMA_PATH} (run `make schema`)")
    return MAGENTO_SCHEMA_PATH


@pytest.fixture(scope="session")
def magento_sandbox(magento_schema_path):
    """One sandbox server for the session, validating request bodies against the official schema."""
    sandbox = Sandbox(schema_path=str(magento_schema_path))
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def magento(magento_sandbox):
    """The sandbox's controls, reset for this test; fails the test if a request body broke the schema."""
    control = SandboxControl(magento_sandbox.base_url)
    control.reset()
    yield control
    found = control.violations(clear=True)["violations"]
    control.session.close()
    if found:
        lines = [f"{v['request']}: {[e['where'] + ': ' + e['message'] for e in v['errors']]}" for v in found]
        pytest.fail("request bodies violated Magento's REST schema:\n" + "\n".join(lines))


@pytest.fixture
def magento_settings(magento) -> Settings:
    """Settings that reach the sandbox."""
    return magento_test_settings(magento.base_url)


@pytest.fixture
def magento_client_factory(magento):
    """Build clients for the sandbox with other settings (`{"MAGENTO_AUTH": "bearer"}`) or client options."""
    clients: list[MagentoClient] = []

    def make(settings_overrides: dict | None = None, **client_overrides) -> MagentoClient:
        settings = magento_test_settings(magento.base_url, **(settings_overrides or {}))
        client = client_for(settings, **{**FAST_RETRIES, **client_overrides})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def magento_client(magento_client_factory) -> MagentoClient:
    """A client on the sandbox with the service's default settings and millisecond backoffs."""
    return magento_client_factory()


@pytest.fixture
def signed(magento):
    """`signed(method, path, **kwargs)`: a raw OAuth-signed request to the sandbox's REST API."""
    auth = auth_for(magento_test_settings(magento.base_url))
    session = requests.Session()

    def call(method: str, path: str, **kwargs) -> requests.Response:
        return session.request(method, f"{magento.base_url}/rest{path}", auth=auth, timeout=5, **kwargs)

    yield call
    session.close()
