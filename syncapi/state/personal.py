"""Customers' personal data in the service's own tables: kept PERSONAL_DATA_DAYS, and forgotten on request.

The tables hold ids, but free text can quote a customer: a link's last error, a run's errors and its failure
reason (a Magento or POS message naming an email or a name). `purge_personal_data` clears such text once it is
older than the retention; `forget_customer_in_state` removes what concerns one customer at once. See
docs/personal-data.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine, and_, delete, func, or_, select, update

from syncapi.state.models import HashRow, LinkRow, RunErrorRow, RunRow, WatermarkRow, utcnow
from syncapi.state.run_history import KIND_CUSTOMERS

#: What replaces text that may have held personal data.
REDACTED = "[removed: may have held personal data]"
#: The links entity and hash kind of customers (see syncapi.outbound.customers).
CUSTOMER_ENTITY = "customer"
CUSTOMER_HASH_KIND = "customers"


@dataclass
class StateForgotten:
    """What `forget_customer_in_state` removed or cleared, by table."""

    links_deleted: int = 0
    link_errors_cleared: int = 0
    hashes_deleted: int = 0
    run_errors_deleted: int = 0
    run_texts_cleared: int = 0
    watermarks_deleted: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return (
            self.links_deleted
            + self.link_errors_cleared
            + self.hashes_deleted
            + self.run_errors_deleted
            + self.run_texts_cleared
            + self.watermarks_deleted
        )


def purge_personal_data(engine: Engine, older_than_days: int) -> dict[str, int]:
    """Clear link errors, run errors and run failure reasons older than `older_than_days` days; counts by kind."""
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, int) or older_than_days < 1:
        raise ValueError(f"older_than_days must be a whole number of 1 or more, got {older_than_days!r}")
    cutoff = utcnow() - timedelta(days=older_than_days)
    with engine.begin() as connection:
        links = connection.execute(
            update(LinkRow)
            .where(LinkRow.updated_at < cutoff, LinkRow.error.is_not(None), LinkRow.error != REDACTED)
            .values(error=REDACTED)
        ).rowcount
        errors = connection.execute(
            update(RunErrorRow)
            .where(RunErrorRow.created_at < cutoff, RunErrorRow.message != REDACTED)
            .values(message=REDACTED)
        ).rowcount
        reasons = connection.execute(
            update(RunRow)
            .where(RunRow.created_at < cutoff, RunRow.reason.is_not(None), RunRow.reason != REDACTED)
            .values(reason=REDACTED)
        ).rowcount
    return {"link_errors": links, "run_errors": errors, "run_reasons": reasons}


def forget_customer_in_state(
    engine: Engine, email: str, *, pos_customer_ids: list[int], magento_customer_ids: list[int]
) -> StateForgotten:
    """Remove the customer's links and hashes, and every run error, link error, run reason or parameter that
    quotes `email` (any case, also percent-encoded), in one transaction."""
    forms = _forms(email)
    pos_keys = [str(i) for i in pos_customer_ids]
    magento_keys = [str(i) for i in magento_customer_ids]
    done = StateForgotten()

    def quotes(column):
        return or_(*(func.lower(column).contains(form, autoescape=True) for form in forms))

    with engine.begin() as connection:
        is_theirs = or_(LinkRow.magento_id.in_(magento_keys), LinkRow.pos_id.in_(pos_keys))
        done.links_deleted = connection.execute(
            delete(LinkRow).where(LinkRow.entity == CUSTOMER_ENTITY, is_theirs)
        ).rowcount
        done.link_errors_cleared = connection.execute(
            update(LinkRow).where(quotes(LinkRow.error)).values(error=REDACTED)
        ).rowcount
        done.hashes_deleted = connection.execute(
            delete(HashRow).where(HashRow.kind == CUSTOMER_HASH_KIND, HashRow.key.in_(pos_keys))
        ).rowcount
        customer_runs = select(RunRow.id).where(RunRow.kind == KIND_CUSTOMERS)
        done.run_errors_deleted = connection.execute(
            delete(RunErrorRow).where(
                or_(
                    quotes(RunErrorRow.message),
                    quotes(RunErrorRow.key),
                    and_(RunErrorRow.key.in_(pos_keys), RunErrorRow.run_id.in_(customer_runs)),
                )
            )
        ).rowcount
        done.run_texts_cleared = connection.execute(
            update(RunRow).where(quotes(RunRow.reason)).values(reason=REDACTED)
        ).rowcount
        # JSON columns are searched here rather than in SQL, where each database reads JSON its own way.
        for run_id, params in connection.execute(select(RunRow.id, RunRow.params)).all():
            if _mentions(params, forms):
                connection.execute(update(RunRow).where(RunRow.id == run_id).values(params={"removed": REDACTED}))
                done.run_texts_cleared += 1
        for kind, cursor in connection.execute(select(WatermarkRow.kind, WatermarkRow.cursor)).all():
            if _mentions(cursor, forms):
                # Without its watermark the next incremental run reads everything again: nothing is missed.
                connection.execute(delete(WatermarkRow).where(WatermarkRow.kind == kind))
                done.watermarks_deleted += 1
    return done


def text_mentions(text: str | bytes | None, email: str) -> bool:
    """True when `text` quotes `email` (any case, also percent-encoded)."""
    if not text:
        return False
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lowered = text.lower()
    return any(form in lowered for form in _forms(email))


def _forms(email: str) -> tuple[str, ...]:
    lowered = email.strip().lower()
    return (lowered, lowered.replace("@", "%40"))


def _mentions(value, forms: tuple[str, ...]) -> bool:
    text = json.dumps(value, default=str).lower()
    return any(form in text for form in forms)
