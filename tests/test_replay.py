"""Replays are harmless: the same signed order delivery, sent again a day later (every Redis key that lives less
than a day gone, so the job id no longer deduplicates it), is imported again from Magento's current state and
changes nothing in the POS. The webhook has no time window to lean on: Mage-OS sends no timestamp and Adobe
retries for 24 hours (docs/security.md#the-webhook-door)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from syncapi.pos import models as m
from syncapi.webhooks.signature import sign
from tests.conftest import TEST_WEBHOOK_SECRET
from tests.fixtures_webhooks import WEBHOOK_URL, cloud_event, encode

pytestmark = pytest.mark.usefixtures("magento")

#: Seconds in the day that passes between the delivery and its replay.
DAY_S = 24 * 3600


def _pos_snapshot(inbound) -> dict[str, list[tuple]]:
    """Every row of every POS table, in a stable order."""
    snapshot = {}
    with inbound.svc.pos_engine.connect() as connection:
        for table in m.PosBase.metadata.sorted_tables:
            rows = connection.execute(select(table)).all()
            snapshot[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return snapshot


def _a_day_passes(redis) -> list[bytes]:
    """Delete every key that would have expired within a day, as Redis would have; the keys deleted."""
    gone = [key for key in redis.scan_iter(count=1000) if 0 < redis.ttl(key) <= DAY_S]
    if gone:
        redis.delete(*gone)
    return gone


def test_a_signed_order_delivery_replayed_a_day_later_changes_nothing_in_the_pos(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    inbound.seed_order(
        901,
        [{"sku": "TEE-1", "name": "Tee", "qty": 2, "price": 20.0}],
        guest_email="replay@example.com",
        state="complete",
    )
    raw = encode(cloud_event("sales.order.updated", {"entity_id": 901, "state": "complete"}, delivery_id="d-901"))
    headers = {"Content-Type": "application/json", "X-Magento-Signature": sign(raw, TEST_WEBHOOK_SECRET)}
    client = inbound.app.test_client()

    first = client.post(WEBHOOK_URL, data=raw, headers=headers)
    assert first.get_json() == {"status": "queued", "job_id": "order-901"}
    inbound.work()
    before = _pos_snapshot(inbound)
    assert inbound.count(m.Sale) == 1 and inbound.on_hand("TEE-1") == Decimal(8)

    gone = _a_day_passes(inbound.redis)
    assert b"rq:job:order-901" in gone  # the finished job, which deduplicated deliveries, has expired
    # The very same bytes and signature, as an attacker who recorded them (or Adobe's last retry) sends them.
    replay = client.post(WEBHOOK_URL, data=raw, headers=headers)
    assert replay.status_code == 202
    assert replay.get_json() == {"status": "queued", "job_id": "order-901"}
    inbound.work()

    # The replay was imported again (the order fetched once more from Magento) and wrote nothing new.
    order_gets = [r for r in inbound.magento.requests() if r["method"] == "GET" and r["path"].endswith("/orders/901")]
    assert len(order_gets) == 2
    assert _pos_snapshot(inbound) == before
    assert inbound.count(m.Sale) == 1 and inbound.on_hand("TEE-1") == Decimal(8)
    assert inbound.link("order", 901)["status"] == "synced"
