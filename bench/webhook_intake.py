"""Webhook intake: signed order webhooks accepted per second by the service, against a bare Flask endpoint that
only answers 202, all under the same gunicorn settings (gunicorn.conf.py) on the same machine in the same run.

Starts, on 127.0.0.1 only, a private redis-server (append-only file on, as production must run it) and, under
gunicorn, three targets: the bare app (`bench._bare_app:create_bare_app()`), the bare app with one Redis write
before it answers (`create_redis_app()`: the least any endpoint that answers only once the delivery is durable can
do) and the service (`wsgi:app`). It drives each in turn with `wrk` (one load thread with keep-alive connections:
the same light generator for all). Each round measures the three one after the other, each a warm-up then a run
bounded in requests and seconds, with Redis emptied before it. Every request is a distinct signed order webhook, so
each one the service accepts is a new job in Redis (the most expensive path; a repeat is cheaper); the run checks
that every 202 left its job (or, for the Redis baseline, its body) there.

Prints per round and per target: accepted requests per second, latency percentiles, and the CPU the target's
server processes used per request (its gunicorn; for the targets that write to Redis, Redis too). The verdict is
the median of the rounds' ratios of accepted rates, service / bare (target >= 0.8); beside it the same ratio for the
Redis baseline (what the durable write alone leaves of the bare rate) and service / Redis baseline (what the
service's own work costs on top of that write). Last, the CPU each app costs per request in this process through
Flask's test client, which other load on the machine barely moves: the figure to compare versions.

    .venv/bin/python bench/webhook_intake.py            # needs wrk: apt-get install -y wrk

Every process started is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis as redis_lib
from _bare_app import REDIS_LIST, WEBHOOK_PATH, create_bare_app, create_redis_app
from _harness import (
    BENCH_SECRET,
    Processes,
    RedisServer,
    cpu_seconds,
    order_webhook,
    service_env,
    signed_headers,
    start_web,
)

from syncapi.queues import QUEUE_INBOUND
from syncapi.webhooks.signature import SIGNATURE_HEADER, sign

#: Target from the service's brief: the service accepts at least this share of what a bare endpoint does.
TARGET_RATIO = 0.8
#: The list each target that writes to Redis leaves one entry in per accepted webhook.
QUEUED_KEYS = {"bare+redis": REDIS_LIST, "service": f"rq:queue:{QUEUE_INBOUND}"}
#: Most requests and seconds one measured run may take; the warm-up before it.
MAX_REQUESTS = 50_000
MAX_DURATION_S = 30
WARMUP_S = 2
#: Requests per pass, and passes, of the in-process measurement.
IN_PROCESS_REQUESTS = 2_000
IN_PROCESS_PASSES = 5
#: Seconds to let requests in flight at the end of a run finish.
SETTLE_S = 1.0
#: The line the wrk script prints when it is done, parsed back here.
RESULT_PATTERN = re.compile(r"^RESULT (.*)$", re.MULTILINE)
RESULT_FIELDS = ("requests", "duration_us", "status_errors", "socket_errors", "p50_us", "p90_us", "p99_us", "max_us")


@dataclass
class Run:
    """One measured wrk run against one target."""

    target: str
    requests: int
    duration_s: float
    refused: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    #: CPU seconds the target's server processes used during the run (gunicorn; plus Redis if it writes there).
    server_cpu_s: float = 0.0
    #: Of which Redis's.
    redis_cpu_s: float = 0.0

    @property
    def accepted(self) -> int:
        return self.requests - self.refused - self.socket_errors

    @property
    def accepted_per_s(self) -> float:
        return self.accepted / self.duration_s if self.duration_s else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / self.requests if self.requests else float("nan")

    @property
    def redis_cpu_ms_per_request(self) -> float:
        return self.redis_cpu_s * 1000 / self.requests if self.requests else float("nan")


def wrk_script(path: Path, first_id: int, count: int, limit: int) -> None:
    """A wrk Lua script posting `count` distinct signed order webhooks (ids from `first_id`), stopping at `limit`.

    The bodies and their signatures go to a data file beside the script (one `signature<TAB>body` a line), which
    the script reads when wrk loads it: a Lua chunk cannot hold that many constants.
    """
    data = path.with_suffix(".tsv")
    with data.open("w") as out:
        for order_id in range(first_id, first_id + count):
            body = order_webhook(order_id)
            out.write(f"{sign(body, BENCH_SECRET)}\t{body.decode()}\n")
    path.write_text(
        f"""
