"""Magento → POS end to end: a signed webhook into the app, a real rq worker, the record fetched over HTTP from the
sandbox (official schema on), written to the POS (SQLite and PostgreSQL) and its link served by the API."""

from __future__ import annotations

import logging
import threading
from decimal import Decimal

import pytest
from rq import Worker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from sqlalchemy import select, text

from jobs.inbound import META_RETRIES_LEFT
from sandbox import seed as magento_seed
from syncapi.logs import JsonFormatter
from syncapi.pos import models as m
from syncapi.queues import QUEUE_INBOUND

pytestmark = pytest.mark.usefixtures("magento")

ALICE = {"id": 501, "email": "alice@example.com", "firstname": "Alice", "lastname": "Archer"}


def order_requests(inbound, order_id: int) -> list[dict]:
    """The sandbox's log of GETs of one order."""
    return [r for r in inbound.magento.requests() if r["method"] == "GET" and r["path"].endswith(f"/orders/{order_id}")]


# --- orders --------------------------------------------------------------------------------------------------


def test_a_signed_order_webhook_becomes_one_sale_with_lines_totals_and_stock(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    inbound.add_product("MUG-1", on_hand=4)
    inbound.magento.seed(customers=[ALICE])
    inbound.seed_order(
        101,
        [
            {"sku": "TEE-1", "name": "Tee", "qty": 2, "price": 20.0, "discount": 4.0},
            {"sku": "MUG-1", "name": "Mug", "qty": 1, "price": 8.5},
        ],
        customer_id=ALICE["id"],
        tax_rate=10.0,
        shipping=5.0,
        created_at="2026-03-01 09:30:00",
    )

    response = inbound.deliver("order", 101, state="complete")
    assert response.status_code == 202
    assert response.get_json() == {"status": "queued", "job_id": "order-101"}
    inbound.work()

    sale = inbound.pos.find_sale(101)
    assert sale is not None
    assert (sale.tender_type, sale.location_code, sale.magento_increment_id) == ("web orders", "WEB", "000000101")
    assert (sale.subtotal, sale.discount, sale.shipping, sale.tax, sale.grand_total) == (
        Decimal("48.5"),
        Decimal("4"),
        Decimal("5"),
        Decimal("4.45"),
        Decimal("53.95"),
    )
    assert sale.created_at.strftime("%Y-%m-%d %H:%M:%S") == "2026-03-01 09:30:00"
    assert [(line.sku, line.qty, line.unit_price, line.discount, line.tax, line.line_total) for line in sale.lines] == [
        ("TEE-1", Decimal(2), Decimal(20), Decimal(4), Decimal("3.6"), Decimal("39.6")),
        ("MUG-1", Decimal(1), Decimal("8.5"), Decimal(0), Decimal("0.85"), Decimal("9.35")),
    ]
    assert (inbound.on_hand("TEE-1"), inbound.on_hand("MUG-1")) == (Decimal(8), Decimal(3))
    assert inbound.customers() == [("alice@example.com", "Alice", "Archer", 501)]
    link = inbound.link("order", 101)
    assert (link["status"], link["pos_id"], link["error"]) == ("synced", str(sale.id), None)
    assert link["synced_at"] is not None
    assert Job.fetch("order-101", connection=inbound.redis).return_value() == {
        "entity": "order",
        "magento_id": 101,
        "status": "synced",
        "pos_id": sale.id,
        "created": True,
        "note": None,
    }


def test_twenty_concurrent_deliveries_of_one_order_write_one_sale_and_lower_stock_once(inbound):
    inbound.add_product("TEE-1", on_hand=10)
    inbound.seed_order(102, [{"sku": "TEE-1", "name": "Tee", "qty": 3, "price": 20.0}])
    start = threading.Barrier(20)
    answers: list = []

    def deliver():
        client = inbound.app.test_client()
        start.wait()
        answers.append(inbound.deliver("order", 102, client=client))

    senders = [threading.Thread(target=deliver) for _ in range(20)]
    for sender in senders:
        sender.start()
    # A worker runs while the deliveries arrive: some find the job waiting, some find it running.
    while any(sender.is_alive() for sender in senders):
        inbound.work()
    for sender in senders:
        sender.join()
    inbound.work()

    assert len(answers) == 20
    assert {a.status_code for a in answers} == {202}
    assert {a.get_json()["job_id"] for a in answers} <= {"order-102", "order-102-again"}
    assert inbound.count(m.Sale) == 1
    assert inbound.count(m.SaleLine) == 1
    assert inbound.on_hand("TEE-1") == Decimal(7)
    assert inbound.link("order", 102)["status"] == "synced"


def test_an_order_pending_then_complete_is_written_once(inbound):
    inbound.add_product("CAP-1", on_hand=5)
    inbound.seed_order(103, [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}], state="processing")
    inbound.deliver("order", 103)
    inbound.work()

    assert inbound.pos.find_sale(103) is None
    assert inbound.on_hand("CAP-1") == Decimal(5)
    link = inbound.link("order", 103)
    assert (link["status"], link["pos_id"]) == ("pending", None)
    assert link["error"] == "the order is processing; it is written when it reaches complete"

    inbound.seed_order(103, [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}], state="complete")
    for _ in range(3):  # Magento fires sales_order_save_after on every save (mageplaza webhook #26)
        inbound.deliver("order", 103)
        inbound.work()

    assert inbound.count(m.Sale) == 1
    assert inbound.on_hand("CAP-1") == Decimal(4)
    link = inbound.link("order", 103)
    assert (link["status"], link["pos_id"], link["error"]) == ("synced", str(inbound.pos.find_sale(103).id), None)


