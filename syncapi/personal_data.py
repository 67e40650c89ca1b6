"""Customers' personal data held by the service itself: kept PERSONAL_DATA_DAYS at most, forgotten on request.

- `purge_expired(svc)`, run by the cron schedule's job `jobs.periodic.purge_personal_data`, clears link errors,
  run errors and run failure reasons older than PERSONAL_DATA_DAYS, and deletes failed jobs (whose errors may
  quote a customer) older than that; new failed jobs expire by then anyway (their failure TTL).
- `flask --app app forget customer EMAIL` removes what the service holds about one customer: their links and
  hashes, every stored error, reason or job that quotes the email, in the state database and in Redis; then says
  what the POS and Magento still hold, which their own processes must erase.

See docs/personal-data.md.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import redis as redis_lib
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from syncapi import services
from syncapi.queues import QUEUE_NAMES
from syncapi.services import Services
from syncapi.state.personal import purge_personal_data as purge_state
from syncapi.state.personal import text_mentions

log = logging.getLogger(__name__)

#: Key prefixes of what the service keeps in Redis (rq's and its own); nothing else in the database is read.
REDIS_PREFIXES = ("rq:", "syncapi:")
JOB_KEY_PREFIX = "rq:job:"
RESULTS_KEY_PREFIX = "rq:results:"
#: Keys read per SCAN step.
SCAN_COUNT = 500


@dataclass
class RedisForgotten:
    """What `forget_customer_in_redis` removed."""

    jobs: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


def purge_expired(svc: Services) -> dict[str, int]:
    """Clear personal data older than PERSONAL_DATA_DAYS; counts by kind."""
    days = svc.settings.personal_data_days
    counts = purge_state(svc.state_engine, days)
    counts["failed_jobs"] = purge_failed_jobs(svc.queues.connection, days)
    log.info("personal data older than the retention cleared", extra={"days": days, **counts})
    return counts


def purge_personal_data() -> dict[str, int]:
    """The purge job's old path (`jobs.periodic.purge_personal_data` now), kept one release for queued jobs."""
    return purge_expired(services.current())


def purge_failed_jobs(connection: redis_lib.Redis, older_than_days: int) -> int:
    """Delete failed jobs that ended more than `older_than_days` days ago, from every queue; how many."""
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    deleted = 0
    for name in QUEUE_NAMES:
        registry = FailedJobRegistry(name, connection=connection)
        for job_id in registry.get_job_ids():
            try:
                job = Job.fetch(job_id, connection=connection)
            except NoSuchJobError:
                registry.remove(job_id)
                continue
            ended = job.ended_at
            if ended is not None and ended.replace(tzinfo=ended.tzinfo or UTC) < cutoff:
                job.delete(remove_from_queue=True)
                deleted += 1
    return deleted


def forget_customer_in_redis(connection: redis_lib.Redis, email: str) -> RedisForgotten:
    """Delete every job (with its results and registry entries) and every other service key that quotes `email`."""
    done = RedisForgotten()
    for prefix in REDIS_PREFIXES:
        for raw_key in connection.scan_iter(match=f"{prefix}*", count=SCAN_COUNT):
            key = raw_key.decode("utf-8", "replace")
            if not (text_mentions(key, email) or any(text_mentions(text, email) for text in _texts(connection, key))):
                continue
            job_id = _job_id_of(key)
            if job_id is not None:
                if job_id not in done.jobs:
                    _delete_job(connection, job_id)
                    done.jobs.append(job_id)
                connection.delete(key)
            elif connection.delete(key):
                done.keys.append(key)
    return done


def _job_id_of(key: str) -> str | None:
    for prefix in (JOB_KEY_PREFIX, RESULTS_KEY_PREFIX):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return None


def _delete_job(connection: redis_lib.Redis, job_id: str) -> None:
    try:
        Job.fetch(job_id, connection=connection).delete(remove_from_queue=True)
    except Exception:  # a hash rq cannot load: its keys are deleted by the caller all the same
        connection.delete(Job.key_for(job_id))
    connection.delete(f"{RESULTS_KEY_PREFIX}{job_id}")


def _texts(connection: redis_lib.Redis, key: str) -> list[bytes]:
    """Every value stored under `key`, each also decoded where rq encoded it (see `_unwrapped`)."""
    kind = connection.type(key)
    kind = kind.decode() if isinstance(kind, bytes) else kind
    values: list[bytes] = []
    if kind == "string":
        values = [connection.get(key) or b""]
    elif kind == "hash":
        values = [item for pair in connection.hgetall(key).items() for item in pair]
    elif kind == "list":
        values = connection.lrange(key, 0, -1)
    elif kind == "set":
        values = list(connection.smembers(key))
    elif kind == "zset":
        values = connection.zrange(key, 0, -1)
    elif kind == "stream":
        for _entry_id, fields in connection.xrange(key):
            values += [item for pair in fields.items() for item in pair]
    out = []
    for value in values:
        out += _unwrapped(value.encode() if isinstance(value, str) else value)
    return out


def _unwrapped(value: bytes) -> list[bytes]:
    """`value`, and what it holds when rq compressed it (job data) or base64-encoded it (results, exceptions)."""
    found = [value]
    with contextlib.suppress(zlib.error):
        found.append(zlib.decompress(value))
    with contextlib.suppress(binascii.Error, ValueError):
        decoded = base64.b64decode(value, validate=True)
        found.append(decoded)
        with contextlib.suppress(zlib.error):
            found.append(zlib.decompress(decoded))
    return found