local requests = {{}}
for line in io.lines("{data}") do
  local signature, body = line:match("^(%x+)\t(.*)$")
  local headers = {{["Content-Type"] = "application/json", ["{SIGNATURE_HEADER}"] = signature}}
  requests[#requests + 1] = wrk.format("POST", "{WEBHOOK_PATH}", headers, body)
end
local i = 0
local answered = 0
local limit = {limit}
request = function()
  i = i % #requests + 1
  return requests[i]
end
response = function(status, headers, body)
  answered = answered + 1
  if answered >= limit then wrk.thread:stop() end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""
    )


def run_wrk(url: str, script: Path, connections: int, duration_s: float) -> dict[str, int]:
    """One wrk run of `script` against `url`: its RESULT line as numbers."""
    argv = [
        "wrk",
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(duration_s))}s",
        "--timeout",
        "15s",
        "--script",
        str(script),
        url,
    ]
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60, check=False)
    found = RESULT_PATTERN.search(finished.stdout)
    if finished.returncode != 0 or found is None:
        raise SystemExit(f"wrk failed ({finished.returncode}): {finished.stdout[-2000:]} {finished.stderr[-2000:]}")
    return dict(zip(RESULT_FIELDS, (int(v) for v in found.group(1).split()), strict=True))


def measure(
    target: str, url: str, script: Path, connections: int, duration_s: float, web_pid: int, redis_pid: int | None
) -> Run:
    """One measured run, charged the CPU of gunicorn `web_pid` (and its workers) and of Redis `redis_pid`."""
    redis_pids = [redis_pid] if redis_pid else []
    web_before, redis_before = cpu_seconds([web_pid]), cpu_seconds(redis_pids)
    raw = run_wrk(url, script, connections, duration_s)
    redis_cpu_s = cpu_seconds(redis_pids) - redis_before
    server_cpu_s = cpu_seconds([web_pid]) - web_before + redis_cpu_s
    return Run(
        target=target,
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        refused=raw["status_errors"],
        socket_errors=raw["socket_errors"],
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        server_cpu_s=server_cpu_s,
        redis_cpu_s=redis_cpu_s,
    )


def in_process_cpu_us(redis_url: str, tmp: Path, log_level: str) -> dict[str, float]:
    """CPU microseconds per request of each app in this process (Flask's test client, one thread, no HTTP server),
    the least over IN_PROCESS_PASSES passes: a figure that other load on the machine barely moves."""
    import logging

    from app import create_app
    from syncapi import logs
    from syncapi.config import Settings

    environ = service_env(redis_url, f"sqlite:///{tmp / 'pos.db'}", "http://127.0.0.1:9", tmp, LOG_LEVEL=log_level)
    settings = Settings.from_env(environ=environ)
    apps = {"bare": create_bare_app(), "bare+redis": create_redis_app(redis_url), "service": create_app(settings)}
    with open(os.devnull, "w") as devnull:
        logs.configure(settings, stream=devnull)  # the service's log lines, written but not shown
        connection = redis_lib.Redis.from_url(redis_url)
        bodies = [order_webhook(n) for n in range(1, IN_PROCESS_REQUESTS + 1)]
        deliveries = [(body, signed_headers(body)) for body in bodies]
        best: dict[str, float] = {}
        for _ in range(IN_PROCESS_PASSES):
            for target, app in apps.items():
                client = app.test_client()
                connection.flushdb()
                started = time.process_time()
                for body, headers in deliveries:
                    client.post(WEBHOOK_PATH, data=body, headers=headers)
                used_us = (time.process_time() - started) / len(deliveries) * 1e6
                best[target] = min(best.get(target, used_us), used_us)
        connection.flushdb()
        logging.getLogger().handlers.clear()
    return best


