"""Redis and the RQ queues: built once per app (or per worker) from the settings, never at import time.

`enqueue()` is the one place that sets the project's standard job options: a deterministic job id, the
timeout, result and failure TTLs, `Retry` with backoff and the failure callback.
"""

from __future__ import annotations

import inspect
import logging
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from rq import Callback, Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.utils import get_call_string, now, utcformat

from syncapi.config import Settings
from syncapi.metrics import Counted, observe_job

log = logging.getLogger(__name__)

QUEUE_INBOUND = "inbound"
QUEUE_OUTBOUND = "outbound"
QUEUE_DEFAULT = "default"
QUEUE_NAMES = (QUEUE_INBOUND, QUEUE_OUTBOUND, QUEUE_DEFAULT)

#: Seconds a successful job's result is kept (long enough to read it back through the API).
RESULT_TTL_S = 3600
#: Seconds a failed job stays in the failed registry for an operator to inspect and retry.
FAILURE_TTL_S = 14 * 24 * 3600
SECONDS_PER_DAY = 24 * 3600
#: Seconds a queued job may wait for a worker before it expires: a week covers any outage worth surviving.
QUEUED_TTL_S = 7 * 24 * 3600
#: Redis socket timeouts, in seconds: a dead Redis must fail a request fast, not hang it.
REDIS_SOCKET_TIMEOUT_S = 5
REDIS_CONNECT_TIMEOUT_S = 2

#: States in which a job with the same id means "the same work is already on its way".
PENDING_STATES = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED})

#: Suffix of the one follow-up job queued behind a running job with the same id.
FOLLOW_UP_SUFFIX = "-again"

#: Longest argument shown in a job's description, as rq cuts it.
DESCRIPTION_CHARS = 75

_JOB_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class _JobTemplate:
    """The fields every job of one function on one queue shares, as rq writes them."""

    func_name: str
    instance: object  # the object of a bound method, else None
    fields: dict


class QueueUnavailableError(Exception):
    """Redis did not answer: nothing was queued."""


def job_id(*parts: object) -> str:
    """A deterministic rq job id from `parts` (`job_id("order", 12)` -> `order-12`); rq allows [A-Za-z0-9_-]."""
    return "-".join(_JOB_ID_UNSAFE.sub("_", str(part)) for part in parts)


def connect_redis(url: str) -> redis.Redis:
    """A Redis client for `url` with short socket timeouts (rq needs bytes, so no decoding)."""
    return redis.Redis.from_url(
        url,
        socket_timeout=REDIS_SOCKET_TIMEOUT_S,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S,
        health_check_interval=30,
    )


@dataclass(frozen=True)
class Enqueued:
    """What `enqueue()` did: `status` is `queued` or `duplicate`."""

    job_id: str
    status: str


_QUEUED, _DUPLICATE, _HELD_BY_FINISHED_JOB = 1, 0, 2

#: Enqueue in one round trip: what `Queues.enqueue` decides, and rq's unique enqueue (save the job hash unless the
#: key exists, expire it, push its id, register the queue), atomically, so two deliveries at once queue one job.
#: KEYS: the job's key, its follow-up's key, the queue, rq's set of queues, optionally a counter hash.
#: ARGV: the two ids, the job's TTL in seconds, the counter fields for queued and duplicate, then the job's fields.
#: Answers {candidate (1 or 2), outcome}: 1 queued, 0 duplicate, 2 held by a finished or failed job.
_ENQUEUE_SCRIPT = f"""
local function count(field)
  if KEYS[5] then redis.pcall('HINCRBY', KEYS[5], field, 1) end
end
for i = 1, 2 do
  local status = redis.call('HGET', KEYS[i], 'status')
  if not (i == 1 and status == '{JobStatus.STARTED.value}') then
    if {" or ".join(f"status == '{state.value}'" for state in sorted(PENDING_STATES))}
        or (not status and redis.call('EXISTS', KEYS[i]) == 1) then
      count(ARGV[5])
      return {{i, {_DUPLICATE}}}
    end
    if status then
      return {{i, {_HELD_BY_FINISHED_JOB}}}
    end
    redis.call('HSET', KEYS[i], unpack(ARGV, 6))
    local ttl = tonumber(ARGV[3])
    if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
    redis.call('RPUSH', KEYS[3], ARGV[i])
    redis.call('SADD', KEYS[4], KEYS[3])
    count(ARGV[4])
    return {{i, {_QUEUED}}}
  end
end
"""


