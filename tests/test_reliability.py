"""Reliability, end to end and as deployed: gunicorn and `python -m syncapi.worker` processes, real Redis, the POS
on PostgreSQL (SQLite where a test says so), the Magento sandbox over HTTP. Faults are real ones: a worker killed
with SIGKILL in the middle of a POS transaction, Redis killed and started again, Magento failing and slow, the POS
database refusing connections, a thousand webhooks with duplicates at once. Each test checks that nothing was lost
and nothing doubled: one sale per Magento order, stock lowered once per sale, every link synced.

(A permanent error filing its job at once, without retries, is covered by tests/test_inbound.py, forking and
non-forking.)
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from rq import Worker
from rq.job import Job, JobStatus
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

#: Seconds within which a killed worker's job must run again: its heartbeat (WORKER_TTL 10 s: a beat every 5 s)
#: plus rq's fixed 60 s, a maintenance pass (every 5 s) and the retry's 1 s, with room for a loaded machine.
ABANDONED_JOB_RECOVERY_S = 100


def _blocked_backends(engine) -> int:
    """Connections to this database waiting for a row lock (the worker inside its POS transaction)."""
    with engine.connect() as connection:
        return connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        )


@pytest.mark.timeout(240)
def test_a_worker_killed_inside_the_pos_transaction_leaves_the_order_to_another_worker_written_once(stack):
    stack.add_products(["KILL-1"], on_hand=10)
    stack.seed_orders([7001], ["KILL-1"], qty=2)
    workers = stack.start_workers(2, new_session=True)

    # The test holds the stock row, so the worker that takes the job blocks inside write_sale's transaction,
    # after reading the order from Magento and inserting the sale, before lowering stock and committing.
    holder = create_engine(stack.pos_url)
    with holder.connect() as lock:
        lock.execute(text("SELECT on_hand FROM stock WHERE sku = 'KILL-1' FOR UPDATE"))
        assert stack.deliver(7001).status_code == 202
        stack.wait_until(lambda: _blocked_backends(stack.engine) == 1, 30, "a worker blocked on the stock row")
        busy = [w for w in Worker.all(connection=stack.redis) if w.get_current_job_id() == "order-7001"]
        assert len(busy) == 1
        (victim,) = [p for p in workers if p.pid == busy[0].pid]
        stack.processes.kill_session(victim)  # SIGKILL to its whole session: worker and scheduler alike
        killed_at = time.monotonic()
        lock.rollback()
    holder.dispose()

    (survivor,) = [p for p in workers if p is not victim]
    took = stack.wait_until(
        lambda: stack.link_statuses().get(7001) == "synced", ABANDONED_JOB_RECOVERY_S, "the order written again"
    )
    assert survivor.poll() is None
    assert stack.sales_by_order() == {7001: 1}
    assert stack.sale_lines() == 1
    assert stack.on_hand("KILL-1") == Decimal(8)  # 10 - 2, once
    job = Job.fetch("order-7001", connection=stack.redis)
    assert job.get_status() == JobStatus.FINISHED
    assert job.worker_name != busy[0].name
    print(
        f"the killed worker's job was written {time.monotonic() - killed_at:.1f} s after the kill ({took:.1f} s wait)"
    )