@pytest.mark.parametrize("state", ["canceled", "closed"])
def test_canceled_and_closed_orders_are_not_written(inbound, state):
    inbound.add_product("CAP-1", on_hand=5)
    inbound.seed_order(104, [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}], state=state)
    inbound.deliver("order", 104)
    inbound.work()

    assert inbound.count(m.Sale) == 0
    assert inbound.on_hand("CAP-1") == Decimal(5)
    link = inbound.link("order", 104)
    assert link["status"] == "skipped"
    assert state in link["error"]


def test_a_closed_order_already_written_stays_synced(inbound):
    inbound.add_product("CAP-1", on_hand=5)
    inbound.seed_order(105, [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}])
    inbound.deliver("order", 105)
    inbound.work()
    sale_id = inbound.pos.find_sale(105).id

    inbound.seed_order(105, [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}], state="closed")
    inbound.deliver("order", 105)
    inbound.work()

    assert inbound.count(m.Sale) == 1
    assert (inbound.link("order", 105)["status"], inbound.link("order", 105)["pos_id"]) == ("synced", str(sale_id))


def test_a_configurable_parent_and_child_become_one_line_with_the_child_sku(inbound):
    inbound.add_product("TEE-BLK-M", on_hand=6)
    order = inbound.seed_order(
        106,
        [{"sku": "TEE-BLK-M", "name": "Tee Black M", "qty": 2, "price": 20.0, "parent_sku": "TEE", "discount": 5}],
    )
    assert len(order["items"]) == 2  # Magento lists the configurable parent and its simple child
    inbound.deliver("order", 106)
    inbound.work()

    sale = inbound.pos.find_sale(106)
    assert [(line.sku, line.qty, line.unit_price, line.discount, line.line_total) for line in sale.lines] == [
        ("TEE-BLK-M", Decimal(2), Decimal(20), Decimal(5), Decimal(35)),
    ]
    assert inbound.on_hand("TEE-BLK-M") == Decimal(4)


def test_guest_orders_get_a_customer_by_email_named_from_the_billing_address_and_reused(inbound):
    inbound.add_product("MUG-1", on_hand=10)
    for entity_id in (107, 108):
        record = magento_seed.order(
            entity_id, [{"sku": "MUG-1", "name": "Mug", "qty": 1, "price": 8.5}], guest_email="Gina@Example.com"
        )
        # Magento leaves a guest's customer name empty; the billing address has it.
        record.update(customer_firstname=None, customer_lastname=None, customer_id=None, customer_is_guest=1)
        record["billing_address"].update(firstname="Gina", lastname="Guest")
        inbound.magento.seed(orders=[record])
        inbound.deliver("order", entity_id)
        inbound.work()

    assert inbound.customers() == [("gina@example.com", "Gina", "Guest", None)]
    first, second = inbound.pos.find_sale(107), inbound.pos.find_sale(108)
    assert first.customer_id == second.customer_id
    assert inbound.on_hand("MUG-1") == Decimal(8)


