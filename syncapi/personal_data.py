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

import click
import redis as redis_lib
from flask import current_app
from flask.cli import AppGroup
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from syncapi import services
from syncapi.queues import QUEUE_NAMES
from syncapi.services import Services
from syncapi.state.personal import forget_customer_in_state, text_mentions
from syncapi.state.personal import purge_personal_data as purge_state

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


# --- the command ---------------------------------------------------------------------------------------------

forget_cli = AppGroup("forget", help="Remove what the service holds about a person (docs/personal-data.md).")


@forget_cli.command("customer")
@click.argument("email")
def forget_customer_command(email: str) -> None:
    """Remove what the service itself holds about the customer with EMAIL; say what the POS and Magento keep."""
    email = email.strip()
    if "@" not in email or email.startswith("@") or email.endswith("@") or any(c.isspace() for c in email):
        raise click.BadParameter(f"{email!r} is not an email address", param_hint="EMAIL")
    svc = current_app.extensions["services"]
    try:
        pos_customer = svc.pos.find_customer(email=email)
        sales = _sales_of(svc.pos_engine, pos_customer.id) if pos_customer is not None else 0
    except SQLAlchemyError as exc:
        raise click.ClickException(f"POS database: {str(exc).splitlines()[0]}") from exc
    pos_ids = [pos_customer.id] if pos_customer is not None else []
    magento_ids = [pos_customer.magento_id] if pos_customer is not None and pos_customer.magento_id else []
    try:
        state = forget_customer_in_state(
            svc.state_engine, email, pos_customer_ids=pos_ids, magento_customer_ids=magento_ids
        )
    except SQLAlchemyError as exc:
        raise click.ClickException(f"state database: {str(exc).splitlines()[0]}") from exc
    try:
        in_redis = forget_customer_in_redis(svc.queues.connection, email)
    except redis_lib.RedisError as exc:
        raise click.ClickException(f"Redis: {exc} (the state database part is done; run the command again)") from exc
    log.info(
        "customer forgotten",
        extra={"pos_customer_id": pos_ids[0] if pos_ids else None, "jobs_deleted": len(in_redis.jobs)},
    )

    click.echo("Removed from the service's own storage:")
    click.echo(f"  state database: {state.links_deleted} customer link(s), {state.hashes_deleted} push hash(es),")
    click.echo(
        f"    {state.run_errors_deleted} run error(s) deleted; {state.link_errors_cleared} link error(s),"
        f" {state.run_texts_cleared} run reason(s) or parameter(s) cleared; {state.watermarks_deleted} watermark(s)"
    )
    jobs = ", ".join(in_redis.jobs) or "none"
    click.echo(
        f"  Redis: {len(in_redis.jobs)} job(s) with their errors and results ({jobs});"
        f" {len(in_redis.keys)} other key(s)"
    )
    click.echo("Still held elsewhere, for their own erasure processes:")
    if pos_customer is None:
        click.echo("  POS: no customer with this email.")
    else:
        click.echo(
            f"  POS: customer {pos_customer.id} (name, email, phone) and {sales} sale(s) made to them."
            " Erase or anonymise them in the POS; the service never deletes POS records."
        )
    if magento_ids:
        click.echo(
            f"  Magento: customer {magento_ids[0]}, their addresses and orders. Erase them in Magento's admin"
            " (or its privacy tools)."
        )
    else:
        click.echo("  Magento: any account and orders (guest orders too) placed with this email. Erase them there.")
    click.echo("  While the POS or Magento still hold the customer, the next customer push or import links them again.")


def _sales_of(engine, customer_id: int) -> int:
    from syncapi.pos import models as m

    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(m.Sale).where(m.Sale.customer_id == customer_id))


def init_app(app) -> None:
    """Add the `forget` commands to `app`'s CLI."""
    app.cli.add_command(forget_cli)
