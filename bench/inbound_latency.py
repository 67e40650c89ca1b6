"""Webhook → POS latency: how long from a signed order webhook to the sale's row in the POS.

Starts, on loopback only, the Magento sandbox (with a per-call latency like a real store's), the web process
under gunicorn and rq workers (`python -m syncapi.worker inbound`, forking or `--simple`, one or several), sends
N signed order webhooks at a steady rate, polls the POS for the sale rows and prints p50/p99 per worker set-up.

    .venv/bin/python bench/inbound_latency.py --redis-url redis://localhost:6379/13 --compare

The Redis database given is flushed. Everything runs in a temporary directory (SQLite POS unless `--pos-url`)
and every process started is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import redis as redis_lib
import requests
from rq import Worker
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from syncapi.config import (  # noqa: E402
    DEV_MAGENTO_ACCESS_TOKEN,
    DEV_MAGENTO_ACCESS_TOKEN_SECRET,
    DEV_MAGENTO_CONSUMER_KEY,
    DEV_MAGENTO_CONSUMER_SECRET,
)
from syncapi.pos import migrate as pos_migrate  # noqa: E402
from syncapi.pos import models as m  # noqa: E402
from syncapi.sandbox import SandboxControl  # noqa: E402
from syncapi.state import upgrade as state_upgrade  # noqa: E402
from syncapi.webhooks.signature import SIGNATURE_HEADER, sign  # noqa: E402

#: Target from the service's brief: webhook → POS row.
TARGET_P50_S = 1.0
TARGET_P99_S = 5.0
#: Most webhooks one set-up may send, and most seconds it may wait for its sales after the last one.
MAX_ORDERS = 2000
DRAIN_TIMEOUT_S = 120.0
#: Seconds between two polls of the POS for new sale rows (the measurement's resolution).
POLL_INTERVAL_S = 0.02
START_TIMEOUT_S = 30.0
BENCH_SECRET = "bench-webhook-secret"  # noqa: S105 - a throwaway key for a local run
BENCH_API_TOKEN = "bench-api-token"  # noqa: S105
SKUS = [f"BENCH-{n:02d}" for n in range(20)]
#: The set-ups `--compare` measures: (label, worker processes, `--simple`).
COMPARE = [
    ("forking Worker x1", 1, False),
    ("SimpleWorker x1", 1, True),
    ("forking Worker x4", 4, False),
    ("SimpleWorker x2", 2, True),
    ("SimpleWorker x4", 4, True),
]


@dataclass
class Result:
    label: str
    sent: int
    written: int
    latencies_s: list[float]
    elapsed_s: float

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_s)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]

    @property
    def meets_target(self) -> bool:
        return (
            self.written == self.sent and self.percentile(0.5) <= TARGET_P50_S and self.percentile(0.99) <= TARGET_P99_S
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not answer at {url} within {START_TIMEOUT_S:g} s")


class Processes:
    """The processes this run started, stopped (by their own pid) when it ends."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the process's life
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def stop(self, processes: list[subprocess.Popen] | None = None) -> None:
        targets = processes if processes is not None else list(self.started)
        for process in targets:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in targets:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            if process in self.started:
                self.started.remove(process)


def service_env(redis_url: str, pos_url: str, magento_url: str, tmp: Path) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": redis_url,
            "POS_DATABASE_URL": pos_url,
            "MAGENTO_BASE_URL": magento_url,
            "MAGENTO_AUTH": "oauth1",
            "MAGENTO_CONSUMER_KEY": DEV_MAGENTO_CONSUMER_KEY,
            "MAGENTO_CONSUMER_SECRET": DEV_MAGENTO_CONSUMER_SECRET,
            "MAGENTO_ACCESS_TOKEN": DEV_MAGENTO_ACCESS_TOKEN,
            "MAGENTO_ACCESS_TOKEN_SECRET": DEV_MAGENTO_ACCESS_TOKEN_SECRET,
            "WEBHOOK_SECRET": BENCH_SECRET,
            "API_TOKEN": BENCH_API_TOKEN,
            "LOG_LEVEL": "warning",
            "SYNCAPI_DOTENV": str(tmp / "none.env"),
            "WEB_CONCURRENCY": "2",
            "WEB_THREADS": "8",
        }
    )
    return env


