"""Customers' personal data: logs of a full inbound run carry ids only, the metrics none, stored errors and failed
jobs are kept PERSONAL_DATA_DAYS at most, and `forget customer` leaves no trace of the email in the service's
own storage (every sync_* row, every Redis key and value). See docs/personal-data.md."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from rq import SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import select, update

from jobs import periodic
from jobs.periodic import purge_personal_data
from sandbox import seed as magento_seed
from syncapi import logs
from syncapi.queues import FAILURE_TTL_S, QUEUE_DEFAULT, QUEUE_INBOUND, QUEUE_OUTBOUND
from syncapi.state import add_error, create_run, finish_run, record_link
from syncapi.state.models import HashRow, LinkRow, RunErrorRow, RunRow, StateBase
from syncapi.state.personal import REDACTED

ZELDA = {
    "id": 601,
    "email": "zelda.quartz@example.org",
    "firstname": "Zelda",
    "lastname": "Quartermaine",
    "phone": "555-8642-97",
    "street": "17 Wisteria Lane",
}
GUEST = {
    "email": "gwendolyn.guest@example.net",
    "firstname": "Gwendolyn",
    "lastname": "Fairweather",
    "phone": "555-3141-59",
    "street": "4 Privet Drive",
}
#: A phone longer than the POS keeps (64 characters): the POS refuses the customer, quoting the email.
TOO_LONG_PHONE = "+1 " + "5" * 70
BOB = {"id": 602, "email": "bob@example.com", "firstname": "Bob", "lastname": "Baker"}


def _customer(person: dict, phone: str | None = None) -> dict:
    record = magento_seed.customer(
        person["id"], person["email"], person["firstname"], person["lastname"], telephone=phone or person["phone"]
    )
    record["addresses"][0]["street"] = [person["street"]]
    return record


def _order(entity_id: int, lines: list[dict], *, customer: dict | None = None, guest: dict | None = None) -> dict:
    if guest is not None:
        record = magento_seed.order(entity_id, lines, guest_email=guest["email"])
        record.update(customer_firstname=None, customer_lastname=None, customer_id=None, customer_is_guest=1)
        person = guest
    else:
        record = magento_seed.order(entity_id, lines, customer_record=customer)
        person = ZELDA
    record["billing_address"].update(
        firstname=person["firstname"], lastname=person["lastname"], street=[person["street"]], telephone=person["phone"]
    )
    return record


def _personal_values(*people: dict) -> list[str]:
    values = []
    for person in people:
        values += [person["email"], person["firstname"], person["lastname"], person["phone"], person["street"]]
        values.append(person["email"].replace("@", "%40"))
    return values


def test_a_full_inbound_run_logs_ids_and_no_personal_data(inbound):
    """Customers, orders (registered and guest), an invoice, a credit memo and failed imports, logged at debug
    level: the log names records by id, and no customer's name, email, phone or street appears in it, nor in
    the metrics."""
    buffer = io.StringIO()
    logs.configure(dataclasses.replace(inbound.svc.settings, log_level="debug"), stream=buffer)
    inbound.add_product("TEE-1", on_hand=10)
    # A long phone is cut to fit and kept in the note; a NUL in a name is what still fails an import for good.
    failing = {**BOB, "email": "long.phone@example.org", "firstname": "Bartholomew", "lastname": "Longphone\x00"}
    failing.update(phone=TOO_LONG_PHONE, street="9 Rue de Rivoli")
    zelda = _customer(ZELDA)
    inbound.magento.seed(customers=[zelda, _customer(failing)])
    lines = [{"sku": "TEE-1", "name": "Tee", "qty": 1, "price": 20.0}]
    inbound.magento.seed(
        orders=[
            _order(701, lines, customer=zelda),
            _order(702, lines, guest=GUEST),
            _order(703, [{"sku": "NOT-IN-POS", "name": "Ghost", "qty": 1, "price": 5.0}], customer=zelda),
        ]
    )
    inbound.magento.seed(
        invoices=[{"entity_id": 801, "order_id": 701}],
        creditmemos=[{"entity_id": 901, "order_id": 701, "invoice_id": 801}],
    )
    for entity, magento_id in [
        ("customer", 601),
        ("customer", 602),
        ("order", 701),
        ("order", 702),
        ("order", 703),
        ("invoice", 801),
        ("creditmemo", 901),
    ]:
        assert inbound.deliver(entity, magento_id).status_code == 202
    inbound.work()

    # The run did what a full inbound run does, and its failures were logged (by id).
    assert inbound.pos.find_sale(701) and inbound.pos.find_sale(702) and inbound.pos.find_credit_note(901)
    assert inbound.link("customer", 602)["status"] == "failed"
    assert "long.phone@example.org" in inbound.link("customer", 602)["error"]  # stored, for the retention
    assert inbound.link("order", 703)["status"] == "failed"
    events = [json.loads(line) for line in buffer.getvalue().splitlines()]
    imported = {(e.get("entity"), e.get("magento_id")) for e in events if e["message"] == "imported"}
    assert {("customer", 601), ("order", 701), ("order", 702), ("invoice", 801), ("creditmemo", 901)} <= imported
    failed = [e for e in events if e.get("job_id") == "customer-602" and e["level"] == "error"]
    assert failed and "<email>" in json.dumps(failed)

    log_text = buffer.getvalue().lower()
    metrics_text = inbound.app.test_client().get("/metrics").get_data(as_text=True).lower()
    assert "syncapi_" in metrics_text
    for value in _personal_values(ZELDA, GUEST, failing):
        assert value.lower() not in log_text, value
        assert value.lower() not in metrics_text, value


# --- forget customer ---------------------------------------------------------------------------------------------


def _state_dump(engine) -> str:
    """Every row of every sync_* table, as text."""
    rows = []
    with engine.connect() as connection:
        for table in StateBase.metadata.sorted_tables:
            rows += [f"{table.name}: {tuple(row)}" for row in connection.execute(select(table))]
    return "\n".join(rows)


def _redis_dump(redis) -> str:
    """Every key of the database and every raw value under it, plus what rq itself reads back from each job (its
    call, metadata, exception and results), as text: read through rq, not through the code under test."""
    parts = []
    for raw_key in redis.scan_iter(count=500):
        key = raw_key.decode()
        parts.append(key)
        kind = redis.type(key).decode()
        if kind == "string":
            parts.append(repr(redis.get(key)))
        elif kind == "hash":
            parts.append(repr(redis.hgetall(key)))
        elif kind == "list":
            parts.append(repr(redis.lrange(key, 0, -1)))
        elif kind == "set":
            parts.append(repr(redis.smembers(key)))
        elif kind == "zset":
            parts.append(repr(redis.zrange(key, 0, -1)))
        elif kind == "stream":
            parts.append(repr(redis.xrange(key)))
        if key.startswith("rq:job:"):
            job = Job.fetch(key.removeprefix("rq:job:"), connection=redis)
            parts.append(repr((job.args, job.kwargs, job.meta, job.description)))
            parts += [repr((r.exc_string, r.return_value)) for r in job.results()]
    return "\n".join(parts)


def test_forget_customer_leaves_no_trace_of_the_email_in_the_service(inbound):
    email = ZELDA["email"]
    # Zelda's account and Bob's are imported, and a customer push records their hashes.
    zelda_elsewhere = {
        **_customer({**ZELDA, "id": 603, "lastname": ZELDA["lastname"] + "\x00"}, phone=TOO_LONG_PHONE),
        "website_id": 2,
    }
    inbound.magento.seed(customers=[_customer(ZELDA), _customer({**BOB, **_bob_extra()})])
    inbound.deliver("customer", 601)
    inbound.deliver("customer", 602)
    inbound.work()
    assert inbound.api_post("/api/v1/sync/customers", json={"full": True}).status_code == 202
    SimpleWorker([QUEUE_OUTBOUND, QUEUE_DEFAULT], connection=inbound.redis).work(burst=True)
    zelda_pos = inbound.pos.find_customer(email=email)
    assert zelda_pos.magento_id == 601
    # Her account on a second website has a NUL in its last name: its import fails for good with an
    # error quoting her email (on its link and in the failed job).
    inbound.magento.seed(customers=[zelda_elsewhere])
    inbound.deliver("customer", 603)
    inbound.work()
    assert inbound.link("customer", 603)["status"] == "failed"
    assert inbound.link("customer", 602)["status"] == "synced"
    before_state, before_redis = _state_dump(inbound.svc.state_engine).lower(), _redis_dump(inbound.redis).lower()
    assert email in before_state, "the test must start with traces to remove"
    assert email in before_redis, "the test must start with traces to remove"

    result = inbound.app.test_cli_runner().invoke(args=["forget", "customer", ZELDA["email"].upper()])

    assert result.exit_code == 0, result.output
    after_state, after_redis = _state_dump(inbound.svc.state_engine).lower(), _redis_dump(inbound.redis).lower()
    for form in (email, email.replace("@", "%40")):
        assert form not in after_state
        assert form not in after_redis
    assert not Job.exists("customer-603", connection=inbound.redis)
    # Only what concerned her went: Bob's link and his import job are still there.
    assert inbound.link("customer", 602)["status"] == "synced"
    assert Job.exists("customer-602", connection=inbound.redis)
    with inbound.svc.state_engine.connect() as connection:
        customer_links = connection.execute(select(LinkRow.magento_id).where(LinkRow.entity == "customer")).all()
    assert ("601",) not in customer_links and ("602",) in customer_links
    with inbound.svc.state_engine.connect() as connection:
        hashes = connection.execute(select(HashRow.key).where(HashRow.kind == "customers")).all()
    assert (str(zelda_pos.id),) not in hashes and len(hashes) == 1
    # What stays in the POS and Magento is said, by id.
    assert f"POS: customer {zelda_pos.id} (name, email, phone)" in result.output
    assert "Magento: customer 601" in result.output
    assert "customer-603" in result.output and "0 other key(s)" in result.output  # e.g. no metrics label


def _bob_extra() -> dict:
    return {"phone": "555-0102", "street": "2 Low Road"}


def test_forget_customer_refuses_what_is_not_an_email_and_changes_nothing(inbound):
    record_link(inbound.svc.state_engine, "customer", 5, "failed", error="customer 'nobody' is not known")
    before = _state_dump(inbound.svc.state_engine)
    result = inbound.app.test_cli_runner().invoke(args=["forget", "customer", "nobody"])
    assert result.exit_code == 2 and "is not an email address" in result.output
    assert _state_dump(inbound.svc.state_engine) == before


def test_forget_customer_unknown_everywhere_says_so(inbound):
    result = inbound.app.test_cli_runner().invoke(args=["forget", "customer", "nobody@example.com"])
    assert result.exit_code == 0, result.output
    assert "POS: no customer with this email." in result.output
    assert "0 customer link(s)" in result.output and "Redis: 0 job(s)" in result.output


# --- retention ---------------------------------------------------------------------------------------------------


def _age(engine, table, column, where, days: int) -> None:
    with engine.begin() as connection:
        connection.execute(update(table).where(where).values({column: datetime.now(UTC) - timedelta(days=days)}))


def test_the_purge_clears_personal_data_older_than_the_retention_only(inbound):
    engine = inbound.svc.state_engine
    old_email, new_email = "old.customer@example.org", "new.customer@example.org"
    record_link(engine, "customer", 11, "failed", error=f"customer {old_email!r}: phone too long")
    record_link(engine, "customer", 12, "failed", error=f"customer {new_email!r}: phone too long")
    old_run = create_run(engine, "customers", "manual").run_id
    add_error(engine, old_run, "11", f"Magento: {old_email} is not valid")
    finish_run(engine, old_run, failed_reason=f"gave up on {old_email}")
    new_run = create_run(engine, "customers", "manual").run_id
    add_error(engine, new_run, "12", f"Magento: {new_email} is not valid")
    _age(engine, LinkRow, "updated_at", LinkRow.magento_id == "11", 31)
    _age(engine, LinkRow, "updated_at", LinkRow.magento_id == "12", 29)
    _age(engine, RunErrorRow, "created_at", RunErrorRow.run_id == old_run, 31)
    _age(engine, RunRow, "created_at", RunRow.id == old_run, 31)
    # Two failed jobs: one that ended 31 days ago, one yesterday.
    inbound.redis.flushdb()
    for job_id in ("customer-11", "customer-12"):
        inbound.svc.queues.enqueue(QUEUE_INBOUND, "jobs.inbound.import_customer", 0, job_id=job_id)
    SimpleWorker([QUEUE_INBOUND], connection=inbound.redis).work(burst=True)
    for job_id, days in (("customer-11", 31), ("customer-12", 1)):
        job = Job.fetch(job_id, connection=inbound.redis)
        job.ended_at = datetime.now(UTC) - timedelta(days=days)
        job.save()

    counts = purge_personal_data()

    assert counts == {"link_errors": 1, "run_errors": 1, "run_reasons": 1, "failed_jobs": 1}
    dump = _state_dump(engine)
    assert old_email not in dump and new_email in dump and REDACTED in dump
    registry = FailedJobRegistry(QUEUE_INBOUND, connection=inbound.redis)
    assert registry.get_job_ids() == ["customer-12"]
    assert not Job.exists("customer-11", connection=inbound.redis)
    assert purge_personal_data() == {"link_errors": 0, "run_errors": 0, "run_reasons": 0, "failed_jobs": 0}


def test_failed_jobs_expire_within_the_retention(app_settings, redis, tmp_path):
    from app import create_app
    from syncapi import db, services

    for days, expected in ((3, 3 * 24 * 3600), (30, FAILURE_TTL_S)):
        application = create_app({**app_settings, "PERSONAL_DATA_DAYS": days})
        assert application.extensions["services"].queues.job_options("x")["failure_ttl"] == expected
        db.dispose_all()
        services._current = None


def test_the_retention_must_be_a_day_or_more(app_settings):
    from syncapi.config import Settings, SettingsError

    with pytest.raises(SettingsError, match="PERSONAL_DATA_DAYS must be 1 or more"):
        Settings.from_env({}, overrides={**app_settings, "PERSONAL_DATA_DAYS": 0})


def test_the_cron_schedule_purges_personal_data(app):
    from pathlib import Path

    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=app.extensions["services"].queues.connection)
    scheduler.load_config_from_file(str(Path(__file__).resolve().parents[1] / "jobs" / "schedule.py"))
    [purge] = [job for job in scheduler.get_jobs() if job.func is periodic.purge_personal_data]
    assert purge.interval == 6 * 3600 and purge.queue_name == QUEUE_DEFAULT