def summarise(runs: list[Run]) -> dict[str, float]:
    """Medians over the rounds of one target."""
    return {
        "accepted_per_s": statistics.median(r.accepted_per_s for r in runs),
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p90_ms": statistics.median(r.p90_ms for r in runs),
        "p99_ms": statistics.median(r.p99_ms for r in runs),
        "max_ms": max(r.max_ms for r in runs),
        "cpu_ms": statistics.median(r.cpu_ms_per_request for r in runs),
        "accepted": sum(r.accepted for r in runs),
        "refused": sum(r.refused + r.socket_errors for r in runs),
    }


def report(results: dict[str, list[Run]], connections: int, requests: int, duration_s: float) -> float:
    print()
    print(
        f"webhook intake, {len(results['service'])} rounds per target, {connections} keep-alive connections, "
        f"at most {requests} requests or {duration_s:g} s per run (medians over the rounds):"
    )
    print(
        f"{'target':<11} {'accepted/s':>11} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'refused':>8} "
        f"{'server CPU ms/req':>18}"
    )
    for target, runs in results.items():
        s = summarise(runs)
        print(
            f"{target:<11} {s['accepted_per_s']:>11.0f} {s['p50_ms']:>8.1f} {s['p90_ms']:>8.1f} {s['p99_ms']:>8.1f} "
            f"{s['max_ms']:>8.1f} {s['refused']:>8} {s['cpu_ms']:>18.3f}"
        )
    ratio = round_ratios(results, "service", "bare", f"target >= {TARGET_RATIO}", TARGET_RATIO)
    round_ratios(results, "bare+redis", "bare", "what one durable write leaves")
    round_ratios(results, "service", "bare+redis", "the service's own work on top of that write")
    for target, runs in results.items():
        print(f"  {target} rounds, accepted/s: " + ", ".join(f"{r.accepted_per_s:.0f}" for r in runs))
    return ratio


