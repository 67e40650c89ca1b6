"""The announced-changes buffer in Redis: keys the POS said changed, waiting for one job to push them.

`POST /api/v1/pos/changes` calls `announce()` then starts one `announced` run per kind; however many
announcements arrive while that run waits, its job takes them all at once.

A job takes keys with `drain_announced(redis, kind, max_n, run_id=run_id)`: the keys move into a set kept
for that run (`syncapi:announced:<kind>:run-<run_id>`) and stay there until `settle_announced` says the run
ended, so a job that dies is retried with the same keys, and keys of a run that failed for good go back to
the buffer. Without `run_id` the keys are simply popped (SPOP).
"""

from __future__ import annotations

from collections.abc import Iterable

import redis as redis_lib

from syncapi.state._sql import text_value
from syncapi.state.models import KEY_LENGTH

KEY_PREFIX = "syncapi:announced:"
#: Seconds a run's taken keys are kept if the run never settles (longer than any job waits and retries).
CLAIM_TTL_S = 30 * 24 * 3600
#: Keys added per SADD, and moved per Lua step (Lua's unpack() fails beyond a few thousand values).
BATCH = 1000

# Pops up to ARGV[1] keys from the buffer into the run's set and returns the run's whole set: a retried
# attempt gets back what the failed one took, plus anything announced since.
_CLAIM_SCRIPT = """
local wanted = tonumber(ARGV[1])
local batch = tonumber(ARGV[2])
while wanted > 0 do
  local popped = redis.call('SPOP', KEYS[1], math.min(wanted, batch))
  if #popped == 0 then break end
  redis.call('SADD', KEYS[2], unpack(popped))
  wanted = wanted - #popped
end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
return redis.call('SMEMBERS', KEYS[2])
"""

# Puts a run's taken keys back into the buffer (the run failed for good) and drops the run's set.
_RETURN_SCRIPT = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('SUNIONSTORE', KEYS[1], KEYS[1], KEYS[2])
  redis.call('DEL', KEYS[2])
end
return redis.call('SCARD', KEYS[1])
"""


def announced_key(kind: str) -> str:
    """The Redis set of keys announced for `kind`."""
    return f"{KEY_PREFIX}{kind}"


def claim_key(kind: str, run_id: int) -> str:
    """The Redis set of keys taken by run `run_id`."""
    return f"{KEY_PREFIX}{kind}:run-{int(run_id)}"


def announce(redis: redis_lib.Redis, kind: str, keys: Iterable[str | int]) -> int:
    """Add `keys` to the buffer of `kind` (one transaction); returns how many were not already waiting."""
    kind = text_value("kind", kind, 32)
    members = list(dict.fromkeys(text_value("key", key, KEY_LENGTH) for key in keys))
    if not members:
        return 0
    with redis.pipeline(transaction=True) as pipeline:
        for start in range(0, len(members), BATCH):
            pipeline.sadd(announced_key(kind), *members[start : start + BATCH])
        return sum(pipeline.execute())


def announced_count(redis: redis_lib.Redis, kind: str) -> int:
    """How many keys of `kind` are waiting."""
    return redis.scard(announced_key(kind))


def drain_announced(
    redis: redis_lib.Redis, kind: str, max_n: int | None = None, *, run_id: int | None = None
) -> list[str]:
    """Take up to `max_n` waiting keys of `kind` (all when None).

    With `run_id`, the keys are kept for that run until `settle_announced`, and the answer also holds keys
    the run took in an earlier attempt.
    """
    if max_n is None:
        max_n = redis.scard(announced_key(kind))
    if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 0:
        raise ValueError(f"max_n must be a whole number of 0 or more, got {max_n!r}")
    if run_id is None:
        popped = redis.spop(announced_key(kind), max_n) if max_n else []
        return sorted(_text(member) for member in popped)
    taken = redis.eval(_CLAIM_SCRIPT, 2, announced_key(kind), claim_key(kind, run_id), max_n, BATCH, CLAIM_TTL_S)
    return sorted(_text(member) for member in taken)


def settle_announced(redis: redis_lib.Redis, kind: str, run_id: int, *, done: bool) -> None:
    """End run `run_id`'s hold on its keys: `done` drops them; otherwise they go back to the buffer."""
    if done:
        redis.delete(claim_key(kind, run_id))
    else:
        redis.eval(_RETURN_SCRIPT, 2, announced_key(kind), claim_key(kind, run_id))


def _text(member: bytes | str) -> str:
    return member.decode() if isinstance(member, bytes) else member
