"""Fixtures for Magento → POS: the app wired to the sandbox (official schema on), a migrated POS and state
database on each backend, the real Redis, and a harness that sends signed webhooks, runs a real rq worker and
reads what landed in the POS and in the links."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from flask import Flask
from rq import SimpleWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from app import create_app
from sandbox import SandboxControl
from syncapi import db, services
from syncapi.config import (
    DEV_MAGENTO_ACCESS_TOKEN,
    DEV_MAGENTO_ACCESS_TOKEN_SECRET,
    DEV_MAGENTO_CONSUMER_KEY,
    DEV_MAGENTO_CONSUMER_SECRET,
)
from syncapi.pos import migrate as pos_migrate
from syncapi.pos import models as m
from syncapi.pos.sql import SqlPosGateway
from syncapi.queues import QUEUE_INBOUND
from syncapi.state import upgrade as state_upgrade
from tests.conftest import TEST_API_TOKEN, base_settings
from tests.fixtures_pos import add_product, on_hand
from tests.fixtures_webhooks import cloud_event, post_signed

__all__ = ["inbound", "inbound_settings"]

API_AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
#: The webhook event that queues each entity's import, and the key of its id in the event's data.
EVENTS = {
    "order": ("sales.order.updated", "entity_id"),
    "invoice": ("sales.invoice.created", "entity_id"),
    "creditmemo": ("sales.creditmemo.created", "entity_id"),
    "customer": ("customer.updated", "id"),
    "category": ("catalog.category.created", "id"),
}


def inbound_test_settings(tmp_path, database_url: str, magento_url: str, **overrides) -> dict:
    """App settings reaching the sandbox with its OAuth integration: real retries, short waits."""
    return base_settings(
        tmp_path,
        POS_DATABASE_URL=database_url,
        MAGENTO_BASE_URL=magento_url,
        MAGENTO_AUTH="oauth1",
        MAGENTO_CONSUMER_KEY=DEV_MAGENTO_CONSUMER_KEY,
        MAGENTO_CONSUMER_SECRET=DEV_MAGENTO_CONSUMER_SECRET,
        MAGENTO_ACCESS_TOKEN=DEV_MAGENTO_ACCESS_TOKEN,
        MAGENTO_ACCESS_TOKEN_SECRET=DEV_MAGENTO_ACCESS_TOKEN_SECRET,
        MAGENTO_CONNECT_TIMEOUT=2,
        MAGENTO_READ_TIMEOUT=5,
        MAGENTO_MAX_RETRIES=1,
        JOB_MAX_RETRIES=2,
        **overrides,
    )


@dataclass
class Inbound:
    """The service wired to the sandbox, and what a test does with it."""

    app: Flask
    magento: SandboxControl
    redis: object
    pos: SqlPosGateway

    @property
    def svc(self) -> services.Services:
        return self.app.extensions["services"]

    # --- Magento's side ------------------------------------------------------------------------------------

    def deliver(self, entity: str, magento_id: int, client=None, **data):
        """POST a signed CloudEvent announcing `entity` `magento_id` to /webhooks/magento; the response."""
        event, key = EVENTS[entity]
        body = cloud_event(event, {key: magento_id, **data}, delivery_id=f"delivery-{entity}-{magento_id}")
        return post_signed(client or self.app.test_client(), body)

    def seed_order(self, entity_id: int, lines: list[dict], **options) -> dict:
        """Seed an order in the sandbox (built from `lines`, see `sandbox.seed.order`); the stored order."""
        self.magento.seed(orders=[{"entity_id": entity_id, "lines": lines, **options}])
        return self.magento_record("orders", entity_id)

    def magento_record(self, section: str, entity_id: int) -> dict:
        """One record as the sandbox holds it."""
        key = "id" if section == "customers" else "entity_id"
        return next(r for r in self.magento.state(section) if r[key] == entity_id)

    # --- the worker ----------------------------------------------------------------------------------------

    def work(self) -> None:
        """Run a real rq worker over the inbound queue until it is empty."""
        SimpleWorker([QUEUE_INBOUND], connection=self.redis).work(burst=True)

    def run_due_retries(self) -> list[str]:
        """Be the rq scheduler with the backoff over: queue every job scheduled for a retry; their ids."""
        registry = ScheduledJobRegistry(QUEUE_INBOUND, connection=self.redis)
        ids = registry.get_job_ids()
        for job_id in ids:
            job = Job.fetch(job_id, connection=self.redis)
            registry.remove(job)
            self.svc.queues[QUEUE_INBOUND].enqueue_job(job)
        return ids

    # --- the POS and the links -----------------------------------------------------------------------------

    def add_product(self, sku: str, on_hand: int = 10, price: str = "10.00") -> None:
        add_product(self.pos.engine, sku, on_hand=on_hand, price=price)

    def on_hand(self, sku: str) -> Decimal | None:
        return on_hand(self.pos.engine, sku)

    def count(self, model) -> int:
        with self.pos.engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(model))

    def customers(self) -> list:
        with self.pos.engine.connect() as connection:
            return connection.execute(
                select(m.Customer.email, m.Customer.first_name, m.Customer.last_name, m.Customer.magento_id).order_by(
                    m.Customer.id
                )
            ).all()

    def link(self, entity: str, magento_id: int) -> dict:
        """`GET /api/v1/links/<entity>/<magento_id>` as an operator sees it (asserts 200)."""
        response = self.app.test_client().get(f"/api/v1/links/{entity}/{magento_id}", headers=API_AUTH)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def api_post(self, path: str, json=None):
        return self.app.test_client().post(path, headers=API_AUTH, json=json)


@pytest.fixture
def inbound_settings(tmp_path, database_url, magento) -> dict:
    """The settings `inbound` builds its app with; a test may change them before asking for `inbound`."""
    return inbound_test_settings(tmp_path, database_url, magento.base_url)


@pytest.fixture
def inbound(redis, magento, inbound_settings) -> Inbound:
    """The app on the sandbox, its POS and state tables migrated (SQLite, then PostgreSQL), real Redis."""
    application = create_app(inbound_settings)
    application.config["TESTING"] = True
    svc = application.extensions["services"]
    pos_migrate.upgrade(svc.pos_engine)
    state_upgrade(svc.state_engine)
    yield Inbound(application, magento, redis, SqlPosGateway(svc.pos_engine, svc.settings.pos_location_code))
    db.dispose_all()
    services._current = None
