"""Old paths of the cron schedule's jobs, kept for one release: RQ stores a queued job's function by its dotted
path, so `syncapi.runs.start_scheduled` and `syncapi.runs.prune_history` queued before the upgrade still run.
They live in `jobs.periodic`; runs are started by `jobs.dispatch` and tracked by `syncapi.run_lifecycle`."""

from jobs.periodic import prune_history, start_scheduled

__all__ = ["prune_history", "start_scheduled"]
