"""What needs an operator: records that failed for good or keep being retried, read from the state the JSON
endpoints serve (links, the failed-job registries, the run history), and the operator's actions on them.

Each item is one of:

- `link-<entity>-<magento_id>`: a Magento record whose import failed for good (`failed` link) or keeps failing
  (`pending` with an error, retried by RQ);
- `run-<run_id>`: the latest push or pull of a kind when it ended `failed` or `partial` (its errors name the
  records; `tries` counts the runs in a row that ended so);
- `job-<job_id>`: a job in a failed registry that neither a link nor a run stands for.

Every item carries a `code` from `syncapi.problems` and its reason as one sentence. Retrying an item queues its
work again through the same paths the webhooks, `POST /api/v1/jobs/failed/<job_id>/retry` and
`POST /api/v1/sync/<kind>` use; dismissing hides it until it fails again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from syncapi import problems
from syncapi.logs import SecretMaskFilter, secret_values
from syncapi.queues import FOLLOW_UP_SUFFIX, QUEUE_INBOUND, QUEUE_NAMES, job_id
from syncapi.run_lifecycle import StartedRun, requeued, run_of_job
from syncapi.services import Services
from syncapi.state import dismissals as dismissals_store
from syncapi.state import run_history as runs_store
from syncapi.state.links import LINK_ENTITIES, Link, failing_links, get_link
from syncapi.state.models import utcnow

SOURCE_LINK = "link"
SOURCE_RUN = "run"
SOURCE_JOB = "job"
#: Runs looked at per kind when counting how many in a row ended failed or partial.
RUNS_LOOKED_AT = 50
#: Most links read for the list at once (oldest first).
MAX_LINKS = 1000
#: Run statuses that put the latest run of a kind on the list.
FAILING_RUN_STATUSES = (runs_store.RUN_FAILED, runs_store.RUN_PARTIAL)
#: The `kind` an item of a failed job without record has.
KIND_JOB = "job"
#: Every value the `kind` filter takes: the link entities, the run kinds, and `job`.
KINDS = (*LINK_ENTITIES, *runs_store.RUN_KINDS, KIND_JOB)
#: A duration for `older_than`: a whole number with a unit (s, m, h, d), or seconds alone.
_DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
#: Longest `older_than` worth comparing: nothing the service holds is older; a longer one means the same.
MAX_OLDER_THAN = timedelta(days=36500)

StartSync = Callable[..., StartedRun]


class AttentionNotFoundError(LookupError):
    """No item with that id needs attention (never did, or no longer does)."""


@dataclass(frozen=True)
class Item:
    """One thing that needs an operator, as the attention list answers it."""

    id: str
    entity: str
    key: str
    magento_number: str | None
    code: str
    message: str
    since: datetime
    tries: int

    def as_dict(self) -> dict:
        """The item as the API answers it."""
        return asdict(self)


def parse_older_than(text: str | None) -> timedelta | None:
    """`older_than` (`30m`, `2h`, `1d`, or seconds alone) as a duration; ValueError for anything else."""
    if text is None or text == "":
        return None
    found = _DURATION.match(str(text))
    if not found:
        raise ValueError(f"older_than must be a whole number with a unit s, m, h or d (e.g. 2h), got {text!r}")
    seconds = int(found.group(1)) * _UNIT_S[found.group(2)]
    return min(timedelta(seconds=seconds), MAX_OLDER_THAN)


def items(
    svc: Services,
    kind: str | None = None,
    older_than: timedelta | None = None,
    code: str | None = None,
    *,
    with_dismissed: bool = False,
) -> list[Item]:
    """What needs attention, oldest first, optionally only of one `kind` or `code`, failing for longer than
    `older_than`; dismissed items are left out unless they failed again since (or `with_dismissed`)."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if code is not None and code not in problems.CODES:
        raise ValueError(f"code must be one of {', '.join(problems.CODES)}, got {code!r}")
    links = failing_links(svc.state_engine, MAX_LINKS)
    found = [*map(_link_item, links), *_run_items(svc), *_job_items(svc, links)]
    dismissed = {} if with_dismissed else dismissals_store.dismissals(svc.state_engine)
    cutoff = utcnow() - older_than if older_than is not None else None
    chosen = [
        item
        for item in found
        if (kind is None or item.entity == kind)
        and (code is None or item.code == code)
        and (cutoff is None or item.since <= cutoff)
        and not (item.id in dismissed and item.since <= dismissed[item.id].failed_at)
    ]
    return sorted(chosen, key=lambda item: (item.since, item.id))


