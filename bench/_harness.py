"""What the benchmarks and the process-level reliability tests share: free ports, the service's processes
(gunicorn, workers, the sandbox, a private redis-server) started on loopback and stopped by their own pids, the
settings they run with, a POS to write into, and signed order webhooks.

Nothing here starts anything at import time; every process a `Processes` started is stopped by `stop()`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import redis as redis_lib
import requests
from rq import Worker
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sandbox import SandboxControl  # noqa: E402
from syncapi.config import (  # noqa: E402
    DEV_MAGENTO_ACCESS_TOKEN,
    DEV_MAGENTO_ACCESS_TOKEN_SECRET,
    DEV_MAGENTO_CONSUMER_KEY,
    DEV_MAGENTO_CONSUMER_SECRET,
)
from syncapi.pos import migrate as pos_migrate  # noqa: E402
from syncapi.pos import models as m  # noqa: E402
from syncapi.state import upgrade as state_upgrade  # noqa: E402
from syncapi.webhooks.signature import SIGNATURE_HEADER, sign  # noqa: E402

#: Seconds a started process may take to answer.
START_TIMEOUT_S = 30.0
#: Seconds a process gets to stop after SIGTERM before it is killed.
STOP_TIMEOUT_S = 20.0
BENCH_SECRET = "bench-webhook-secret"  # noqa: S105 - a throwaway key for a local run
BENCH_API_TOKEN = "bench-api-token-0123456789"  # noqa: S105
#: Orders are seeded this many at a time.
SEED_CHUNK = 100


class HarnessError(RuntimeError):
    """A process did not start, or exited while it was needed."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, what: str, timeout_s: float = START_TIMEOUT_S) -> None:
    """Wait until `url` answers below 500; `HarnessError` if `process` exits first or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HarnessError(f"{what} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise HarnessError(f"{what} did not answer at {url} within {timeout_s:g} s")


class Processes:
    """The processes a run started, each logging to `<log_dir>/<name>.log`, stopped by their own pid."""

    def __init__(self, log_dir: Path):
        self.log_dir = Path(log_dir)
        self.started: list[subprocess.Popen] = []
        self.names: dict[int, str] = {}

    def start(self, name: str, argv: list[str], env: dict, *, new_session: bool = False) -> subprocess.Popen:
        """Start `argv` from the repository root; `new_session` puts it (and its children) in a group of its own."""
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the process's life
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=new_session
        )
        log.close()  # the child holds its own copy
        self.started.append(process)
        self.names[process.pid] = name
        return process

    def named(self, name: str) -> subprocess.Popen:
        """The running process started as `name`."""
        return next(p for p in self.started if self.names[p.pid] == name)

    def log(self, process: subprocess.Popen, tail_chars: int = 4000) -> str:
        """The end of what `process` wrote."""
        path = self.log_dir / f"{self.names[process.pid]}.log"
        return path.read_text(errors="replace")[-tail_chars:] if path.exists() else ""

    def kill_session(self, process: subprocess.Popen) -> None:
        """SIGKILL `process` and every process of its session (it must have been started with `new_session`)."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self, processes: list[subprocess.Popen] | None = None) -> None:
        """SIGTERM `processes` (default: all still running), then SIGKILL those that outlive STOP_TIMEOUT_S."""
        targets = list(self.started) if processes is None else list(processes)
        for process in targets:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in targets:
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            if process in self.started:
                self.started.remove(process)


class RedisServer:
    """A private `redis-server` on a free loopback port, its files in `directory`; `appendonly` keeps an AOF."""

    def __init__(self, processes: Processes, directory: Path, *, appendonly: bool = False):
        self.processes = processes
        self.directory = Path(directory)
        self.appendonly = appendonly
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        """Start the server (again, on the same port and files) and wait until it answers PING."""
        self.directory.mkdir(parents=True, exist_ok=True)
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
        ]
        self.process = self.processes.start(f"redis-{self.port}", argv, dict(os.environ))
        client = redis_lib.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while True:
                if self.process.poll() is not None:
                    raise HarnessError(f"redis-server exited with {self.process.returncode}")
                try:
                    if client.ping():
                        return
                except redis_lib.RedisError:
                    if time.monotonic() > deadline:
                        raise HarnessError(f"redis-server did not answer within {START_TIMEOUT_S:g} s") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (what it acknowledged is in its AOF when `appendonly`)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        if self.process is not None:
            self.processes.stop([self.process])


def service_settings(redis_url: str, pos_url: str, magento_url: str, **settings: object) -> dict:
    """The service's settings for a run, by environment-variable name (what `create_app` takes too): loopback
    Redis, POS and sandbox, throwaway secrets, `settings` on top."""
    values = {
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
    }
    values.update({key: str(value) for key, value in settings.items()})
    return values