class Queues:
    """The service's RQ queues over one Redis connection."""

    def __init__(self, connection: redis.Redis, settings: Settings):
        self.connection = connection
        self.settings = settings
        self._queues = {name: Queue(name, connection=connection) for name in QUEUE_NAMES}
        self._enqueue_script = connection.register_script(_ENQUEUE_SCRIPT)
        self._templates: dict[tuple[str, object], _JobTemplate] = {}

    def __getitem__(self, name: str) -> Queue:
        return self._queues[name]

    def __iter__(self):
        return iter(self._queues.values())

    def enqueue(
        self,
        queue_name: str,
        func,
        *args,
        job_id: str,
        meta: dict | None = None,
        counter: Counted | None = None,
        **kwargs,
    ) -> Enqueued:
        """Queue `func(*args, **kwargs)` under `job_id` unless the same job is already waiting.

        A job that is waiting (queued, scheduled for a retry) makes this a `duplicate`. A job that is
        already running may have read its record before the change being announced now, so one follow-up
        (`<job_id>-again`) is queued behind it. A finished or failed job is replaced, so a later event for
        the same record is never lost. `meta` (e.g. the webhook delivery id) is stored with the job for
        operators; it never takes part in deduplication. `counter` is counted once, by outcome, in the same round
        trip. Raises `QueueUnavailableError` when Redis cannot be reached, so callers never report success for
        work that is not in Redis.
        """
        queue = self._queues[queue_name]
        candidates = (job_id, f"{job_id}{FOLLOW_UP_SUFFIX}")
        try:
            fields = self._job_fields(queue, func, args, kwargs, meta)
            keys = [Job.key_for(candidates[0]), Job.key_for(candidates[1]), queue.key, Queue.redis_queues_keys]
            argv = [*candidates, QUEUED_TTL_S, "", ""]
            if counter is not None:
                keys.append(counter.key)
                argv[3:5] = [counter.queued_field, counter.duplicate_field]
            for _ in range(len(candidates) + 1):
                # One round trip reads both statuses and queues the job (or counts a duplicate), atomically.
                index, outcome = self._enqueue_script(keys=keys, args=[*argv, *fields])
                candidate = candidates[index - 1]
                if outcome != _HELD_BY_FINISHED_JOB:
                    return Enqueued(candidate, "queued" if outcome == _QUEUED else "duplicate")
                # A finished or failed job holds the id: rq removes it (and its registry entries), then try again.
                existing = _fetch(candidate, self.connection)
                if existing is not None:
                    existing.delete(remove_from_queue=True)
                else:  # a hash rq cannot load as a job: nothing to keep
                    self.connection.delete(Job.key_for(candidate))
        except redis.RedisError as exc:
            raise QueueUnavailableError(f"Redis at {_where(self.connection)} did not answer: {exc}") from exc
        raise QueueUnavailableError(f"job {job_id} kept being replaced in Redis at {_where(self.connection)}")

    def _job_fields(self, queue: Queue, func, args, kwargs, meta: dict | None) -> list:
        """The job's hash as rq would write it on enqueue, as a flat field, value list (the same for both ids).

        What is the same for every job of one function on one queue (options, callbacks, origin) comes from a
        job rq built once per function (or function name); only the call, its description, the metadata and the
        times are made per job.
        """
        if isinstance(func, str) or inspect.isfunction(func):
            template = self._templates.get((queue.name, func))
            if template is None:
                template = self._templates.setdefault((queue.name, func), self._job_template(queue, func))
        else:  # a bound method or a callable object: its instance is part of the job, so nothing is kept
            template = self._job_template(queue, func)
        serializer = queue.serializer
        stamp = utcformat(now())
        fields = dict(template.fields)
        fields["created_at"] = fields["enqueued_at"] = stamp
        fields["data"] = zlib.compress(serializer.dumps((template.func_name, template.instance, args, kwargs)))
        fields["description"] = get_call_string(template.func_name, args, kwargs, max_length=DESCRIPTION_CHARS)
        if meta:
            fields["meta"] = serializer.dumps(meta)
        return [item for field in fields.items() for item in field]

    def _job_template(self, queue: Queue, func) -> _JobTemplate:
        """What rq's own enqueue writes for every job of `func` on `queue`, whatever its id, arguments and time."""
        options = self.job_options("template")
        options["timeout"] = options.pop("job_timeout")
        job = queue.create_job(func, **options)
        queue._prepare_for_queue(job)  # origin, enqueued_at, timeout and status, exactly as rq's own enqueue sets them
        fields = {name: value for name, value in job.to_dict().items() if value is not None}
        return _JobTemplate(job.func_name, job._instance, fields)

    def job_options(self, job_id: str) -> dict:
        """The project's standard rq options for a job with id `job_id`."""
        retries = self.settings.job_max_retries
        # Backoff from JOB_RETRY_INTERVALS; rq repeats the last interval for any further retries.
        intervals = list(self.settings.job_retry_intervals_s[:retries])
        return {
            "job_id": job_id,
            "job_timeout": self.settings.job_timeout_s,
            "result_ttl": RESULT_TTL_S,
            # A failed job's error may quote a customer: it is kept no longer than PERSONAL_DATA_DAYS.
            "failure_ttl": min(FAILURE_TTL_S, self.settings.personal_data_days * SECONDS_PER_DAY),
            "ttl": QUEUED_TTL_S,
            "retry": Retry(max=retries, interval=intervals) if retries else None,
            "on_success": Callback(record_job_success),
            "on_failure": Callback(log_job_failure),
        }

    def ping(self) -> None:
        """Raise `QueueUnavailableError` unless Redis answers."""
        try:
            self.connection.ping()
        except redis.RedisError as exc:
            raise QueueUnavailableError(f"Redis at {_where(self.connection)} did not answer: {exc}") from exc


def _fetch(job_id: str, connection: redis.Redis) -> Job | None:
    try:
        return Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return None


def _where(connection: redis.Redis) -> str:
    kwargs = connection.connection_pool.connection_kwargs
    return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"


def _seconds_since_start(job: Job) -> float:
    started = job.started_at
    if started is None:
        return 0.0
    return max((datetime.now(UTC) - started.replace(tzinfo=started.tzinfo or UTC)).total_seconds(), 0.0)


def record_job_success(job: Job, connection, result) -> None:
    """rq success callback: count the job and its duration in the shared metrics."""
    observe_job(job.func_name, "succeeded", _seconds_since_start(job), connection=connection)


def log_job_failure(job: Job, connection, exc_type, exc_value, traceback) -> None:
    """rq failure callback: one log line per failed attempt with the job id and the reason, and the metrics."""
    # rq calls this before it decrements `retries_left`, so a positive value means another attempt follows.
    outcome = "retried" if job.retries_left else "failed"
    log.error(
        "job failed" if outcome == "failed" else "job failed; will retry",
        extra={"job_id": job.id, "func": job.func_name, "error": f"{exc_type.__name__}: {exc_value}"},
    )
    observe_job(job.func_name, outcome, _seconds_since_start(job), connection=connection)