# --- invoices and credit memos -------------------------------------------------------------------------------


def test_an_invoice_before_its_order_lands_and_is_linked_when_the_sale_does(inbound):
    inbound.add_product("MUG-1", on_hand=10)
    inbound.magento.seed(customers=[ALICE])
    inbound.seed_order(
        110, [{"sku": "MUG-1", "name": "Mug", "qty": 2, "price": 8.5}], state="processing", customer_id=ALICE["id"]
    )
    inbound.magento.seed(invoices=[{"entity_id": 210, "order_id": 110}])
    inbound.deliver("invoice", 210)
    inbound.deliver("order", 110)
    inbound.work()

    invoice = inbound.pos.find_invoice(210)
    assert (invoice.magento_order_id, invoice.sale_id, invoice.grand_total, invoice.paid) == (
        110,
        None,
        Decimal(22),
        Decimal(22),
    )
    with inbound.pos.engine.connect() as connection:
        assert connection.execute(select(m.Payment.amount, m.Payment.method)).all() == [(Decimal(22), "checkmo")]
    assert inbound.link("invoice", 210)["status"] == "synced"
    assert inbound.link("invoice", 210)["pos_id"] == str(invoice.id)
    assert inbound.link("order", 110)["status"] == "pending"

    inbound.seed_order(
        110, [{"sku": "MUG-1", "name": "Mug", "qty": 2, "price": 8.5}], state="complete", customer_id=ALICE["id"]
    )
    inbound.deliver("order", 110)
    inbound.work()

    sale = inbound.pos.find_sale(110)
    assert inbound.pos.find_invoice(210).sale_id == sale.id
    assert sale.customer_id == invoice.customer_id
    assert inbound.customers() == [("alice@example.com", "Alice", "Archer", 501)]


def test_a_credit_memo_before_its_invoice_and_order_becomes_a_credit_note_with_a_refund(inbound):
    inbound.add_product("CAP-1", on_hand=3)
    inbound.seed_order(111, [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}], state="closed")
    inbound.magento.seed(
        invoices=[{"entity_id": 211, "order_id": 111}],
        creditmemos=[{"entity_id": 311, "order_id": 111, "invoice_id": 211}],
    )
    inbound.deliver("creditmemo", 311)
    inbound.work()

    note = inbound.pos.find_credit_note(311)
    assert (note.magento_order_id, note.magento_invoice_id, note.invoice_id) == (111, 211, None)
    assert (note.grand_total, note.refunded) == (Decimal(20), Decimal(20))
    with inbound.pos.engine.connect() as connection:
        assert connection.execute(select(m.Refund.amount, m.Refund.method)).all() == [(Decimal(20), "checkmo")]
    assert inbound.link("creditmemo", 311)["status"] == "synced"

    inbound.deliver("invoice", 211)
    inbound.deliver("order", 111)
    inbound.work()

    invoice = inbound.pos.find_invoice(211)
    assert inbound.pos.find_credit_note(311).invoice_id == invoice.id
    assert inbound.link("order", 111)["status"] == "skipped"  # closed, never complete: no goods left the shop
    assert inbound.on_hand("CAP-1") == Decimal(3)
    assert len(inbound.customers()) == 1


# --- customers and categories --------------------------------------------------------------------------------


def test_a_new_magento_customer_is_created_and_a_known_one_only_linked(inbound):
    bob = {"id": 502, "email": "bob@example.com", "firstname": "Bob", "lastname": "Baker"}
    inbound.magento.seed(customers=[ALICE, bob])
    with inbound.pos.engine.begin() as connection:
        connection.execute(
            m.Customer.__table__.insert().values(email="bob@example.com", first_name="Robert", last_name="Baker")
        )
    inbound.deliver("customer", 501)
    inbound.deliver("customer", 502)
    inbound.work()

    assert inbound.customers() == [
        ("bob@example.com", "Robert", "Baker", 502),  # linked; the POS's name wins (updates flow POS → Magento)
        ("alice@example.com", "Alice", "Archer", 501),
    ]
    bob_pos = inbound.pos.find_customer(magento_id=502)
    assert inbound.link("customer", 502)["pos_id"] == str(bob_pos.id)
    assert inbound.link("customer", 501)["status"] == "synced"


