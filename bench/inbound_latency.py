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
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import redis as redis_lib
import requests
from sqlalchemy import create_engine, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (
    BENCH_SECRET,
    Processes,
    percentile,
    prepare_pos,
    seed_orders,
    service_env,
    start_sandbox,
    start_web,
    start_workers,
    wait_for_workers,
)

from sandbox import SandboxControl
from syncapi.pos import models as m
from syncapi.webhooks.signature import SIGNATURE_HEADER, sign

#: Target from the service's brief: webhook → POS row.
TARGET_P50_S = 1.0
TARGET_P99_S = 5.0
#: Most webhooks one set-up may send, and most seconds it may wait for its sales after the last one.
MAX_ORDERS = 2000
DRAIN_TIMEOUT_S = 120.0
#: Seconds between two polls of the POS for new sale rows (the measurement's resolution).
POLL_INTERVAL_S = 0.02
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
        return percentile(self.latencies_s, fraction)

    @property
    def meets_target(self) -> bool:
        return (
            self.written == self.sent and self.percentile(0.5) <= TARGET_P50_S and self.percentile(0.99) <= TARGET_P99_S
        )


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
        prepare_pos(pos_url, SKUS)
        processes = Processes(tmp)
        results = []
        try:
            magento_url = start_sandbox(processes, args.latency_ms)
            env = service_env(args.redis_url, pos_url, magento_url, tmp)
            web_url = start_web(processes, env)
            control = SandboxControl(magento_url)
            next_id = 1_000_000
            for label, count, simple in setups:
                order_ids = list(range(next_id, next_id + args.orders))
                seed_orders(control, order_ids, SKUS)
                next_id += args.orders
                name = f"worker-{label}".replace(" ", "_")
                workers = start_workers(processes, env, count, ("inbound",), fork=not simple, name=name)
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
