"""Alerts to `ALERT_WEBHOOK_URL`: one message per new kind of problem on the attention list (its `code`, not each
record), and one when the cron process stops ticking.

`check(svc)` decides and sends; the worker process calls it every `CHECK_INTERVAL_S` (a worker, not the cron,
so that the cron's own death is noticed). Any number of workers may check at once: Redis's atomic SADD and
SET NX let exactly one of them send each alert. A code that leaves the list is forgotten, so its return is news
again; an alert that could not be delivered is forgotten too, so the next check sends it again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from rq.cron_scheduler_registry import get_registry_key
from rq.defaults import DEFAULT_CRON_SCHEDULER_TTL

from syncapi import attention, problems
from syncapi.notify import escape, post_alert
from syncapi.services import Services

log = logging.getLogger(__name__)

#: Seconds between two checks in a worker process.
CHECK_INTERVAL_S = 60
#: Redis set of the codes already announced while they stay on the list.
ALERTED_CODES_KEY = "syncapi:alerts:codes"
#: Set once the cron was seen ticking (a cron that never ran has not stopped).
CRON_SEEN_KEY = "syncapi:alerts:cron-seen"
#: Set while the cron's stop has been announced.
CRON_DOWN_KEY = "syncapi:alerts:cron-down"
#: Seconds without a heartbeat after which the cron counts as stopped: rq's own staleness threshold.
CRON_STALE_S = DEFAULT_CRON_SCHEDULER_TTL
CRON_TICKING = "ticking"
CRON_STOPPED = "stopped"
CRON_NEVER_SEEN = "not seen"


@dataclass
class Checked:
    """What one check sent: the codes announced, and whether the cron's stop was."""

    codes: list[str] = field(default_factory=list)
    cron_stopped: bool = False


def cron_state(svc: Services) -> str:
    """`ticking` while a cron scheduler's heartbeat is fresh; `stopped` once one was seen and none is; else
    `not seen`."""
    beats = svc.redis.zrange(get_registry_key(), -1, -1, withscores=True)
    if beats and time.time() - beats[0][1] <= CRON_STALE_S:
        svc.redis.set(CRON_SEEN_KEY, "1")
        return CRON_TICKING
    return CRON_STOPPED if svc.redis.exists(CRON_SEEN_KEY) else CRON_NEVER_SEEN


def check(svc: Services) -> Checked:
    """Send the alerts due now (nothing without `ALERT_WEBHOOK_URL`)."""
    done = Checked()
    url = svc.settings.alert_webhook_url
    if not url:
        return done
    by_code: dict[str, list[attention.Item]] = {}
    for item in attention.items(svc):
        by_code.setdefault(item.code, []).append(item)
    gone = {code.decode() for code in svc.redis.smembers(ALERTED_CODES_KEY)} - set(by_code)
    if gone:
        svc.redis.srem(ALERTED_CODES_KEY, *gone)
    for code in sorted(by_code):
        if not svc.redis.sadd(ALERTED_CODES_KEY, code):
            continue  # announced already (by this or another worker)
        if post_alert(url, problem_text(code, by_code[code])):
            done.codes.append(code)
        else:
            svc.redis.srem(ALERTED_CODES_KEY, code)
    state = cron_state(svc)
    if state == CRON_TICKING:
        svc.redis.delete(CRON_DOWN_KEY)
    elif state == CRON_STOPPED and svc.redis.set(CRON_DOWN_KEY, "1", nx=True):
        if post_alert(url, cron_text()):
            done.cron_stopped = True
        else:
            svc.redis.delete(CRON_DOWN_KEY)
    return done


def problem_text(code: str, found: list[attention.Item]) -> str:
    """The message for a new kind of problem: how many records, one example in its own words, what to do."""
    first = found[0]
    record = f"{first.entity} {first.magento_number or first.key}"
    count = f"{len(found)} record{'s' if len(found) > 1 else ''} need{'' if len(found) > 1 else 's'} attention"
    return escape(
        f"syncapi: {count} ({code}). For example {record}: {first.message}. "
        f"What to do: {problems.advice(code)}. The list: GET /api/v1/attention?code={code}"
    )


def cron_text() -> str:
    """The message for a cron that stopped ticking."""
    return (
        f"syncapi: the cron process has not ticked for over {CRON_STALE_S} s: scheduled pushes and the sales "
        "reconcile are not being started. Check the cron process (python -m syncapi.cron)."
    )
