"""The cron process: `python -m syncapi.cron` (what `rq cron jobs/schedule.py` does, kept single).

It builds its `Services` once at start and registers the schedule of `jobs.periodic` with its scheduler.

Only one cron process may enqueue the periodic jobs, or every push would run twice. It holds a Redis lock
(`syncapi:cron:lock`, renewed while it lives, expiring `CRON_LOCK_TTL_S` after it dies); a second cron process
waits for the lock instead of scheduling, so a standby can run on another machine.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime

from rq.cron import CronScheduler

from jobs.dispatch import plan_first_runs
from jobs.periodic import register_schedule
from syncapi import logs, services
from syncapi.config import load_settings
from syncapi.run_lifecycle import scheduled_intervals

log = logging.getLogger(__name__)

CRON_LOCK_KEY = "syncapi:cron:lock"
#: Seconds the lock outlives a cron process that died without releasing it.
CRON_LOCK_TTL_S = 30
#: Exit code when the lock was lost to another process: a temporary state (sysexits' EX_TEMPFAIL), to restart on,
#: unlike the bad-settings code 3 that supervisors do not restart (docs/deployment-checks.md).
EXIT_LOCK_LOST = 75
#: Seconds between renewals of the lock, and between attempts to take it.
CRON_LOCK_RENEW_S = 10


class CronLock:
    """A Redis lock that says which cron process schedules; renewed by a daemon thread."""

    def __init__(self, connection, owner: str):
        self.connection = connection
        self.owner = owner
        self._stop = threading.Event()

    def acquire(self) -> bool:
        """Take the lock if it is free (or already ours)."""
        if self.connection.set(CRON_LOCK_KEY, self.owner, nx=True, ex=CRON_LOCK_TTL_S):
            return True
        return self._renew()

    def _renew(self) -> bool:
        # Compare-and-expire in one step, so a lock taken over by another process is never extended.
        script = (
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end return 0"
        )
        return bool(self.connection.eval(script, 1, CRON_LOCK_KEY, self.owner, CRON_LOCK_TTL_S))

    def keep_renewed(self) -> None:
        """Renew the lock in the background; exits the process if it is lost (another cron took over)."""

        def loop():
            while not self._stop.wait(CRON_LOCK_RENEW_S):
                try:
                    if not self._renew():
                        log.error("cron lock lost to another process; stopping", extra={"owner": self.owner})
                        os._exit(EXIT_LOCK_LOST)
                except Exception:
                    log.exception("cron lock renewal failed; retrying")

        threading.Thread(target=loop, name="cron-lock", daemon=True).start()

    def release(self) -> None:
        """Give the lock up if it is still ours."""
        self._stop.set()
        script = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
        try:
            self.connection.eval(script, 1, CRON_LOCK_KEY, self.owner)
        except Exception:
            log.warning("could not release the cron lock; it expires by itself")


def main() -> int:
    """Wait for the cron lock, then enqueue the periodic jobs of `jobs.periodic` until stopped."""
    settings = load_settings()
    logs.configure(settings)
    logs.log_startup(settings, "cron")
    svc = services.install(services.Services(settings))  # what the periodic jobs run in this process read
    connection = svc.redis
    lock = CronLock(connection, f"{socket.gethostname()}:{os.getpid()}")
    waiting_logged = False
    while not lock.acquire():
        if not waiting_logged:
            log.info("another cron process is scheduling; waiting for its lock", extra={"lock": CRON_LOCK_KEY})
            waiting_logged = True
        time.sleep(CRON_LOCK_RENEW_S)
    lock.keep_renewed()
    log.info("cron lock taken; scheduling", extra={"owner": lock.owner})
    try:
        scheduler = CronScheduler(connection=connection, logging_level=settings.log_level.upper())
        register_schedule(scheduler, settings)
        kinds = [kind for kind, interval_s in scheduled_intervals(settings).items() if interval_s > 0]
        try:
            plan_first_runs(svc, kinds)
        except Exception:  # the schedule still runs every kind, only not in order
            log.exception("could not plan the first runs; the schedule starts them as usual")
        else:
            # The planned runs are the schedule's first ticks: without this rq would start each kind again now.
            started_at = datetime.now(UTC)
            for job in scheduler.get_jobs():
                if job.name in {f"scheduled-{kind}" for kind in kinds}:
                    job.set_enqueue_time(started_at)
        scheduler.start()
    finally:
        lock.release()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
