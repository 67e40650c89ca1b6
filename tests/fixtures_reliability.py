"""Fixtures for the reliability tests: the service run as it is deployed, as separate processes (gunicorn web,
`python -m syncapi.worker` workers, a private redis-server when a test restarts Redis) on loopback, against the
session's Magento sandbox (a real HTTP server, official schema on) and a POS on PostgreSQL or SQLite.

- `stack`: a `Stack` over a fresh PostgreSQL POS and the test Redis database; `sqlite_stack` the same on SQLite.
  Every process it starts is stopped when the test ends, by its own pid.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import redis as redis_lib
import requests
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import create_engine, func, select, text

from app import create_app
from bench._harness import (
    BENCH_API_TOKEN,
    Processes,
    order_webhook,
    prepare_pos,
    seed_orders,
    service_env,
    signed_headers,
    start_web,
    start_workers,
    wait_for_workers,
)
from sandbox import SandboxControl
from syncapi import db, services
from syncapi.config import Settings
from syncapi.pos import models as m
from syncapi.queues import QUEUE_INBOUND
from syncapi.state.models import LinkRow
from tests.conftest import TEST_REDIS_URL

__all__ = ["sqlite_stack", "stack"]

#: Settings every process of a reliability test runs with: short waits, so faults play out in seconds.
FAST_SETTINGS = {
    "MAGENTO_CONNECT_TIMEOUT": 2,
    "MAGENTO_READ_TIMEOUT": 5,
    "JOB_RETRY_INTERVALS": "1,1,2,2,3",
    "WORKER_TTL": 10,
    "WORKER_MAINTENANCE_INTERVAL": 5,
}
API_AUTH = {"Authorization": f"Bearer {BENCH_API_TOKEN}"}
#: Seconds one webhook post may take (Mage-OS Async Events gives up after 15 s).
WEBHOOK_TIMEOUT_S = 15


class Stack:
    """The service's processes for one test, the POS they write to, and what the test reads back."""

    def __init__(self, pos_url: str, magento: SandboxControl, redis, tmp_path: Path):
        self.pos_url = pos_url
        self.magento = magento
        self.redis = redis
        self.tmp_path = tmp_path
        self.processes = Processes(tmp_path)
        self.engine = create_engine(pos_url)
        self.redis_url = TEST_REDIS_URL
        self.settings: dict = dict(FAST_SETTINGS)
        self._app = None

    # --- set-up ------------------------------------------------------------------------------------------

    def env(self, **settings) -> dict:
        """The environment of the service's processes: this stack's Redis, POS and sandbox, plus `settings`."""
        return service_env(
            self.redis_url,
            self.pos_url,
            self.magento.base_url,
            self.tmp_path,
            **{
                **self.settings,
                **settings,
            },
        )

    def add_products(self, skus: list[str], on_hand: int) -> None:
        """POS and state tables at head, and `skus` with `on_hand` at WEB."""
        prepare_pos(self.pos_url, skus, on_hand=on_hand)

    def seed_orders(self, order_ids: list[int], skus: list[str], qty: int = 1, guest_email=None) -> None:
        """Complete orders in the sandbox, one line of `qty` each."""
        seed_orders(self.magento, order_ids, skus, qty=qty, guest_email=guest_email)

    def start_workers(
        self,
        count: int,
        *,
        queues: tuple[str, ...] = (QUEUE_INBOUND,),
        new_session: bool = False,
        name: str = "worker",
        **settings,
    ):
        """`count` worker processes on `queues`, registered in Redis before this returns."""
        before = len(self.registered_workers())
        workers = start_workers(self.processes, self.env(**settings), count, queues, name=name, new_session=new_session)
        wait_for_workers(self.redis, before + count, workers)
        return workers

    def start_web(self, **settings) -> str:
        """gunicorn with gunicorn.conf.py (2 processes x 8 threads) on a free port; its base URL."""
        return start_web(self.processes, self.env(**settings))

    def registered_workers(self) -> list[Worker]:
        return Worker.all(connection=self.redis)

    @property
    def app(self):
        """The service's app with the same settings, in this process (to post webhooks and read the API)."""
        if self._app is None:
            self._app = create_app(Settings.from_env(environ=self.env()))
            self._app.config["TESTING"] = True
        return self._app

    def deliver(self, order_id: int, body: bytes | None = None):
        """Post a signed order webhook through the app; the response."""
        raw = body or order_webhook(order_id)
        return self.app.test_client().post("/webhooks/magento", data=raw, headers=signed_headers(raw))

    def use_redis(self, url: str) -> None:
        """Point the processes started from now on (and `redis`) at another Redis, e.g. a private server."""
        self.redis_url = url
        self.redis = redis_lib.Redis.from_url(url)

    def close(self) -> None:
        self.processes.stop()
        self.engine.dispose()
        if self._app is not None:
            db.dispose_all()
            services._current = None

    # --- what landed ---------------------------------------------------------------------------------------

    def sales_by_order(self) -> dict[int, int]:
        """Sale rows per Magento order id."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(m.Sale.magento_order_id, func.count()).group_by(m.Sale.magento_order_id)
            ).all()
        return {int(order_id): count for order_id, count in rows}

    def sale_lines(self) -> int:
        with self.engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(m.SaleLine))

    def on_hand(self, sku: str) -> Decimal:
        with self.engine.connect() as connection:
            return connection.scalar(select(m.Stock.on_hand).where(m.Stock.sku == sku, m.Stock.location_code == "WEB"))

    def total_on_hand(self, skus: list[str]) -> Decimal:
        with self.engine.connect() as connection:
            return connection.scalar(
                select(func.sum(m.Stock.on_hand)).where(m.Stock.sku.in_(skus), m.Stock.location_code == "WEB")
            )

    def customer_emails(self) -> Counter:
        """POS customers per email."""
        with self.engine.connect() as connection:
            return Counter(connection.scalars(select(m.Customer.email)))

    def link_statuses(self, entity: str = "order") -> dict[int, str]:
        """The status of every link of `entity`, by Magento id."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(LinkRow.magento_id, LinkRow.status).where(LinkRow.entity == entity)).all()
        return {int(magento_id): status for magento_id, status in rows}

    def queues_idle(self) -> bool:
        """True when no inbound job waits, runs or is scheduled for a retry."""
        queue = Queue(QUEUE_INBOUND, connection=self.redis)
        return (
            queue.count == 0
            and StartedJobRegistry(QUEUE_INBOUND, connection=self.redis).count == 0
            and ScheduledJobRegistry(QUEUE_INBOUND, connection=self.redis).count == 0
        )

    def failed_jobs(self, queue: str = QUEUE_INBOUND) -> list[str]:
        return FailedJobRegistry(queue, connection=self.redis).get_job_ids()

    def wait_until(self, done: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.2) -> float:
        """Poll `done()` until true; the seconds it took. Fails the test, with the processes' logs, on timeout."""
        started = time.monotonic()
        while not done():
            if time.monotonic() - started > timeout_s:
                logs = "\n".join(
                    f"--- {self.processes.names[p.pid]} (exit {p.poll()}):\n{self.processes.log(p, 3000)}"
                    for p in self.processes.started
                )
                pytest.fail(f"{what}: not within {timeout_s:g} s\n{logs}")
            time.sleep(interval_s)
        return time.monotonic() - started

    def api_get(self, base_url: str, path: str) -> requests.Response:
        return requests.get(f"{base_url}{path}", headers=API_AUTH, timeout=10)