def prepare_pos(pos_url: str) -> None:
    engine = create_engine(pos_url)
    pos_migrate.upgrade(engine)
    state_upgrade(engine)
    with Session(engine) as session:
        known = set(session.scalars(select(m.Product.sku)))
        for sku in SKUS:
            if sku not in known:
                session.add(m.Product(sku=sku, name=f"Bench {sku}", retail_price=Decimal(10), internet_active=True))
                session.add(m.Stock(sku=sku, location_code="WEB", on_hand=Decimal(100000)))
        session.commit()
    engine.dispose()


def seed_orders(control: SandboxControl, first_id: int, count: int) -> list[int]:
    ids = list(range(first_id, first_id + count))
    for start in range(0, count, 100):
        chunk = ids[start : start + 100]
        control.seed(
            orders=[
                {"entity_id": n, "lines": [{"sku": SKUS[n % len(SKUS)], "name": "Bench", "qty": 1, "price": 10.0}]}
                for n in chunk
            ]
        )
    return ids


def wait_for_workers(connection: redis_lib.Redis, count: int, processes: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while len(Worker.all(connection=connection)) < count:
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a worker exited while starting; see its log")
        if time.monotonic() > deadline:
            raise SystemExit(f"{count} workers did not start within {START_TIMEOUT_S:g} s")
        time.sleep(0.1)


def measure(
    label: str,
    web_url: str,
    pos_url: str,
    order_ids: list[int],
    rate_per_s: float,
) -> Result:
    """Send one signed webhook per order at `rate_per_s`, and time each until its sale row is in the POS."""
    sent_at: dict[int, float] = {}
    seen_at: dict[int, float] = {}
    done = threading.Event()
    engine = create_engine(pos_url)
    low, high = min(order_ids), max(order_ids)

    def poll_pos() -> None:
        while not done.is_set():
            with engine.connect() as connection:
                found = connection.scalars(
                    select(m.Sale.magento_order_id).where(m.Sale.magento_order_id.between(low, high))
                ).all()
            now = time.perf_counter()
            for order_id in found:
                seen_at.setdefault(order_id, now)
            if len(seen_at) == len(order_ids):
                return
            time.sleep(POLL_INTERVAL_S)

    local = threading.local()

    def send(order_id: int) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        body = json.dumps(
            {
                "specversion": "1.0",
                "id": f"bench-{order_id}",
                "source": "bench",
                "type": "sales.order.updated",
                "data": {"entity_id": order_id, "state": "complete"},
            }
        ).encode()
        sent_at[order_id] = time.perf_counter()
        response = session.post(
            f"{web_url}/webhooks/magento",
            data=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, BENCH_SECRET)},
            timeout=15,
        )
        if response.status_code != 202:
            print(f"  webhook for order {order_id} answered {response.status_code}: {response.text[:200]}")

    poller = threading.Thread(target=poll_pos, daemon=True)
    poller.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for number, order_id in enumerate(order_ids):
            delay = started + number / rate_per_s - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, order_id)
    poller.join(timeout=DRAIN_TIMEOUT_S)
    done.set()
    elapsed = time.perf_counter() - started
    engine.dispose()
    latencies = [seen_at[n] - sent_at[n] for n in order_ids if n in seen_at and n in sent_at]
    return Result(label, len(order_ids), len(seen_at), latencies, elapsed)