def find(svc: Services, item_id: str) -> Item:
    """The item `item_id` (dismissed or not); AttentionNotFoundError when nothing by that id needs attention."""
    for item in items(svc, with_dismissed=True):
        if item.id == item_id:
            return item
    raise AttentionNotFoundError(f"nothing needs attention under the id {item_id!r}")


def dismiss(svc: Services, item_id: str, note: str) -> dismissals_store.Dismissal:
    """Hide `item_id` with the operator's `note` until it fails again."""
    item = find(svc, item_id)
    return dismissals_store.dismiss(svc.state_engine, item.id, item.since, note)


def retry(svc: Services, item_id: str, import_jobs: Mapping[str, Callable], start_sync: StartSync) -> dict:
    """Queue the work of `item_id` again: `{"id", "status": "queued" | "duplicate", "job_id"}`.

    A record's import is requeued from the failed registry when its job is there (getting back its retries),
    else queued afresh under its usual job id; a run's kind is started again (only its failed keys, for the
    kinds that take SKUs); a failed job is requeued.
    """
    item = find(svc, item_id)
    source, _, rest = item.id.partition("-")
    if source == SOURCE_LINK:
        entity, _, magento_id = rest.partition("-")
        return {"id": item.id, **_retry_import(svc, entity, magento_id, import_jobs)}
    if source == SOURCE_RUN:
        run = runs_store.get_run(svc.state_engine, int(rest))
        if run is None:
            raise AttentionNotFoundError(f"run {rest} is no longer stored")
        keys = _failed_keys(run) if run.kind in runs_store.SKU_KINDS else None
        started = start_sync(svc, run.kind, runs_store.TRIGGER_MANUAL, keys=keys or None)
        return {"id": item.id, "status": started.status, "job_id": started.job_id}
    requeued_job = _requeue_failed(svc, rest)
    if requeued_job is None:
        raise AttentionNotFoundError(f"job {rest} is no longer in a failed registry")
    return {"id": item.id, "status": "queued", "job_id": requeued_job.id}


def retry_all(
    svc: Services, code: str, kind: str | None, import_jobs: Mapping[str, Callable], start_sync: StartSync
) -> dict:
    """Retry every item of `code` (and `kind`, when given) not dismissed: `{"retried", "count", "skipped"}`."""
    done, skipped = [], []
    for item in items(svc, kind=kind, code=code):
        try:
            done.append(retry(svc, item.id, import_jobs, start_sync))
        except AttentionNotFoundError:
            skipped.append(item.id)  # resolved or requeued meanwhile
    return {"retried": done, "count": len(done), "skipped": skipped}


# --- links -----------------------------------------------------------------------------------------------------


def _link_item(link: Link) -> Item:
    return Item(
        id=f"{SOURCE_LINK}-{link.entity}-{link.magento_id}",
        entity=link.entity,
        key=link.magento_id,
        magento_number=link.magento_number,
        code=problems.classify(link.error),
        message=problems.sentence(link.error),
        since=link.updated_at,
        tries=link.attempts,
    )


def _retry_import(svc: Services, entity: str, magento_id: str, import_jobs: Mapping[str, Callable]) -> dict:
    record_job_id = job_id(entity, magento_id)
    requeued_job = _requeue_failed(svc, record_job_id)
    if requeued_job is not None:
        return {"status": "queued", "job_id": requeued_job.id}
    enqueued = svc.queues.enqueue(
        QUEUE_INBOUND,
        import_jobs[entity],
        int(magento_id),
        job_id=record_job_id,
        meta={"event": "operator retry"},
    )
    return {"status": enqueued.status, "job_id": enqueued.job_id}


