"""The worker process: `python -m syncapi.worker` (what `rq worker --with-scheduler inbound outbound default`
does, after validating the settings and configuring JSON logs).

By default it runs WORKER_PROCESSES worker processes (rq's WorkerPool, which restarts any that die), each running
jobs in its own process without forking per job: a fork per job costs about 0.2 s and a fresh set of database
and Magento connections, which alone misses a one-second webhook-to-POS target. `--fork` runs each job in a
forked child instead (a crashing job then never takes its worker down). Other options: `--burst` (stop when the
queues are empty), `--processes N`, and the queue names in priority order (default: inbound outbound default).
"""

from __future__ import annotations

import argparse

from rq import SimpleWorker, Worker
from rq.worker_pool import WorkerPool

from app import load_settings
from syncapi import logs
from syncapi.queues import QUEUE_NAMES, connect_redis

#: Seconds between a worker's heartbeats; a killed worker's jobs are recovered after about this long.
WORKER_TTL_S = 60
#: Seconds between the worker's maintenance passes (which requeue jobs of dead workers).
MAINTENANCE_INTERVAL_S = 60


class ServiceWorker(SimpleWorker):
    """A non-forking worker with the service's heartbeat and maintenance intervals."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("worker_ttl", WORKER_TTL_S)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL_S)
        super().__init__(*args, **kwargs)


class ForkingServiceWorker(Worker):
    """A worker that forks a child per job, with the service's heartbeat and maintenance intervals."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("worker_ttl", WORKER_TTL_S)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL_S)
        super().__init__(*args, **kwargs)


def main(argv: list[str] | None = None) -> int:
    """Run the service's workers on its queues until stopped."""
    parser = argparse.ArgumentParser(prog="python -m syncapi.worker", description=__doc__.splitlines()[0])
    parser.add_argument("queues", nargs="*", default=list(QUEUE_NAMES), help="queues to work on, in priority order")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument("--fork", action="store_true", help="run each job in a forked child process")
    parser.add_argument("--simple", action="store_true", help="run jobs in the worker process (the default)")
    parser.add_argument("--processes", type=int, default=None, help="worker processes (default WORKER_PROCESSES)")
    args = parser.parse_args(argv)

    settings = load_settings()
    logs.configure(settings)
    connection = connect_redis(settings.redis_url)
    worker_class = ForkingServiceWorker if args.fork else ServiceWorker
    processes = args.processes if args.processes is not None else settings.worker_processes
    level = settings.log_level.upper()
    if processes <= 1:
        worker_class(args.queues, connection=connection).work(
            with_scheduler=True, burst=args.burst, logging_level=level
        )
    else:
        pool = WorkerPool(args.queues, connection=connection, num_workers=processes, worker_class=worker_class)
        pool.start(burst=args.burst, logging_level=level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