@dataclass(frozen=True)
class Answer:
    """What one webhook post got: `status` None when no HTTP answer came at all (`error` says why)."""

    key: int
    status: int | None
    retry_after: str | None = None
    body: dict | None = None
    error: str | None = None
    seconds: float = 0.0


def post_webhooks(
    base_url: str, deliveries: list[tuple[int, bytes]], concurrency: int, rate_per_s: float | None = None
) -> list[Answer]:
    """POST each signed body once from `concurrency` threads with keep-alive sessions, optionally paced."""
    local = threading.local()

    def post(key: int, body: bytes) -> Answer:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        started = time.perf_counter()
        try:
            response = session.post(
                f"{base_url}/webhooks/magento", data=body, headers=signed_headers(body), timeout=WEBHOOK_TIMEOUT_S
            )
        except requests.RequestException as exc:
            return Answer(key, None, error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - started)
        try:
            payload = response.json()
        except ValueError:
            payload = {"text": response.text[:200]}
        return Answer(
            key, response.status_code, response.headers.get("Retry-After"), payload, None, time.perf_counter() - started
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = []
        for number, (key, body) in enumerate(deliveries):
            if rate_per_s:
                delay = started + number / rate_per_s - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            futures.append(pool.submit(post, key, body))
        return [future.result() for future in futures]


def _fresh_postgres(url: str) -> str:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def stack(postgres_url, magento, redis, tmp_path):
    """The service as processes over a fresh PostgreSQL POS, the test Redis database and the sandbox."""
    built = Stack(_fresh_postgres(postgres_url), magento, redis, tmp_path)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def sqlite_stack(magento, redis, tmp_path):
    """The service as processes over a SQLite POS, the test Redis database and the sandbox."""
    built = Stack(f"sqlite:///{tmp_path / 'pos.db'}", magento, redis, tmp_path)
    try:
        yield built
    finally:
        built.close()


def redis_answers(url: str) -> bool:
    try:
        return bool(redis_lib.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis_lib.RedisError:
        return False
