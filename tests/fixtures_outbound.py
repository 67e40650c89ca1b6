"""Fixtures for the pushes to Magento: the service's app on a real POS database and Redis, talking to the
sandbox (official schema on), with jobs run through the real queue by an in-process worker.

- `outbound`: an `OutboundHarness` on SQLite; `outbound_db`: the same on SQLite, then PostgreSQL.
  `harness.start(**settings)` builds the app (again, with other settings); `harness.push(kind, ...)` starts a
  run with `start_sync` and works the queue; `harness.writes()` lists the write calls Magento received.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from rq import SimpleWorker

from app import create_app
from jobs.dispatch import start_sync
from syncapi import db, services
from syncapi.config import (
    DEV_MAGENTO_ACCESS_TOKEN,
    DEV_MAGENTO_ACCESS_TOKEN_SECRET,
    DEV_MAGENTO_CONSUMER_KEY,
    DEV_MAGENTO_CONSUMER_SECRET,
)
from syncapi.magento.client import client_for
from syncapi.pos import migrate
from syncapi.pos.seed import seed_demo
from syncapi.queues import QUEUE_OUTBOUND
from syncapi.state import get_run, upgrade
from tests.conftest import base_settings
from tests.fixtures_magento import FAST_RETRIES

__all__ = ["outbound", "outbound_db"]

#: Requests that read, whatever their method (the price-information endpoint is a POST).
READ_TEMPLATES = frozenset({"/V1/products/special-price-information"})


class OutboundHarness:
    """The service, the POS and the sandbox of one test."""

    def __init__(self, magento, redis, database_url: str, tmp_path):
        # The consumer runs bulk operations without its default pause: the tests wait less, nothing else changes.
        magento.configure(bulk_operation_delay_s=0.001)
        self.magento = magento
        self.redis = redis
        self.database_url = database_url
        self.tmp_path = tmp_path
        self.app = None

    def settings(self, **overrides) -> dict:
        """The app's settings: the test Redis, `database_url` for the POS and the state, the sandbox."""
        values = base_settings(
            self.tmp_path,
            POS_DATABASE_URL=self.database_url,
            MAGENTO_BASE_URL=self.magento.base_url,
            MAGENTO_AUTH="oauth1",
            MAGENTO_CONSUMER_KEY=DEV_MAGENTO_CONSUMER_KEY,
            MAGENTO_CONSUMER_SECRET=DEV_MAGENTO_CONSUMER_SECRET,
            MAGENTO_ACCESS_TOKEN=DEV_MAGENTO_ACCESS_TOKEN,
            MAGENTO_ACCESS_TOKEN_SECRET=DEV_MAGENTO_ACCESS_TOKEN_SECRET,
            MAGENTO_MAX_RETRIES=3,
            MAGENTO_READ_TIMEOUT=5,
            JOB_MAX_RETRIES=0,
        )
        values.update(overrides)
        return values

    def start(self, **overrides):
        """(Re)build the app with these settings; POS and state tables created; jobs use its services."""
        if self.app is not None:
            db.dispose_all()
        self.app = create_app(self.settings(**overrides))
        self.app.config["TESTING"] = True
        svc = self.app.extensions["services"]
        migrate.upgrade(svc.pos_engine)
        upgrade(svc.state_engine)
        # The real client, with millisecond backoffs so 503 bursts do not slow the tests down.
        svc.magento = client_for(svc.settings, **FAST_RETRIES)
        return self.app

    @property
    def svc(self):
        return self.app.extensions["services"]

    @property
    def pos(self):
        """The POS gateway the jobs use."""
        return self.svc.pos

    @property
    def engine(self):
        return self.svc.pos_engine

    def seed_demo(self):
        """Fill the POS with the demo shop."""
        return seed_demo(self.engine, self.svc.settings.pos_location_code)

    def push(self, kind: str, *, full: bool = False, keys: Iterable[str] | None = None, force: bool = False):
        """Start a manual run of `kind`, work the outbound queue until empty; the run as stored, errors included."""
        started = start_sync(self.svc, kind, "manual", full=full, keys=list(keys) if keys else None, force=force)
        self.work()
        return get_run(self.svc.state_engine, started.run_id)

    def work(self) -> None:
        """Run every queued outbound job in this process."""
        SimpleWorker([QUEUE_OUTBOUND], connection=self.svc.redis).work(burst=True)

    def writes(self, clear: bool = False) -> list[dict]:
        """The write calls Magento received (reads such as bulk status polls left out)."""
        entries = self.magento.requests(clear=clear)
        return [e for e in entries if e["method"] != "GET" and e["template"] not in READ_TEMPLATES]

    def close(self) -> None:
        if self.app is not None:
            self.app.extensions["services"].close()
        db.dispose_all()
        services._current = None


@pytest.fixture
def outbound(magento, redis, tmp_path):
    """The harness on a SQLite POS (started with the default settings)."""
    harness = OutboundHarness(magento, redis, f"sqlite:///{tmp_path / 'pos.db'}", tmp_path)
    harness.start()
    yield harness
    harness.close()


@pytest.fixture
def outbound_db(magento, redis, database_url, tmp_path):
    """The harness on each database backend (SQLite, then PostgreSQL)."""
    harness = OutboundHarness(magento, redis, database_url, tmp_path)
    harness.start()
    yield harness
    harness.close()
