"""The cron schedule as an rq cron config file, for `rq cron jobs/schedule.py`.

rq's loader runs this file and takes what it registered with `rq.cron.register`, so the schedule is read from
the process's settings (`syncapi.services.current_settings`: those of its installed `Services`, else the
environment's) when it is loaded; nothing else is built. Nothing in the service
imports it: the cron process (`python -m syncapi.cron`) calls `jobs.periodic.register_schedule` itself.
"""

from rq import cron

from jobs.periodic import register_schedule
from syncapi import services

register_schedule(cron, services.current_settings())
