"""The worker process: `python -m syncapi.worker` (what `rq worker --with-scheduler inbound outbound default`
does, after validating the settings and configuring JSON logs).

By default it runs WORKER_PROCESSES worker processes (rq's WorkerPool, which restarts any that die), each running
jobs in its own process without forking per job: a fork per job costs about 0.2 s and a fresh set of database
and Magento connections, which alone misses a one-second webhook-to-POS target. `--fork` runs each job in a
forked child instead (a crashing job then never takes its worker down). Other options: `--burst` (stop when the
queues are empty), `--processes N`, and the queue names in priority order (default: inbound outbound default).

With ALERT_WEBHOOK_URL set, a thread of the worker process checks every `syncapi.alerts.CHECK_INTERVAL_S`
for alerts to send (`syncapi.alerts.check`).
"""

from __future__ import annotations

import argparse
import logging
import threading

from rq import SimpleWorker, Worker
from rq.defaults import DEFAULT_JOB_MONITORING_INTERVAL
from rq.worker import BaseWorker, WorkerStatus
from rq.worker_pool import WorkerPool

from syncapi import alerts, logs, services
from syncapi.config import load_settings
from syncapi.queues import QUEUE_NAMES, connect_redis

log = logging.getLogger(__name__)


def heartbeat_interval_s(worker_ttl_s: int) -> int:
    """Seconds between the heartbeats of a running job: half WORKER_TTL, at most rq's default of 30."""
    return max(1, min(DEFAULT_JOB_MONITORING_INTERVAL, worker_ttl_s // 2))


class _ServiceIntervals:
    """Heartbeat and maintenance intervals from the process's settings (WORKER_TTL, WORKER_MAINTENANCE_INTERVAL).

    A killed worker's job is requeued once its last heartbeat is older than one heartbeat interval plus rq's fixed
    60 s and a live worker's maintenance pass (every WORKER_MAINTENANCE_INTERVAL) sees it. The settings are read
    here rather than passed in because rq's WorkerPool builds its workers with no options of ours.
    """

    def __init__(self, *args, **kwargs):
        settings = services.current().settings
        kwargs.setdefault("worker_ttl", settings.worker_ttl_s)
        kwargs.setdefault("maintenance_interval", settings.worker_maintenance_interval_s)
        kwargs.setdefault("job_monitoring_interval", heartbeat_interval_s(kwargs["worker_ttl"]))
        super().__init__(*args, **kwargs)


class ServiceWorker(_ServiceIntervals, SimpleWorker):
    """A non-forking worker whose running job keeps beating, so a killed worker's job is recovered in minutes.

    rq's SimpleWorker beats nothing while a job runs, so it marks each job alive for its whole timeout plus 60 s
    (JOB_TIMEOUT 1800 s: a killed worker's job sat for 31 minutes before another worker took it). Here a thread
    renews the job's heartbeat every interval while the job runs, and the job is marked alive for one interval
    plus 60 s, as rq's forking Worker does.
    """

    _beat: _Heartbeat | None = None

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        """One heartbeat interval plus rq's 60 s (within the job's timeout), as for a forking worker."""
        return BaseWorker.get_heartbeat_ttl(self, job, working_time)

    def execute_job(self, job, queue):
        """Run `job` in this process while a thread renews its heartbeat."""
        execution = self.prepare_execution(job)
        self._beat = _Heartbeat(self, job, execution)
        self._beat.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            self._stop_beating()
        self.set_state(WorkerStatus.IDLE)

    def cleanup_execution(self, job, pipeline, execution=None):
        """Stop beating before the job leaves the started registry, so no late beat puts it back."""
        self._stop_beating()
        super().cleanup_execution(job, pipeline, execution)

    def _stop_beating(self) -> None:
        if self._beat is not None:
            self._beat.stop()
            self._beat = None


class _Heartbeat(threading.Thread):
    """Renews a running job's heartbeat (and its worker's) every `job_monitoring_interval` seconds until stopped."""

    def __init__(self, worker: ServiceWorker, job, execution):
        super().__init__(name=f"heartbeat-{job.id}", daemon=True)
        self.worker = worker
        self.job = job
        self.execution = execution
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.worker.job_monitoring_interval):
            try:
                self.worker.maintain_heartbeats(self.job, self.execution)
            except Exception as exc:  # a Redis hiccup: the next beat tries again; the job itself goes on
                log.warning("job heartbeat not renewed", extra={"job_id": self.job.id, "error": str(exc)})

    def stop(self) -> None:
        """Stop beating; returns once no beat is under way."""
        self._stopped.set()
        if self is not threading.current_thread():
            self.join()


class AlertWatch(threading.Thread):
    """Runs `alerts.check` every `interval_s` seconds until stopped; a failed check is logged, never raised."""

    def __init__(self, svc: services.Services, interval_s: float = alerts.CHECK_INTERVAL_S):
        super().__init__(name="alert-watch", daemon=True)
        self.svc = svc
        self.interval_s = interval_s
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                alerts.check(self.svc)
            except Exception:  # Redis or the state database away: the next check tries again
                log.exception("alert check failed")
            self._stopped.wait(self.interval_s)

    def stop(self) -> None:
        """Stop checking; returns once no check is under way."""
        self._stopped.set()
        if self is not threading.current_thread():
            self.join()


class ForkingServiceWorker(_ServiceIntervals, Worker):
    """A worker that forks a child per job (which rq's own monitor keeps beating), with the service's intervals."""


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
    logs.log_startup(settings, "worker")
    svc = services.install(services.Services(settings))  # what the workers and their jobs read their settings from
    if settings.alert_webhook_url:
        AlertWatch(svc).start()
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
