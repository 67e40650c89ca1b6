"""The go-live backfill, `flask sync sales --since DATE [--dry-run]`: the sandbox searched over HTTP by creation
date, page by page; the dry run lists and writes nothing; the real run queues the webhook's imports, each record
once alongside webhooks and the reconcile poll (real Redis, a real worker, SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from rq import Queue

from syncapi.pos import models as m
from syncapi.queues import QUEUE_INBOUND
from syncapi.state import list_runs
from syncapi.state.links import get_link

pytestmark = pytest.mark.usefixtures("magento")

CAP = [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}]
GHOST = [{"sku": "GHOST-1", "name": "Unknown to the POS", "qty": 1, "price": 9.0}]


def invoke(inbound, *args: str):
    return inbound.app.test_cli_runner().invoke(args=["sync", "sales", *args])


def queued(inbound) -> list[str]:
    return Queue(QUEUE_INBOUND, connection=inbound.redis).get_job_ids()


def seed_go_live(inbound) -> None:
    """Orders before and after the go-live date, in every state the backfill tells apart, with documents."""
    inbound.add_product("CAP-1", on_hand=10)
    inbound.seed_order(800, CAP, created_at="2025-12-31 23:59:59", increment_id="000000800")
    inbound.seed_order(801, CAP, created_at="2026-01-01 00:00:00", increment_id="000000801")
    inbound.seed_order(802, CAP, state="processing", created_at="2026-02-01 09:00:00", increment_id="000000802")
    inbound.seed_order(803, CAP, state="canceled", created_at="2026-02-02 09:00:00", increment_id="000000803")
    inbound.seed_order(804, GHOST, created_at="2026-02-03 09:00:00", increment_id="000000804")
    inbound.seed_order(805, CAP, created_at="2026-02-04 09:00:00", increment_id="000000805")
    inbound.magento.seed(
        invoices=[
            {"entity_id": 850, "order_id": 800, "created_at": "2025-12-31 23:59:59"},
            {"entity_id": 851, "order_id": 801, "created_at": "2026-01-01 00:01:00"},
        ],
        creditmemos=[{"entity_id": 861, "order_id": 801, "created_at": "2026-03-01 10:00:00"}],
    )


def test_the_dry_run_lists_each_record_with_its_fate_and_writes_nothing(inbound):
    seed_go_live(inbound)
    result = invoke(inbound, "--since", "2026-01-01", "--dry-run")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "dry run: sales records created since 2026-01-01 00:00:00; nothing is written"
    assert lines[1:-1] == [
        "order 801 (000000801): would write",
        "order 802 (000000802): would wait: the order is processing; it is written when it reaches complete",
        "order 803 (000000803): would not write: the order is canceled; canceled orders are not written to the POS",
        "order 804 (000000804): would refuse: the POS would refuse it: sale for Magento order 804: "
        "unknown SKU 'GHOST-1'",
        "order 805 (000000805): would write",
        lines[6],
        lines[7],
    ]
    assert lines[6].startswith("invoice 851 (") and lines[6].endswith(": would write")
    assert lines[7].startswith("credit memo 861 (") and lines[7].endswith(": would write")
    assert lines[-1] == (
        "dry run: 7 records: 4 would write, 0 already in the POS, 1 would wait, 1 would not write, 1 would refuse"
    )
    # Nothing anywhere: no POS rows, no stock moved, no links, no run, no job.
    assert inbound.count(m.Sale) == inbound.count(m.Invoice) == inbound.count(m.CreditNote) == 0
    assert inbound.on_hand("CAP-1") == 10
    assert all(get_link(inbound.svc.state_engine, "order", n) is None for n in range(800, 806))
    assert list_runs(inbound.svc.state_engine) == []
    assert queued(inbound) == []


def test_the_dry_run_says_what_is_in_the_pos_already(inbound):
    seed_go_live(inbound)
    inbound.deliver("order", 801)
    inbound.work()
    result = invoke(inbound, "--since", "2026-01-01 00:00:00", "--dry-run")
    assert result.exit_code == 0, result.output
    sale = inbound.pos.find_sale(801)
    assert f"order 801 (000000801): already in the POS: POS id {sale.id}" in result.stdout.splitlines()
    assert "1 already in the POS" in result.stdout.splitlines()[-1]


def test_the_backfill_queues_each_record_once_alongside_webhooks_and_the_reconcile(inbound):
    seed_go_live(inbound)
    inbound.deliver("order", 805)
    inbound.work()  # 805 came by webhook before go-live: in the POS already
    inbound.deliver("invoice", 851)  # its webhook job waits

    result = invoke(inbound, "--since", "2026-01-01")

    assert result.exit_code == 0, result.output
    run = list_runs(inbound.svc.state_engine, kind="sales")[0]
    assert (run.trigger, run.status, run.params) == ("cli", "succeeded", {"since": "2026-01-01 00:00:00"})
    assert result.stdout.splitlines()[0] == (
        f"sales run {run.run_id} started (sales records created since 2026-01-01 00:00:00)"
    )
    # 801-804 and the credit memo queued; 805 in the POS and the waiting invoice job left as they are.
    assert run.counts == {"created": 5, "updated": 0, "unchanged": 2, "failed": 0}
    assert sorted(queued(inbound)) == sorted(
        ["invoice-851", "order-801", "order-802", "order-803", "order-804", "creditmemo-861"]
    )
    assert inbound.svc.redis.hget("rq:job:order-801", "meta") is not None
    inbound.work()

    assert {n for n in range(800, 806) if inbound.pos.find_sale(n)} == {801, 805}
    assert inbound.pos.find_invoice(851).sale_id == inbound.pos.find_sale(801).id
    assert inbound.pos.find_invoice(850) is None  # before the go-live date
    assert inbound.pos.find_credit_note(861) is not None
    assert inbound.on_hand("CAP-1") == 8
    assert inbound.link("order", 802)["status"] == "pending"
    assert inbound.link("order", 803)["status"] == "skipped"
    assert inbound.link("order", 804)["status"] == "failed"

    # Again, and then the reconcile poll: nothing is written twice.
    again = invoke(inbound, "--since", "2026-01-01")
    assert again.exit_code == 0, again.output
    rerun = list_runs(inbound.svc.state_engine, kind="sales")[0]
    assert rerun.counts["unchanged"] == 4  # 801, 805, 851, 861
    inbound.work()
    assert inbound.api_post("/api/v1/sync/sales", json={"full": True}).status_code == 202
    inbound.work()
    assert inbound.count(m.Sale) == 3
    assert {n for n in range(800, 806) if inbound.pos.find_sale(n)} == {800, 801, 805}  # 800 by the full reconcile
    assert inbound.count(m.Invoice) == 2  # 850 came with the full reconcile; 851 once
    assert inbound.count(m.CreditNote) == 1
    assert inbound.on_hand("CAP-1") == 7  # 800 came with the full reconcile too, once


@pytest.fixture
def pages_of_two(inbound_settings):
    inbound_settings["MAGENTO_PAGE_SIZE"] = 2


def test_the_backfill_reads_every_page(pages_of_two, inbound):
    inbound.add_product("CAP-1", on_hand=20)
    for order_id in range(811, 816):
        inbound.seed_order(order_id, CAP, created_at=f"2026-04-0{order_id - 810} 08:00:00")
    result = invoke(inbound, "--since", "2026-04-01", "--dry-run")
    assert result.exit_code == 0, result.output
    assert [line.split(" ")[1] for line in result.stdout.splitlines()[1:-1]] == [str(n) for n in range(811, 816)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "2026-13-01"), "Invalid value for '--since'"),
        (("--since", "yesterday", "--dry-run"), "Invalid value for '--since'"),
        (("--since", "2999-01-01"), "2999-01-01 00:00:00 is in the future"),
        (("--dry-run",), "--dry-run is for the backfill: give --since DATE too"),
        (("--since", "2026-01-01", "--full"), "give either --full or --since, not both"),
    ],
)
def test_bad_backfill_arguments_exit_2_and_change_nothing(inbound, args, message):
    result = invoke(inbound, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert list_runs(inbound.svc.state_engine) == []
    assert queued(inbound) == []


def test_since_is_only_for_sales(inbound):
    result = inbound.app.test_cli_runner().invoke(args=["sync", "products", "--since", "2026-01-01"])
    assert result.exit_code == 2
    assert "--since is only for sales" in result.output


def test_a_dry_run_magento_refuses_stops_with_exit_1_and_says_why(inbound):
    seed_go_live(inbound)
    inbound.magento.configure(denied_resources=["Magento_Sales::actions_view"])
    result = invoke(inbound, "--since", "2026-01-01", "--dry-run")
    assert result.exit_code == 1, result.output
    assert "dry run stopped: MagentoAuthError" in result.stderr
    assert result.stdout.splitlines()[-1] == (
        "dry run: 0 records: 0 would write, 0 already in the POS, 0 would wait, 0 would not write, 0 would refuse "
        "before it stopped"
    )


@pytest.fixture
def two_websites(inbound_settings):
    inbound_settings["ORDER_LOCATIONS"] = "base:WEBUS,nz_store:WEBNZ"


def test_the_dry_run_names_the_location_each_order_would_be_written_at(two_websites, inbound):
    inbound.magento.seed(
        websites=[{"id": 2, "code": "oceania", "name": "Oceania", "default_group_id": 2}],
        store_views=[{"id": 2, "code": "nz_store", "name": "New Zealand", "website_id": 2, "store_group_id": 2}],
    )
    inbound.add_product("CAP-1", on_hand=10)
    inbound.seed_order(821, CAP, created_at="2026-05-01 08:00:00", increment_id="000000821")
    inbound.seed_order(822, CAP, created_at="2026-05-02 08:00:00", increment_id="000000822", store_id=2)
    result = invoke(inbound, "--since", "2026-05-01", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:3] == [
        "order 821 (000000821): would write: at POS location WEBUS",
        "order 822 (000000822): would write: at POS location WEBNZ",
    ]