def test_a_category_lands_under_its_parent_created_first_and_roots_are_skipped(inbound):
    ids = inbound.magento.seed(categories=[{"name": "Clothing", "parent_id": 2}])["categories"]
    child = inbound.magento.seed(categories=[{"name": "Tees", "parent_id": ids[0]}])["categories"][0]
    inbound.deliver("category", child)
    inbound.deliver("category", 2)
    inbound.work()

    with inbound.pos.engine.connect() as connection:
        rows = connection.execute(
            select(m.Category.id, m.Category.name, m.Category.parent_id, m.Category.magento_id).order_by(m.Category.id)
        ).all()
    (clothing_id, *_), _ = rows
    assert [(name, parent, magento) for _, name, parent, magento in rows] == [
        ("Clothing", None, ids[0]),
        ("Tees", clothing_id, child),
    ]
    assert inbound.link("category", ids[0])["status"] == "synced"
    assert inbound.link("category", child)["pos_id"] == str(rows[1].id)
    assert inbound.link("category", 2)["status"] == "skipped"

    inbound.deliver("category", ids[0])
    inbound.work()
    assert inbound.count(m.Category) == 2


# --- errors --------------------------------------------------------------------------------------------------


def test_an_sku_the_pos_lacks_fails_the_job_once_then_an_operator_retry_writes_the_sale(inbound):
    inbound.seed_order(120, [{"sku": "NEW-1", "name": "New thing", "qty": 1, "price": 9.0}])
    inbound.deliver("order", 120)
    inbound.work()

    link = inbound.link("order", 120)
    assert link["status"] == "failed"
    assert "unknown SKU 'NEW-1'" in link["error"]
    assert "order-120" in FailedJobRegistry(QUEUE_INBOUND, connection=inbound.redis)
    job = Job.fetch("order-120", connection=inbound.redis)
    assert job.get_status() == JobStatus.FAILED
    assert (job.retries_left, job.get_meta()[META_RETRIES_LEFT]) == (0, 2)  # no retry spent on it
    assert len(order_requests(inbound, 120)) == 1
    assert "PermanentImportError: order 120: the POS refused it" in job.latest_result().exc_string
    listed = inbound.app.test_client().get("/api/v1/jobs/failed", headers={"Authorization": "Bearer x"})
    assert listed.status_code == 401

    inbound.add_product("NEW-1", on_hand=2)
    response = inbound.api_post("/api/v1/jobs/failed/order-120/retry")
    assert response.status_code == 202, response.get_json()
    inbound.work()

    sale = inbound.pos.find_sale(120)
    assert sale is not None
    assert inbound.on_hand("NEW-1") == Decimal(1)
    link = inbound.link("order", 120)
    assert (link["status"], link["pos_id"], link["error"]) == ("synced", str(sale.id), None)
    assert "order-120" not in FailedJobRegistry(QUEUE_INBOUND, connection=inbound.redis)


def test_an_operator_retry_gets_its_retries_back_for_a_magento_hiccup(inbound):
    inbound.seed_order(121, [{"sku": "NEW-2", "name": "New thing", "qty": 1, "price": 9.0}])
    inbound.deliver("order", 121)
    inbound.work()
    inbound.add_product("NEW-2")
    inbound.magento.add_fault(path_prefix="/V1/orders/121", methods=["GET"], fail_next=2, retry_after_s=0)
    inbound.api_post("/api/v1/jobs/failed/order-121/retry")
    inbound.work()

    assert Job.fetch("order-121", connection=inbound.redis).get_status() == JobStatus.SCHEDULED
    assert inbound.run_due_retries() == ["order-121"]
    inbound.work()
    assert inbound.link("order", 121)["status"] == "synced"


def test_a_record_magento_does_not_have_fails_for_good_with_the_reason(inbound):
    inbound.deliver("invoice", 999)
    inbound.work()

    link = inbound.link("invoice", 999)
    assert link["status"] == "failed"
    assert "Magento did not give it: Magento answered 404" in link["error"]
    assert "invoice-999" in FailedJobRegistry(QUEUE_INBOUND, connection=inbound.redis)


