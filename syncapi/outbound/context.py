"""What every push shares while it runs: settings, the POS gateway, the Magento client, a pool of threads for
concurrent calls, the run's recorder and its tally, and the policy for Magento's errors.

Error policy (docs/sync.md#pos--magento says the same to operators, under "Counts and errors"):
- Magento refuses a record (4xx): that record fails with Magento's message; the run goes on and ends partial.
- Magento cannot be reached or keeps answering 5xx/429 after the client's retries: the records involved fail
  like refused ones, unless Magento looks down, i.e. `MAX_TRANSIENT_FAILURES` records of the run failed that
  way or a whole batch did. Then the run raises `MagentoTransientError`, RQ retries the job with its backoff,
  and the retry skips what was already accepted (its hash is stored).
- A refused credential or ACL resource (401/403) and any failed read the run depends on (attribute sets, the
  category root, ...) end the run at once: nothing more could succeed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from syncapi.config import Settings
from syncapi.magento.client import MagentoClient
from syncapi.magento.errors import MagentoTransientError
from syncapi.magento.writes import Batching, Outcome
from syncapi.pos.gateway import PosGateway
from syncapi.run_lifecycle import RunRecorder
from syncapi.services import Services

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: Records of one run that may fail on transient errors before the run gives up and is retried by RQ.
MAX_TRANSIENT_FAILURES = 10
#: Rows read from the POS per batch.
READ_BATCH = 500
#: Seconds a push of one kind waits for another push of the same kind to finish (they must not overlap:
#: two runs uploading the same image would store it twice).
LOCK_WAIT_S = 900
LOCK_PREFIX = "syncapi:outbound:lock:"


class PushLockedError(RuntimeError):
    """Another push of the same kind held the lock for too long (RQ retries the job)."""


class Tally:
    """Counts of a run by record, each record counted once; `unchanged` can be held back until `finish`.

    A product whose data is unchanged may still get new images later in the run: holding its `unchanged`
    back lets the image pass count it as updated instead.
    """

    def __init__(self, recorder: RunRecorder, *, defer_unchanged: bool = False):
        self.recorder = recorder
        self.defer_unchanged = defer_unchanged
        self._counted: set[str] = set()
        self._unchanged: set[str] = set()
        self.failed_keys: set[str] = set()
        #: Keys left for after their product push (not an outcome of this run: never counted).
        self.deferred_keys: set[str] = set()
        self.totals = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}

    def _first(self, key: str) -> bool:
        if key in self._counted:
            return False
        self._counted.add(key)
        return True

    def counted(self, key: str) -> bool:
        """True once `key` has an outcome in this run."""
        return key in self._counted

    def created(self, key: str) -> None:
        """`key` was created in Magento."""
        if self._first(key):
            self.totals["created"] += 1
            self.recorder.count(created=1)

    def updated(self, key: str) -> None:
        """`key` was changed in Magento (or an unchanged record got new images)."""
        if key in self._unchanged:
            self._unchanged.discard(key)
            self._counted.discard(key)
        if self._first(key):
            self.totals["updated"] += 1
            self.recorder.count(updated=1)

    def unchanged(self, key: str) -> None:
        """`key` needed nothing."""
        if self._first(key):
            if self.defer_unchanged:
                self._unchanged.add(key)
            else:
                self.totals["unchanged"] += 1
                self.recorder.count(unchanged=1)

    def refused(self, key: str, message: str) -> None:
        """`key` can never be sent as the POS holds it (a SKU no URL can carry, text with NUL): counted failed
        with `message`, and not retried by later runs until the POS changes it."""
        if self._first(key):
            self.totals["failed"] += 1
            self.recorder.fail(key, message)
        else:
            self.recorder.error(key, message)

    def gave_up(self, key: str, message: str) -> None:
        """`key` waited too long for its product (`syncapi.outbound.waiting`): counted failed with `message`,
        and not retried (the product push sends it when it creates the product)."""
        self.refused(key, message)

    def deferred(self, key: str) -> None:
        """`key` waits for its product push (`syncapi.outbound.waiting` keeps it until a run settles it)."""
        if key not in self._counted:
            self.deferred_keys.add(key)

    def failed(self, key: str, message: str) -> None:
        """`key` could not be written: counted failed once, every message kept as an error."""
        self.failed_keys.add(key)
        if key in self._unchanged:
            self._unchanged.discard(key)
            self._counted.discard(key)
        if self._first(key):
            self.totals["failed"] += 1
            self.recorder.fail(key, message)
        else:
            self.recorder.error(key, message)

    def finish(self) -> None:
        """Count the held-back unchanged records."""
        if self._unchanged:
            self.totals["unchanged"] += len(self._unchanged)
            self.recorder.count(unchanged=len(self._unchanged))
            self._unchanged.clear()


class PushContext:
    """One push run's shared parts; build with `push_context()`."""

    def __init__(
        self,
        svc: Services,
        recorder: RunRecorder,
        gateway: PosGateway,
        client: MagentoClient,
        executor: ThreadPoolExecutor,
        *,
        force: bool = False,
    ):
        self.svc = svc
        self.settings: Settings = svc.settings
        self.recorder = recorder
        self.gateway = gateway
        self.client = client
        self.executor = executor
        self.force = force
        self.tally = Tally(recorder)
        self.transient_failures = 0
        self._reported: set[str] = set()
        self._lock = threading.Lock()

    @property
    def state_engine(self):
        """The engine of the service's own tables (hashes, watermarks)."""
        return self.svc.state_engine

    def report_once(self, topic: str, message: str, key: str | None = None) -> None:
        """Record an error of the run once, however many records meet it (e.g. an attribute Magento lacks)."""
        with self._lock:
            if topic in self._reported:
                return
            self._reported.add(topic)
        self.recorder.error(key, message)

    def map(self, func: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`func` over `items` on the run's threads (at most MAGENTO_CONCURRENCY at once), results in order."""
        items = list(items)
        if len(items) <= 1:
            return [func(item) for item in items]
        return list(self.executor.map(func, items))

    @property
    def batching(self) -> Batching:
        """Many writes of this run: MAGENTO_BATCH_SIZE per call, on the run's threads, under its error policy."""
        return Batching(self.settings.magento_batch_size, self.map, self.check_transient)

    def check_transient(self, outcomes: Iterable[Outcome]) -> None:
        """Raise `MagentoTransientError` when transient failures say Magento is down (see the module doc)."""
        outcomes = list(outcomes)
        transient = [o for o in outcomes if o.transient]
        if not transient:
            return
        self.transient_failures += len(transient)
        whole_batch = len(transient) == len(outcomes) > 1
        if whole_batch or self.transient_failures >= MAX_TRANSIENT_FAILURES:
            raise MagentoTransientError(
                f"Magento looks unavailable ({self.transient_failures} writes of this run failed on timeouts or "
                f"server errors; last: {transient[-1].error}); the run will be retried"
            )


def _client_for_threads(svc: Services) -> MagentoClient:
    client = svc.magento
    client.pool_at_least(svc.settings.magento_concurrency)
    return client


@contextmanager
def push_lock(svc: Services, kind: str, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the lock of `kind`'s pushes (Redis), so two pushes of a kind never run at once."""
    lock = svc.redis.lock(
        f"{LOCK_PREFIX}{kind}", timeout=svc.settings.job_timeout_s + 60, blocking_timeout=wait_s, thread_local=False
    )
    if not lock.acquire(blocking=True):
        raise PushLockedError(f"another {kind} push has been running for over {wait_s:g} s; this run will be retried")
    try:
        yield
    finally:
        try:
            lock.release()
        except Exception:  # an expired lock is already gone: nothing to release
            log.warning("push lock had expired before release", extra={"kind": kind})


@contextmanager
def push_context(svc: Services, recorder: RunRecorder, *, force: bool = False) -> Iterator[PushContext]:
    """A `PushContext` for one run, with its thread pool, under the lock of the run's kind."""
    with (
        push_lock(svc, recorder.kind),
        ThreadPoolExecutor(max_workers=svc.settings.magento_concurrency, thread_name_prefix="push") as executor,
    ):
        yield PushContext(svc, recorder, svc.pos, _client_for_threads(svc), executor, force=force)
