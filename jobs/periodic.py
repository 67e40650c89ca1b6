"""The periodic jobs and their schedule.

`register_schedule(cron, settings)` registers them with an rq cron scheduler: the cron process
(`python -m syncapi.cron`) calls it with its `CronScheduler`; `jobs/schedule.py` calls it with `rq.cron` for
`rq cron jobs/schedule.py`. Each entry only fans out: it starts a run, which enqueues an ordinary job carrying
the project's retry options (rq's cron has no retry of its own). A tick while the previous scheduled run of the
same kind is still waiting joins it instead of queueing a second one. Intervals come from the settings
(docs/configuration.md#settings-users-set).
"""

from __future__ import annotations

from jobs.dispatch import JOBS
from syncapi import services
from syncapi.config import Settings
from syncapi.personal_data import purge_expired
from syncapi.queues import QUEUE_DEFAULT
from syncapi.run_lifecycle import scheduled_intervals, start_scheduled_run
from syncapi.state.run_history import prune_runs

#: Seconds between prunes of run history older than RUN_HISTORY_DAYS.
PRUNE_INTERVAL_S = 6 * 3600
#: Seconds between purges of personal data older than PERSONAL_DATA_DAYS (docs/personal-data.md).
PURGE_PERSONAL_DATA_INTERVAL_S = 6 * 3600


def start_scheduled(kind: str) -> dict:
    """Start the scheduled run of `kind` (joins one still waiting), unless it is a first run still waiting for
    the first runs it comes after (`syncapi.run_lifecycle.plan_first_runs`)."""
    return start_scheduled_run(services.current(), kind, JOBS)


def prune_history() -> int:
    """Delete finished runs older than RUN_HISTORY_DAYS; returns how many."""
    svc = services.current()
    return prune_runs(svc.state_engine, svc.settings.run_history_days)


def purge_personal_data() -> dict[str, int]:
    """Clear personal data older than PERSONAL_DATA_DAYS (docs/personal-data.md); counts by kind."""
    return purge_expired(services.current())


def register_schedule(cron, settings: Settings) -> list[str]:
    """Register the periodic jobs with `cron` (a `CronScheduler`, or the `rq.cron` module); their names."""
    names = []
    for kind, interval_s in scheduled_intervals(settings).items():
        if interval_s > 0:  # 0 turns a scheduled push off
            name = f"scheduled-{kind}"
            cron.register(start_scheduled, QUEUE_DEFAULT, args=(kind,), interval=interval_s, name=name)
            names.append(name)
    cron.register(prune_history, QUEUE_DEFAULT, interval=PRUNE_INTERVAL_S, name="prune-history")
    cron.register(
        purge_personal_data, QUEUE_DEFAULT, interval=PURGE_PERSONAL_DATA_INTERVAL_S, name="purge-personal-data"
    )
    return [*names, "prune-history", "purge-personal-data"]
