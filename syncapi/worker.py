"""The worker process: `python -m syncapi.worker` (what `rq worker --with-scheduler inbound outbound default`
does, after validating the settings and configuring JSON logs).

Options: `--burst` (stop when the queues are empty), `--simple` (run jobs in this process instead of forking
one per job: faster for short jobs, but a crashing job takes the worker with it), queue names (default: all).
"""

from __future__ import annotations

import argparse

from rq import SimpleWorker, Worker

from app import load_settings
from syncapi import logs
from syncapi.queues import QUEUE_NAMES, connect_redis

#: Seconds between a worker's heartbeats; a killed worker's jobs are recovered after about this long.
WORKER_TTL_S = 60
#: Seconds between the worker's maintenance passes (which requeue jobs of dead workers).
MAINTENANCE_INTERVAL_S = 60


def main(argv: list[str] | None = None) -> int:
    """Run a worker on the service's queues until stopped."""
    parser = argparse.ArgumentParser(prog="python -m syncapi.worker", description=__doc__.splitlines()[0])
    parser.add_argument("queues", nargs="*", default=list(QUEUE_NAMES), help="queues to work on, in priority order")
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    parser.add_argument("--simple", action="store_true", help="run jobs in this process (no fork per job)")
    args = parser.parse_args(argv)

    settings = load_settings()
    logs.configure(settings)
    connection = connect_redis(settings.redis_url)
    worker_class = SimpleWorker if args.simple else Worker
    worker = worker_class(
        args.queues,
        connection=connection,
        worker_ttl=WORKER_TTL_S,
        maintenance_interval=MAINTENANCE_INTERVAL_S,
    )
    worker.work(with_scheduler=True, burst=args.burst, logging_level=settings.log_level.upper())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