def round_ratios(results: dict[str, list[Run]], numerator: str, denominator: str, what: str, target=None) -> float:
    """Print and return the median over the rounds of `numerator`'s accepted rate over `denominator`'s, with the
    inverse ratio of their server CPU per request beside it.

    The targets of a round are measured one right after the other, so a round's own ratio is the least disturbed by
    whatever else the machine does meanwhile; the verdict is their median."""
    pairs = list(zip(results[denominator], results[numerator], strict=True))
    ratios = sorted(top.accepted_per_s / bottom.accepted_per_s for bottom, top in pairs)
    cpu_ratios = sorted(bottom.cpu_ms_per_request / top.cpu_ms_per_request for bottom, top in pairs)
    ratio = statistics.median(ratios)
    verdict = "" if target is None else (": met" if ratio >= target else ": MISSED")
    print(
        f"ratio {numerator} / {denominator}, accepted per second: {ratio:.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f}; "
        f"{what}{verdict}); by server CPU per request: {statistics.median(cpu_ratios):.2f}"
    )
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured runs per target, alternating")
    parser.add_argument("--requests", type=int, default=40_000, help=f"most requests per run (<= {MAX_REQUESTS})")
    parser.add_argument("--duration", type=float, default=4.0, help=f"seconds per run (<= {MAX_DURATION_S})")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections wrk keeps open")
    parser.add_argument("--no-aof", action="store_true", help="run the private Redis without its append-only file")
    parser.add_argument("--log-level", default="info", help="the service's LOG_LEVEL (info: a line per webhook)")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS:
        parser.error(f"--requests must be between 1 and {MAX_REQUESTS}")
    if not 1 <= args.duration <= MAX_DURATION_S:
        parser.error(f"--duration must be between 1 and {MAX_DURATION_S}")
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be between 1 and 20")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk (or your system's package)")

    with tempfile.TemporaryDirectory(prefix="intake-bench-") as tmp_name:
        tmp = Path(tmp_name)
        processes = Processes(tmp)
        results: dict[str, list[Run]] = {"bare": [], "bare+redis": [], "service": []}
        try:
            server = RedisServer(processes, tmp / "redis", appendonly=not args.no_aof)
            server.start()
            connection = redis_lib.Redis.from_url(server.url(0))
            pos_url = f"sqlite:///{tmp / 'pos.db'}"
            env = service_env(server.url(0), pos_url, "http://127.0.0.1:9", tmp, LOG_LEVEL=args.log_level)
            # gunicorn.conf.py's own defaults for both (processes from the CPU count, connections per process), unless
            # the caller's environment sets them: the same for the service and the baselines either way.
            for name in ("WEB_CONCURRENCY", "WEB_CONNECTIONS"):
                if name in os.environ:
                    env[name] = os.environ[name]
                else:
                    env.pop(name, None)
            urls = {
                "bare": start_web(processes, env, name="bare", app="bench._bare_app:create_bare_app()"),
                "bare+redis": start_web(processes, env, name="bare-redis", app="bench._bare_app:create_redis_app()"),
                "service": start_web(processes, env, name="service"),
            }
            # Whose CPU each target is charged: its gunicorn (master and workers); Redis too if it writes there.
            pids = {
                "bare": (processes.named("bare").pid, None),
                "bare+redis": (processes.named("bare-redis").pid, server.process.pid),
                "service": (processes.named("service").pid, server.process.pid),
            }
            warmup = tmp / "warmup.lua"
            wrk_script(warmup, 1, 2_000, 10**9)
            script = tmp / "measure.lua"
            wrk_script(script, 1_000_000, args.requests, args.requests)
            for round_number in range(1, args.rounds + 1):
                for target, url in urls.items():
                    run_wrk(url, warmup, args.connections, WARMUP_S)
                    time.sleep(SETTLE_S)  # requests in flight when wrk stopped finish before Redis is emptied
                    connection.flushdb()
                    run = measure(target, url, script, args.connections, args.duration, *pids[target])
                    time.sleep(SETTLE_S)
                    results[target].append(run)
                    if run.requests >= args.requests:
                        # wrk still reports the whole duration, so the rate would be understated.
                        raise SystemExit(f"{target} answered all {args.requests} requests early: raise --requests")
                    line = (
                        f"round {round_number} {target}: {run.accepted_per_s:.0f}/s accepted, "
                        f"p99 {run.p99_ms:.1f} ms, server CPU {run.cpu_ms_per_request:.3f} ms/request"
                        f" (Redis {run.redis_cpu_ms_per_request:.3f})"
                    )
                    if target in QUEUED_KEYS:
                        queued = connection.llen(QUEUED_KEYS[target])
                        line += f", {queued} in Redis for {run.accepted} accepted"
                        # Requests in flight when wrk stops were served but not counted: at most one per connection.
                        if not run.accepted <= queued <= run.accepted + args.connections:
                            raise SystemExit(f"{target}: {run.accepted} webhooks answered 202 but {queued} in Redis")
                    print(line, flush=True)
            cpu_us = in_process_cpu_us(server.url(1), tmp, args.log_level)
        finally:
            processes.stop()
    ratio = report(results, args.connections, args.requests, args.duration)
    print(
        f"in-process CPU per request (Flask test client, least of {IN_PROCESS_PASSES} passes of "
        f"{IN_PROCESS_REQUESTS}): " + ", ".join(f"{target} {used:.0f} us" for target, used in cpu_us.items())
    )
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