def report(results: list[Result], rate: float, latency_ms: int) -> None:
    print()
    print(f"{len(results[0].latencies_s)} order webhooks at {rate:g}/s, Magento latency {latency_ms} ms per call:")
    print(f"{'set-up':<22} {'written':>9} {'p50 s':>7} {'p99 s':>7} {'max s':>7} {'mean s':>7}  target")
    for r in results:
        mean = statistics.fmean(r.latencies_s) if r.latencies_s else float("nan")
        worst = max(r.latencies_s) if r.latencies_s else float("nan")
        print(
            f"{r.label:<22} {r.written:>4}/{r.sent:<4} {r.percentile(0.5):>7.3f} {r.percentile(0.99):>7.3f} "
            f"{worst:>7.3f} {mean:>7.3f}  {'met' if r.meets_target else 'MISSED'}"
        )
    print(f"(target: p50 <= {TARGET_P50_S:g} s, p99 <= {TARGET_P99_S:g} s, every order written once)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", required=True, help="a spare Redis database; it is flushed")
    parser.add_argument("--pos-url", help="POS database URL (default: SQLite in a temporary directory)")
    parser.add_argument("--orders", type=int, default=200, help=f"webhooks per set-up (at most {MAX_ORDERS})")
    parser.add_argument("--rate", type=float, default=10.0, help="webhooks per second")
    parser.add_argument("--latency-ms", type=int, default=75, help="sandbox latency per Magento call")
    parser.add_argument("--workers", type=int, default=4, help="worker processes (without --compare)")
    parser.add_argument("--simple", action="store_true", help="non-forking workers (without --compare)")
    parser.add_argument("--compare", action="store_true", help="measure every set-up in COMPARE")
    args = parser.parse_args(argv)
    if not 1 <= args.orders <= MAX_ORDERS:
        parser.error(f"--orders must be between 1 and {MAX_ORDERS}")
    if not 0 < args.rate <= 200:
        parser.error("--rate must be above 0 and at most 200")

    setups = (
        COMPARE
        if args.compare
        else [(f"{'SimpleWorker' if args.simple else 'forking Worker'} x{args.workers}", args.workers, args.simple)]
    )
    connection = redis_lib.Redis.from_url(args.redis_url)
    connection.flushdb()
    with tempfile.TemporaryDirectory(prefix="inbound-bench-") as tmp_name:
        tmp = Path(tmp_name)
        pos_url = args.pos_url or f"sqlite:///{tmp / 'pos.db'}"
        prepare_pos(pos_url)
        processes = Processes(tmp)
        results = []
        try:
            sandbox_port, web_port = free_port(), free_port()
            sandbox = processes.start(
                "sandbox",
                [
                    sys.executable,
                    "-m",
                    "syncapi.sandbox",
                    "--port",
                    str(sandbox_port),
                    "--latency-ms",
                    str(args.latency_ms),
                ],
                dict(os.environ),
            )
            magento_url = f"http://127.0.0.1:{sandbox_port}"
            wait_for(f"{magento_url}/", sandbox, "the sandbox")
            env = service_env(args.redis_url, pos_url, magento_url, tmp)
            web = processes.start(
                "web", [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{web_port}"], env
            )
            web_url = f"http://127.0.0.1:{web_port}"
            wait_for(f"{web_url}/healthz", web, "gunicorn")
            control = SandboxControl(magento_url)
            next_id = 1_000_000
            for label, count, simple in setups:
                order_ids = seed_orders(control, next_id, args.orders)
                next_id += args.orders
                argv = [sys.executable, "-m", "syncapi.worker", "inbound", "--processes", "1"]
                argv.append("--simple" if simple else "--fork")
                workers = [processes.start(f"worker-{label}-{n}".replace(" ", "_"), argv, env) for n in range(count)]
                wait_for_workers(connection, count, workers)
                print(f"measuring {label} ...", flush=True)
                results.append(measure(label, web_url, pos_url, order_ids, args.rate))
                processes.stop(workers)
                connection.flushdb()
        finally:
            processes.stop()
    report(results, args.rate, args.latency_ms)
    return 0 if all(r.written == r.sent for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
