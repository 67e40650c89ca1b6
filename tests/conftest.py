"""Shared fixtures: a real Redis (spare database, flushed around each test), the app, its client, and the
database URLs to run POS and state code against (SQLite always; PostgreSQL when it answers, required in CI)."""

from __future__ import annotations

import os

import pytest
import redis as redis_lib
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app import create_app
from syncapi import db, services

#: The spare Redis database the tests own and flush; never the one a running service uses.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://localhost:6379/15")
TEST_POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/syncapi_test"
)
TEST_WEBHOOK_SECRET = "test-webhook-secret-0123456789"
TEST_API_TOKEN = "test-api-token-0123456789"
IN_CI = os.environ.get("CI") == "true"


def _postgres_answers() -> str | None:
    try:
        engine = create_engine(TEST_POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except OperationalError as exc:
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL URL; skips the test when no server answers, except under CI where it fails."""
    problem = _postgres_answers()
    if problem:
        message = f"PostgreSQL does not answer at {TEST_POSTGRES_URL}: {problem}"
        if IN_CI:
            pytest.fail(message + " (required under CI=true)")
        pytest.skip(message)
    return TEST_POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A database URL for each backend the POS code must work on; the PostgreSQL schema is emptied first."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pos.db'}"
    url = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def redis():
    """A real Redis connection on the spare test database, flushed before and after the test."""
    connection = redis_lib.Redis.from_url(TEST_REDIS_URL)
    try:
        connection.ping()
    except redis_lib.ConnectionError as exc:
        pytest.fail(f"Redis does not answer at {TEST_REDIS_URL}: {exc} (run scripts/ensure-redis.sh)")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


def base_settings(tmp_path, **overrides) -> dict:
    """Settings for a test app: the spare Redis database, SQLite in `tmp_path`, test secrets."""
    settings = {
        "REDIS_URL": TEST_REDIS_URL,
        "POS_DATABASE_URL": f"sqlite:///{tmp_path / 'pos.db'}",
        "MAGENTO_BASE_URL": "http://127.0.0.1:9",
        "MAGENTO_AUTH": "bearer",
        "MAGENTO_ACCESS_TOKEN": "test-magento-token",
        "WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
        "API_TOKEN": TEST_API_TOKEN,
        "JOB_MAX_RETRIES": 0,
    }
    settings.update(overrides)
    return settings


@pytest.fixture
def app_settings(tmp_path) -> dict:
    """The overrides `app` is built with; a test or fixture may change them before asking for `app`."""
    return base_settings(tmp_path)


@pytest.fixture
def app(redis, app_settings):
    """The service's app on the test Redis database and a per-test SQLite POS."""
    application = create_app(app_settings)
    application.config["TESTING"] = True
    yield application
    db.dispose_all()
    services._current = None


@pytest.fixture
def client(app):
    return app.test_client()


from tests.fixtures_magento import MAGENTO_SCHEMA_PATH, SCHEMA_FIXTURES, SCHEMA_MISSING  # noqa: E402


def pytest_report_header(config) -> str:
    if SCHEMA_MISSING:
        return f"Magento REST schema: none found, tests that validate request bodies are skipped: {SCHEMA_MISSING}"
    return f"Magento REST schema: {MAGENTO_SCHEMA_PATH}"


def pytest_collection_modifyitems(config, items) -> None:
    """Mark the tests that validate request bodies against Magento's schema (`-m magento_schema` picks them)."""
    for item in items:
        if any(name in item.fixturenames for name in SCHEMA_FIXTURES):
            item.add_marker(pytest.mark.magento_schema)


def pytest_runtest_setup(item) -> None:
    # Skipped here rather than by a collection-time mark so `-ra` sums them up on one line. Under CI the
    # schema is required: the fixtures fail instead.
    if SCHEMA_MISSING and not IN_CI and item.get_closest_marker("magento_schema"):
        pytest.skip(SCHEMA_MISSING)


from tests.fixtures_inbound import *  # noqa: E402, F403
from tests.fixtures_magento import *  # noqa: E402, F403
from tests.fixtures_outbound import *  # noqa: E402, F403
from tests.fixtures_pos import *  # noqa: E402, F403
from tests.fixtures_reliability import *  # noqa: E402, F403
from tests.fixtures_state import *  # noqa: E402, F403
from tests.fixtures_webhooks import *  # noqa: E402, F403