def test_magento_unavailable_is_retried_with_backoff_and_then_succeeds(inbound):
    inbound.add_product("CAP-1", on_hand=5)
    inbound.seed_order(130, [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}])
    # Two 503s use up the client's own retry (MAGENTO_MAX_RETRIES=1): the job fails and RQ retries it.
    inbound.magento.add_fault(path_prefix="/V1/orders/130", methods=["GET"], fail_next=2, retry_after_s=0)
    inbound.deliver("order", 130)
    inbound.work()

    job = Job.fetch("order-130", connection=inbound.redis)
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.retries_left == 1
    link = inbound.link("order", 130)
    assert link["status"] == "pending"
    assert "MagentoTransientError" in link["error"] and "503" in link["error"]
    assert link["error"].endswith("(will be retried)")
    assert inbound.pos.find_sale(130) is None

    assert inbound.run_due_retries() == ["order-130"]
    inbound.work()

    assert inbound.pos.find_sale(130) is not None
    assert inbound.link("order", 130)["status"] == "synced"
    assert len(order_requests(inbound, 130)) == 3
    assert inbound.on_hand("CAP-1") == Decimal(4)


def test_the_pos_database_unavailable_is_retried_and_nothing_is_lost(inbound):
    inbound.add_product("CAP-1", on_hand=5)
    inbound.seed_order(131, [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}])
    with inbound.pos.engine.begin() as connection:
        connection.execute(text("ALTER TABLE sales RENAME TO sales_away"))
    inbound.deliver("order", 131)
    inbound.work()

    assert Job.fetch("order-131", connection=inbound.redis).get_status() == JobStatus.SCHEDULED
    assert "PosUnavailableError" in inbound.link("order", 131)["error"]
    with inbound.pos.engine.begin() as connection:
        connection.execute(text("ALTER TABLE sales_away RENAME TO sales"))
    inbound.run_due_retries()
    inbound.work()

    assert inbound.link("order", 131)["status"] == "synced"
    assert inbound.count(m.Sale) == 1
    assert inbound.on_hand("CAP-1") == Decimal(4)


def test_a_failure_after_the_last_retry_is_recorded_as_failed(inbound):
    inbound.seed_order(132, [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}])
    inbound.magento.add_fault(path_prefix="/V1/orders/132", methods=["GET"], fail_next=100, retry_after_s=0)
    inbound.deliver("order", 132)
    inbound.work()
    for _ in range(2):
        inbound.run_due_retries()
        inbound.work()

    assert "order-132" in FailedJobRegistry(QUEUE_INBOUND, connection=inbound.redis)
    link = inbound.link("order", 132)
    assert link["status"] == "failed"
    assert "503" in link["error"] and "will be retried" not in link["error"]
    assert len(order_requests(inbound, 132)) == 6  # 3 attempts of the job, 2 calls each


def test_the_forking_worker_files_a_permanent_failure_at_once_too(inbound):
    inbound.seed_order(133, [{"sku": "NEW-3", "name": "New thing", "qty": 1, "price": 9.0}])
    inbound.deliver("order", 133)
    inbound.pos.engine.dispose()  # the job runs in a forked process: it must not share the pool's connections
    Worker([QUEUE_INBOUND], connection=inbound.redis).work(burst=True)

    job = Job.fetch("order-133", connection=inbound.redis)
    assert job.get_status() == JobStatus.FAILED
    assert job.retries_left == 0
    assert inbound.link("order", 133)["status"] == "failed"


def test_each_import_logs_one_line_with_its_job_id_and_magento_id_and_no_secret(inbound, caplog):
    inbound.add_product("CAP-1")
    inbound.seed_order(134, [{"sku": "CAP-1", "name": "Cap", "qty": 1, "price": 15.0}])
    inbound.deliver("order", 134)
    with caplog.at_level(logging.INFO, logger="jobs.inbound"):
        inbound.work()

    (line,) = [r for r in caplog.records if r.name == "jobs.inbound"]
    assert (line.message, line.job_id, line.entity, line.magento_id, line.status) == (
        "imported",
        "order-134",
        "order",
        134,
        "synced",
    )
    assert line.pos_id == inbound.pos.find_sale(134).id
    formatted = JsonFormatter().format(line)
    settings = inbound.svc.settings
    for secret in (settings.magento_consumer_secret, settings.magento_access_token_secret, settings.api_token):
        assert secret not in formatted