def service_env(redis_url: str, pos_url: str, magento_url: str, tmp: Path, **settings: object) -> dict:
    """The environment for the service's processes: this one's, no `.env`, two gunicorn processes of eight
    threads, and `service_settings()` (with `settings`, which may set any variable) on top."""
    env = dict(os.environ)
    env.update({"SYNCAPI_DOTENV": str(Path(tmp) / "none.env"), "WEB_CONCURRENCY": "2"})
    env.update(service_settings(redis_url, pos_url, magento_url, **settings))
    return env


def start_sandbox(processes: Processes, latency_ms: int = 0, schema_path: str | None = None) -> str:
    """Start the Magento sandbox as its own process on a free port; its base URL. `schema_path` is the schema it
    validates request bodies against: None for its default (`$MAGENTO_SCHEMA_PATH`), "" for none."""
    port = free_port()
    argv = [sys.executable, "-m", "sandbox", "--port", str(port), "--latency-ms", str(latency_ms)]
    if schema_path is not None:
        argv += ["--schema", schema_path]
    process = processes.start("sandbox", argv, dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/", process, "the sandbox")
    return url


def start_web(processes: Processes, env: dict, name: str = "web", app: str = "wsgi:app") -> str:
    """Start gunicorn with the project's gunicorn.conf.py on a free loopback port; its base URL once it answers."""
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}"]
    process = processes.start(name, argv, env)
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/healthz", process, f"gunicorn ({name})")
    return url


def start_workers(
    processes: Processes,
    env: dict,
    count: int,
    queues: tuple[str, ...] = ("inbound",),
    *,
    fork: bool = False,
    name: str = "worker",
    new_session: bool = False,
) -> list[subprocess.Popen]:
    """Start `count` separate `python -m syncapi.worker --processes 1` processes on `queues`."""
    argv = [sys.executable, "-m", "syncapi.worker", *queues, "--processes", "1", "--fork" if fork else "--simple"]
    return [processes.start(f"{name}-{n}", argv, env, new_session=new_session) for n in range(count)]


def wait_for_workers(
    connection: redis_lib.Redis, count: int, processes: list[subprocess.Popen], timeout_s: float = START_TIMEOUT_S
) -> None:
    """Wait until `count` rq workers have registered in Redis; `HarnessError` if one exits first."""
    deadline = time.monotonic() + timeout_s
    while len(Worker.all(connection=connection)) < count:
        if any(p.poll() is not None for p in processes):
            raise HarnessError("a worker exited while starting; see its log")
        if time.monotonic() > deadline:
            raise HarnessError(f"{count} workers did not start within {timeout_s:g} s")
        time.sleep(0.1)


def prepare_pos(pos_url: str, skus: list[str], on_hand: int = 100_000) -> None:
    """Create the POS and state tables at `pos_url` and give each of `skus` a product with stock at WEB."""
    engine = create_engine(pos_url)
    try:
        pos_migrate.upgrade(engine)
        state_upgrade(engine)
        with Session(engine) as session:
            known = set(session.scalars(select(m.Product.sku)))
            for sku in skus:
                if sku not in known:
                    session.add(m.Product(sku=sku, name=f"Item {sku}", retail_price=Decimal(10), internet_active=True))
                    session.add(m.Stock(sku=sku, location_code="WEB", on_hand=Decimal(on_hand)))
            session.commit()
    finally:
        engine.dispose()


def seed_orders(
    control: SandboxControl, order_ids: list[int], skus: list[str], *, qty: int = 1, guest_email=None
) -> None:
    """Seed one complete order per id in the sandbox, one line of `qty` of a SKU picked by id.

    `guest_email(order_id)` gives the guest's email (default: Magento's seed default, shared by all).
    """
    for start in range(0, len(order_ids), SEED_CHUNK):
        orders = []
        for order_id in order_ids[start : start + SEED_CHUNK]:
            order = {
                "entity_id": order_id,
                "lines": [{"sku": skus[order_id % len(skus)], "name": "Item", "qty": qty, "price": 10.0}],
            }
            if guest_email is not None:
                order["guest_email"] = guest_email(order_id)
            orders.append(order)
        control.seed(orders=orders)


def order_webhook(order_id: int, delivery_id: str | None = None, state: str = "complete") -> bytes:
    """The body of a `sales.order.updated` CloudEvent for `order_id`, as Mage-OS Async Events posts it."""
    return json.dumps(
        {
            "specversion": "1.0",
            "id": delivery_id or f"delivery-{order_id}",
            "source": "https://shop.example.com",
            "type": "sales.order.updated",
            "datacontenttype": "application/json",
            "data": {"entity_id": order_id, "state": state},
        }
    ).encode()


def signed_headers(body: bytes, secret: str = BENCH_SECRET) -> dict:
    """Headers of a signed JSON webhook post of `body`."""
    return {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)}


def cpu_seconds(root_pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by the processes `root_pids` and all their descendants (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, ...
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    tree = set(root_pids)
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree and pid not in tree}
        tree |= children
        grew = bool(children)
    return sum(used.get(pid, 0.0) for pid in tree)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of `values` (`fraction` 0.99 for p99); NaN when there are none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]
