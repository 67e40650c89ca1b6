"""The periodic jobs, loaded by the cron process (`python -m syncapi.cron`, or `rq cron jobs/schedule.py`).

Each entry only fans out: it starts a run, which enqueues an ordinary job carrying the project's retry options
(rq's cron has no retry of its own). A tick while the previous scheduled run of the same kind is still waiting
joins it instead of queueing a second one. Intervals come from the settings (README, "Settings").
"""

from rq import cron

from syncapi import services
from syncapi.personal_data import purge_personal_data
from syncapi.queues import QUEUE_DEFAULT
from syncapi.runs import prune_history, scheduled_intervals, start_scheduled

#: Seconds between prunes of run history older than RUN_HISTORY_DAYS.
PRUNE_INTERVAL_S = 6 * 3600
#: Seconds between purges of personal data older than PERSONAL_DATA_DAYS (docs/personal-data.md).
PURGE_PERSONAL_DATA_INTERVAL_S = 6 * 3600

settings = services.current().settings

INTERVALS_S = scheduled_intervals(settings)

for kind, interval_s in INTERVALS_S.items():
    if interval_s > 0:  # 0 turns a scheduled push off
        cron.register(start_scheduled, QUEUE_DEFAULT, args=(kind,), interval=interval_s, name=f"scheduled-{kind}")

cron.register(prune_history, QUEUE_DEFAULT, interval=PRUNE_INTERVAL_S, name="prune-history")
cron.register(purge_personal_data, QUEUE_DEFAULT, interval=PURGE_PERSONAL_DATA_INTERVAL_S, name="purge-personal-data")
