"""The periodic jobs, loaded by the cron process (`python -m syncapi.cron`, or `rq cron jobs/schedule.py`).

Each entry only fans out: it enqueues ordinary jobs that carry the project's retry options, because rq's cron
has no retry of its own. Intervals come from the settings (CONTRACT §2).
"""

from rq import cron  # noqa: F401  (entries register with cron.register)

from syncapi import services

settings = services.current().settings