# --- runs ------------------------------------------------------------------------------------------------------


def _run_items(svc: Services) -> Iterable[Item]:
    for kind in runs_store.RUN_KINDS:
        failing = []
        for run in runs_store.list_runs(svc.state_engine, kind=kind, limit=RUNS_LOOKED_AT):
            if "import" in run.params or not run.finished:
                continue  # one record's failed import is its link's item; a run under way says nothing yet
            if run.status not in FAILING_RUN_STATUSES:
                break
            failing.append(run)
        if failing:
            latest = runs_store.get_run(svc.state_engine, failing[0].run_id)
            yield _run_item(latest, since=failing[-1].created_at, tries=len(failing))


def _run_item(run: runs_store.Run, *, since: datetime, tries: int) -> Item:
    first = run.errors[0] if run.errors else None
    reason = (f"{first.key}: {first.message}" if first and first.key else first.message) if first else None
    reason = reason or run.reason or f"the {run.kind} run ended {run.status}"
    message = problems.sentence(first.message if first else reason)
    if first and first.key and first.key not in message:
        message = f"{first.key}: {message}"
    more = run.error_count - 1
    if more > 0:
        message += f" (and {more} more error{'s' if more > 1 else ''} in run {run.run_id})"
    return Item(
        id=f"{SOURCE_RUN}-{run.run_id}",
        entity=run.kind,
        key=first.key if first and first.key else str(run.run_id),
        magento_number=None,
        code=problems.classify(reason),
        message=message,
        since=since,
        tries=tries,
    )


def _failed_keys(run: runs_store.Run) -> list[str]:
    return sorted({error.key for error in run.errors if error.key})


# --- failed jobs -----------------------------------------------------------------------------------------------


def _job_items(svc: Services, links: list[Link]) -> Iterable[Item]:
    covered = {job_id(link.entity, link.magento_id) for link in links}
    mask = SecretMaskFilter(secret_values(svc.settings))
    for name in QUEUE_NAMES:
        registry = FailedJobRegistry(name, connection=svc.redis)
        for job in Job.fetch_many(registry.get_job_ids(), connection=svc.redis):
            if job is None or job.id.removesuffix(FOLLOW_UP_SUFFIX) in covered or _is_record_job(svc, job.id):
                continue
            if run_of_job(svc, job) is not None:
                continue  # its run stands for it
            yield _job_item(svc, job, mask)


def _is_record_job(svc: Services, failed_job_id: str) -> bool:
    """True for an import job whose record's link says it is no longer failing (synced since, or skipped)."""
    entity, _, rest = failed_job_id.removesuffix(FOLLOW_UP_SUFFIX).partition("-")
    return entity in LINK_ENTITIES and rest.isdigit() and get_link(svc.state_engine, entity, rest) is not None


def _job_item(svc: Services, job: Job, mask: SecretMaskFilter) -> Item:
    result = job.latest_result()
    lines = [line.strip() for line in (result.exc_string or "").splitlines() if line.strip()] if result else []
    # An exception may quote a credential (a client echoing its Authorization header): never pass it on.
    reason = mask.mask(lines[-1]) if lines else f"job {job.id} failed"
    retries = svc.settings.job_max_retries
    left = job.retries_left if job.retries_left is not None else retries
    return Item(
        id=f"{SOURCE_JOB}-{job.id}",
        entity=KIND_JOB,
        key=job.func_name or job.id,
        magento_number=None,
        code=problems.classify(reason) if lines else problems.JOB_FAILED,
        message=problems.sentence(reason),
        since=_aware(job.ended_at) if job.ended_at else utcnow(),
        tries=max(1, retries - left + 1),
    )


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _requeue_failed(svc: Services, failed_job_id: str) -> Job | None:
    for name in QUEUE_NAMES:
        registry = FailedJobRegistry(name, connection=svc.redis)
        if failed_job_id in registry:
            try:
                job = registry.requeue(failed_job_id)
            except (InvalidJobOperation, NoSuchJobError):
                return None  # requeued or expired meanwhile
            requeued(svc, job)
            return job
    return None
