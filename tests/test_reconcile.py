"""The sales reconcile: polling the sandbox over HTTP for records whose webhook never came, queueing the same import
jobs (real Redis, a real worker), and the watermarks, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue

from jobs.reconcile import reconcile_sales
from syncapi.inbound.mappers import format_magento_time
from syncapi.inbound.reconcile import OVERLAP_S, watermark_kind
from syncapi.magento import MagentoTransientError, SearchCriteria
from syncapi.magento import sales as magento_sales
from syncapi.magento.changes import changed_since
from syncapi.pos import models as m
from syncapi.queues import QUEUE_INBOUND
from syncapi.state import create_run, get_run, get_watermark, set_watermark
from tests.fixtures_inbound import API_AUTH

pytestmark = pytest.mark.usefixtures("magento")

CAP = [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}]


def magento_time(moment: datetime) -> str:
    return format_magento_time(moment)


def ago(**delta) -> str:
    return magento_time(datetime.now(UTC).replace(microsecond=0) - timedelta(**delta))


def queued(inbound) -> list[str]:
    return Queue(QUEUE_INBOUND, connection=inbound.redis).get_job_ids()


def poll(inbound, full: bool = False) -> tuple[dict, object]:
    """Run the reconcile job function itself in this process (no worker), so its queued jobs can be inspected."""
    run = create_run(inbound.svc.state_engine, "sales", "manual", {"full": full})
    result = reconcile_sales(run.run_id, full=full)
    return result, get_run(inbound.svc.state_engine, run.run_id)


def test_an_order_whose_webhook_never_came_is_found_and_written(inbound):
    inbound.add_product("CAP-1", on_hand=5)
    inbound.magento.seed(customers=[{"id": 601, "email": "carol@example.com", "firstname": "Carol", "lastname": "C"}])
    inbound.seed_order(401, CAP, customer_id=601)
    inbound.magento.seed(invoices=[{"entity_id": 451, "order_id": 401}])

    response = inbound.api_post("/api/v1/sync/sales", json={})
    assert response.status_code == 202, response.get_json()
    run_id = response.get_json()["run_id"]
    inbound.work()  # the reconcile job, then the imports it queued

    sale = inbound.pos.find_sale(401)
    assert sale is not None
    assert inbound.pos.find_invoice(451).sale_id == sale.id
    assert inbound.on_hand("CAP-1") == 4
    assert inbound.customers() == [("carol@example.com", "Carol", "C", 601)]
    assert {
        entity: inbound.link(entity, number)["status"] for entity, number in [("order", 401), ("invoice", 451)]
    } == {
        "order": "synced",
        "invoice": "synced",
    }
    run = inbound.app.test_client().get(f"/api/v1/runs/{run_id}", headers=API_AUTH).get_json()
    assert (run["kind"], run["status"]) == ("sales", "succeeded")
    assert run["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 0}
    engine = inbound.svc.state_engine
    order = inbound.magento_record("orders", 401)
    assert get_watermark(engine, watermark_kind("order")) == {"updated_at": order["updated_at"]}
    assert get_watermark(engine, watermark_kind("creditmemo")) is None


def test_a_poll_leaves_synced_records_alone_and_joins_waiting_webhook_jobs(inbound):
    inbound.add_product("CAP-1", on_hand=5)
    for order_id in (411, 412, 413):
        inbound.seed_order(order_id, CAP)
    inbound.deliver("order", 411)
    inbound.work()  # 411 is in the POS
    inbound.deliver("order", 412)  # 412's webhook job waits

    result, run = poll(inbound)

    assert queued(inbound) == ["order-412", "order-413"]
    tally = {key: result["order"][key] for key in ("seen", "queued_new", "queued_again", "duplicate", "done", "failed")}
    assert tally == {"seen": 3, "queued_new": 1, "queued_again": 0, "duplicate": 1, "done": 1, "failed": 0}
    assert run.counts == {"created": 1, "updated": 0, "unchanged": 2, "failed": 0}
    assert inbound.svc.redis.exists("rq:job:order-413")
    inbound.work()
    assert inbound.count(m.Sale) == 3
    assert inbound.on_hand("CAP-1") == 2


def test_a_pending_order_whose_complete_webhook_was_lost_is_written_on_the_next_poll(inbound):
    inbound.add_product("CAP-1", on_hand=5)
    inbound.seed_order(421, CAP, state="processing", updated_at=ago(minutes=30))
    inbound.deliver("order", 421)
    inbound.work()
    assert inbound.link("order", 421)["status"] == "pending"
    poll(inbound)
    inbound.work()
    assert inbound.link("order", 421)["status"] == "pending"

    inbound.seed_order(421, CAP, state="complete", updated_at=ago(seconds=1))  # no webhook this time
    result, run = poll(inbound)
    assert (result["order"]["queued_again"], run.counts["updated"]) == (1, 1)
    inbound.work()

    assert inbound.link("order", 421)["status"] == "synced"
    assert inbound.on_hand("CAP-1") == 4


def test_a_poll_reads_from_the_watermark_minus_the_overlap_and_moves_it_to_the_newest_change(inbound):
    mark = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    set_watermark(inbound.svc.state_engine, watermark_kind("order"), {"updated_at": magento_time(mark)})
    inbound.seed_order(431, CAP, updated_at=magento_time(mark - timedelta(seconds=OVERLAP_S + 60)))
    inbound.seed_order(432, CAP, updated_at=magento_time(mark - timedelta(seconds=OVERLAP_S - 60)))
    inbound.seed_order(433, CAP, updated_at=magento_time(mark + timedelta(minutes=1)))

    result, _ = poll(inbound)

    assert queued(inbound) == ["order-432", "order-433"]
    assert result["order"]["since"] == magento_time(mark - timedelta(seconds=OVERLAP_S))
    newest = magento_time(mark + timedelta(minutes=1))
    assert get_watermark(inbound.svc.state_engine, watermark_kind("order")) == {"updated_at": newest}

    poll(inbound)  # nothing newer: the watermark stays, never moves back
    assert get_watermark(inbound.svc.state_engine, watermark_kind("order")) == {"updated_at": newest}


def test_the_first_poll_reaches_back_a_day_and_a_full_run_reads_everything(inbound):
    inbound.seed_order(441, CAP, created_at=ago(days=30))
    inbound.seed_order(442, CAP, created_at=ago(hours=2))

    poll(inbound)
    assert queued(inbound) == ["order-442"]

    inbound.redis.flushdb()
    result, run = poll(inbound, full=True)
    assert queued(inbound) == ["order-441", "order-442"]
    assert (result["order"]["since"], run.counts["created"]) == (None, 2)


def test_keyset_paging_reads_every_change_once_even_when_records_change_mid_read(magento, magento_client_factory):
    client = magento_client_factory(page_size=2)
    start = datetime(2026, 2, 1, 8, 0, 0, tzinfo=UTC)
    stamps = {451: 0, 452: 60, 453: 60, 454: 60, 455: 60, 456: 120, 457: 180, 450: -60}
    for order_id, offset_s in stamps.items():
        stamp = magento_time(start + timedelta(seconds=offset_s))
        magento.seed(orders=[{"entity_id": order_id, "lines": CAP, "updated_at": stamp}])
    since = magento_time(start)

    # Four changes in one second, more than a page, are all read; 450 changed before `since`.
    read = [order["entity_id"] for order in changed_since(client, magento_sales.ORDERS, since, "entity_id")]
    assert read == [451, 452, 453, 454, 455, 456, 457]

    def touch_451():
        later = magento_time(start + timedelta(seconds=600))
        magento.seed(orders=[{"entity_id": 451, "lines": CAP, "updated_at": later}])

    read = []
    for order in changed_since(client, magento_sales.ORDERS, since, "entity_id"):
        read.append(order["entity_id"])
        if read == [451]:
            touch_451()  # Magento saves order 451 again while the poll reads
    assert sorted(set(read)) == [451, 452, 453, 454, 455, 456, 457]
    assert read[-1] == 451 and len(read) == 8

    # Paging by offset, as a plain listing does, loses a record in the same situation: why the poll uses keyset.
    magento.seed(orders=[{"entity_id": 451, "lines": CAP, "updated_at": since}])
    criteria = SearchCriteria().where("updated_at", since, "gteq").order_by("updated_at").order_by("entity_id")
    offset_read = []
    for order in client.paginate(magento_sales.ORDERS, criteria):
        offset_read.append(order["entity_id"])
        if offset_read == [451]:
            touch_451()
    assert 453 not in offset_read


def test_an_entity_magento_refuses_to_list_does_not_stop_the_others(inbound):
    inbound.seed_order(461, CAP)
    inbound.magento.configure(denied_resources=["Magento_Sales::sales_creditmemo"])

    result, run = poll(inbound)

    assert queued(inbound) == ["order-461"]
    assert run.status == "partial"
    assert result["creditmemo"]["failed"] == 1
    ((key, message),) = [(error.key, error.message) for error in run.errors]
    assert key == "creditmemo"
    assert "could not poll creditmemos: Magento answered 401" in message
    assert get_watermark(inbound.svc.state_engine, watermark_kind("creditmemo")) is None


def test_a_poll_that_fails_midway_moves_only_the_watermarks_of_what_it_queued(inbound):
    inbound.seed_order(471, CAP)
    inbound.magento.seed(invoices=[{"entity_id": 472, "order_id": 471}])
    inbound.magento.add_fault(path_prefix="/V1/invoices", methods=["GET"], fail_next=10, retry_after_s=0)
    engine = inbound.svc.state_engine

    with pytest.raises(MagentoTransientError, match="503"):
        poll(inbound)

    assert queued(inbound) == ["order-471"]
    assert get_watermark(engine, watermark_kind("order")) is not None
    assert get_watermark(engine, watermark_kind("invoice")) is None
    inbound.magento.clear_faults()
    poll(inbound)
    assert queued(inbound) == ["order-471", "invoice-472"]
    assert get_watermark(engine, watermark_kind("invoice")) is not None
