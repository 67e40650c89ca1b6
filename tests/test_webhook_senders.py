"""Every real webhook sender, every version, as it really sends (tests/webhook_senders.py builds the requests):
an order and a customer land once in the POS per sender set up as docs/magento-setup.md says, a redelivery
doubles nothing, a forged signature gets 401, every event the common events module sends gets a 2xx, and
strangers leave no trace."""

from __future__ import annotations

import hmac
import json
import random
import string
import threading
import uuid

import pytest
import requests
from rq.job import Job

from app import create_app
from syncapi import db, services
from syncapi.config import Settings, SettingsError
from syncapi.pos import models as m
from syncapi.webhooks import views
from syncapi.webhooks.adobe import (
    FETCH_WINDOW_S,
    KEY_REFETCH_INTERVAL_S,
    KEY_TTL_S,
    MAX_KEY_FETCHES,
    MAX_UNVERIFIED_KEYS,
)
from tests.conftest import TEST_API_TOKEN, TEST_WEBHOOK_SECRET, base_settings
from tests.fixtures_inbound import inbound_test_settings
from tests.fixtures_webhooks import inbound_jobs, run_gunicorn
from tests.webhook_senders import (
    COMMON_MODULE_EVENTS,
    AdobeIo,
    Attempt,
    KeyServer,
    MageOs,
    flask_transport,
    http_transport,
    php_json_encode,
)

CLIENT_ID = "syncapi-registration-4d2a"
API_AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
ALICE = {"id": 501, "email": "zoe.archer@example.com", "firstname": "Zo\u00eb", "lastname": "Archer"}
SENDERS = ["mageos-2.x", "mageos-3.2", "mageos-3.3", "mageos-4.x", "adobe-single", "adobe-batch"]


@pytest.fixture(scope="module")
def key_server():
    server = KeyServer()
    yield server
    server.close()


@pytest.fixture
def inbound_settings(tmp_path, database_url, magento, key_server) -> dict:
    """Both schemes on, as docs/magento-setup.md sets up a store that has both kinds of sender."""
    return inbound_test_settings(
        tmp_path,
        database_url,
        magento.base_url,
        WEBHOOK_AUTH="hmac,adobe-io",
        ADOBE_IO_KEY_BASE_URL=key_server.base_url,
        ADOBE_IO_CLIENT_ID=CLIENT_ID,
    )


@pytest.fixture
def adobe_app(redis, tmp_path, key_server):
    """The app with only Adobe I/O Events signatures accepted (no WEBHOOK_SECRET needed)."""
    settings = base_settings(
        tmp_path, WEBHOOK_AUTH="adobe-io", ADOBE_IO_KEY_BASE_URL=key_server.base_url, ADOBE_IO_CLIENT_ID=CLIENT_ID
    )
    del settings["WEBHOOK_SECRET"]
    application = create_app(settings)
    from syncapi.state import upgrade

    upgrade(application.extensions["services"].state_engine)
    yield application
    db.dispose_all()
    services._current = None


def make_sender(name: str, key_server: KeyServer):
    if name.startswith("mageos-"):
        return MageOs(name.removeprefix("mageos-"), TEST_WEBHOOK_SECRET)
    return AdobeIo(key_server, CLIENT_ID, batch=name == "adobe-batch")


def customer_and_order_attempts(sender, inbound) -> list[Attempt]:
    """The deliveries a store makes when Alice signs up and her order completes (and is paid)."""
    order = inbound.magento_record("orders", 101)
    customer = inbound.magento_record("customers", 501)
    if isinstance(sender, MageOs):
        address = {"id": 7, "customer_id": 501, "city": "Z\u00fcrich", "street": ["1/2 Main St"], "region": {}}
        return [
            sender.build("customer.created", customer),
            sender.build("customer.address.created", address),
            sender.build("sales.order.created", order),
            sender.build("sales.order.paid", order),
        ]
    events = [
        sender.event("customer_save_after_data_object", {"id": "501", "email": ALICE["email"]}),
        sender.event("sales_order_save_after", {"entity_id": "101", "increment_id": "000000101"}),
    ]
    if sender.batch:
        return [sender.build(events)]
    return [sender.build([event]) for event in events]


@pytest.mark.parametrize("sender_name", SENDERS)
def test_each_sender_lands_an_order_and_a_customer_once(inbound, key_server, sender_name):
    sender = make_sender(sender_name, key_server)
    inbound.add_product("TEE-1", on_hand=10)
    inbound.magento.seed(customers=[ALICE])
    inbound.seed_order(101, [{"sku": "TEE-1", "name": "T\u00e9e", "qty": 2, "price": 72.0}], customer_id=501)
    transport = flask_transport(inbound.app.test_client())
    attempts = customer_and_order_attempts(sender, inbound)

    for attempt in attempts:
        outcome = sender.send(transport, attempt)
        assert outcome.verdict == "delivered", outcome.answers
        assert [answer.status for answer in outcome.answers] == [202]
    inbound.work()
    assert inbound.pos.find_sale(101) is not None
    assert inbound.count(m.Sale) == 1
    assert inbound.customers() == [(ALICE["email"], "Zo\u00eb", "Archer", 501)]
    assert inbound.on_hand("TEE-1") == 8

    # A redelivery (the same bytes: a retry, or Adobe's at-least-once) doubles nothing.
    for attempt in attempts:
        assert sender.send(transport, attempt).verdict == "delivered"
    inbound.work()
    assert inbound.count(m.Sale) == 1
    assert len(inbound.customers()) == 1
    assert inbound.on_hand("TEE-1") == 8

    # A forged delivery: another order id in the bytes the sender signed.
    forged = attempts[-1]
    forged = Attempt(forged.path, forged.headers, forged.body.replace(b"101", b"102"))
    answer = transport(forged)
    assert answer.status == 401, answer.json
    assert set(answer.json) == {"error", "message"}
    assert inbound_jobs(inbound.redis) == []


# --- every event the common events module sends, over real HTTP ---------------------------------------------------


def data_for(event: str, n: int) -> dict:
    """Service output shaped as the module's services return it for `event` (ids where the service reads them)."""
    if event.startswith("customer.address."):
        return {"id": n, "customer_id": n + 1, "street": ["Hauptstra\u00dfe 1"], "region": {"region_id": 0}}
    if event.startswith("customer."):
        return {"id": n, "email": f"c{n}@example.com", "firstname": "J\u00fcrgen", "addresses": []}
    if event.startswith(("sales.invoice.", "sales.shipment.", "sales.creditmemo.")):
        return {"entity_id": n, "order_id": n + 1, "grand_total": 72.0, "items": []}
    if event.startswith("sales."):
        return {"entity_id": n, "increment_id": f"{n:09d}", "grand_total": 72.0, "base_discount_amount": -1.5e-5}
    if event.startswith("catalog.product."):
        return {"id": n, "sku": "TEE/RED", "price": 19.99, "extension_attributes": {}}
    return {"id": n, "title": "\u00dcber uns", "content": "<p>a/b</p>"}


@pytest.fixture(scope="module")
def http_server(tmp_path_factory, key_server):
    tmp_path = tmp_path_factory.mktemp("senders-server")
    settings = base_settings(
        tmp_path, WEBHOOK_AUTH="hmac,adobe-io", ADOBE_IO_KEY_BASE_URL=key_server.base_url, ADOBE_IO_CLIENT_ID=CLIENT_ID
    )
    yield from run_gunicorn(tmp_path, settings)


@pytest.mark.parametrize("version", MageOs.VERSIONS)
def test_every_common_module_event_gets_a_2xx_from_every_mageos_version(http_server, redis, version):
    sender = MageOs(version, TEST_WEBHOOK_SECRET)
    with requests.Session() as session:
        transport = http_transport(http_server, session)
        for n, event in enumerate(COMMON_MODULE_EVENTS, start=10):
            outcome = sender.send(transport, sender.build(event, data_for(event, n)))
            assert outcome.verdict == "delivered", (event, outcome.answers)
            assert len(outcome.answers) == 1 and outcome.answers[0].status in (200, 202)
    assert {job.id for job in inbound_jobs(redis)} == {
        "customer-10",  # customer.created
        "customer-11",  # customer.updated
        "customer-14",  # customer.address.created: the customer of address 13
        "customer-15",  # customer.address.updated: the customer of address 14
        "order-15",  # sales.order.created
        "order-16",  # sales.order.updated
        "order-17",  # sales.order.paid
        "order-22",  # sales.order.cancelled
        "invoice-24",  # sales.invoice.created
        "invoice-25",  # sales.invoice.paid
        "creditmemo-26",
    }


def test_the_bare_url_names_the_per_event_url_and_mageos_2x_would_dead_letter_it(http_server, redis):
    sender = MageOs("2.x", TEST_WEBHOOK_SECRET)
    attempt = sender.build("sales.order.created", data_for("sales.order.created", 5), recipient_url="/webhooks/magento")
    with requests.Session() as session:
        outcome = sender.send(http_transport(http_server, session), attempt)
    assert {answer.status for answer in outcome.answers} == {422}
    assert "/webhooks/magento/<event name>" in outcome.answers[0].json["message"]
    # Six tries in about a minute, then the dead-letter queue: why each 2.x/3.x subscription needs its own URL.
    assert (outcome.verdict, outcome.delays_s) == ("dead-lettered", [1, 4, 9, 16, 25])
    assert inbound_jobs(redis) == []


def test_a_503_asks_for_a_retry_that_fits_every_senders_schedule(tmp_path, redis):
    application = create_app(base_settings(tmp_path, REDIS_URL="redis://127.0.0.1:1/0"))
    try:
        transport = flask_transport(application.test_client())
        for version in MageOs.VERSIONS:
            sender = MageOs(version, TEST_WEBHOOK_SECRET)
            outcome = sender.send(transport, sender.build("sales.order.paid", {"entity_id": 9}))
            assert {answer.status for answer in outcome.answers} == {503}
            assert outcome.answers[0].headers["retry-after"] == "5"
            # 3.3+ and 4.x wait what Retry-After says: the whole retry budget stays within the first minute.
            expected = [5.0] * 5 if version in ("3.3", "4.x") else [1, 4, 9, 16, 25]
            assert outcome.delays_s == expected
            assert sum(outcome.delays_s) <= 60
    finally:
        db.dispose_all()
        services._current = None


# --- Adobe I/O Events ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/webhooks/magento", "/webhooks/magento/observer.sales_order_save_after"])
def test_the_registration_challenge_is_echoed(adobe_app, path):
    challenge = str(uuid.uuid4())
    response = adobe_app.test_client().get(path, query_string={"challenge": challenge})
    assert response.status_code == 200
    assert response.get_json() == {"challenge": challenge}
    bad = adobe_app.test_client().get(path, query_string={"challenge": "<script>"})
    assert bad.status_code == 400


def test_either_adobe_signature_is_enough_and_keys_are_fetched_once(adobe_app, redis, key_server):
    sender = AdobeIo(key_server, CLIENT_ID)
    transport = flask_transport(adobe_app.test_client())
    key_server.fetches.clear()
    for n, signers in enumerate([(0, 1), (0,), (1,)], start=1):
        event = sender.event("sales_order_save_after", {"entity_id": str(n)})
        answer = transport(sender.build([event], signers=signers))
        assert answer.status == 202, answer.json
    forged = transport(sender.build([sender.event("sales_order_save_after", {"entity_id": "4"})], signers=()))
    assert forged.status == 401
    assert sorted(job.id for job in inbound_jobs(redis)) == ["order-1", "order-2", "order-3"]
    # Each key fetched once, then served from the cache (kept at most a day).
    assert sorted(key_server.fetches) == sorted(sender.key_paths)
    assert KEY_TTL_S <= 24 * 3600


def test_a_key_path_of_another_form_is_never_fetched(adobe_app, redis, key_server):
    sender = AdobeIo(key_server, CLIENT_ID)
    attempt = sender.build([sender.event("sales_order_save_after", {"entity_id": "5"})])
    key_server.fetches.clear()
    for path in ("https://evil.example/k.pem", "/prod/keys/../../etc/passwd", "/stage/keys/pub-key-1.pem"):
        headers = {**attempt.headers, "x-adobe-public-key1-path": path, "x-adobe-public-key2-path": path}
        answer = flask_transport(adobe_app.test_client())(Attempt(attempt.path, headers, attempt.body))
        assert answer.status == 401
    assert key_server.fetches == []
    assert inbound_jobs(redis) == []


def test_made_up_key_paths_cost_a_bounded_number_of_fetches(adobe_app, redis, key_server):
    sender = AdobeIo(key_server, CLIENT_ID)
    attempt = sender.build([sender.event("sales_order_save_after", {"entity_id": "8"})])
    transport = flask_transport(adobe_app.test_client())
    assert transport(attempt).status == 202  # the real keys are cached first
    key_server.fetches.clear()
    statuses = set()
    for _ in range(40):
        made_up = f"/prod/keys/pub-key-{uuid.uuid4()}.pem"
        headers = {**attempt.headers, "x-adobe-public-key1-path": made_up, "x-adobe-public-key2-path": made_up}
        statuses.add(transport(Attempt(attempt.path, headers, attempt.body)).status)
    assert statuses == {401, 503}
    assert 0 < len(key_server.fetches) < MAX_KEY_FETCHES  # the budget, less the real key fetched first
    # A delivery signed with the cached keys is never held back.
    assert transport(sender.build([sender.event("sales_order_save_after", {"entity_id": "9"})])).status == 202


class Clock:
    """A monotonic clock the test moves by hand, for the app's Adobe key store."""

    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _clocked_keys(application) -> Clock:
    clock = Clock()
    application.extensions[views.EXTENSION].adobe_keys.clock = clock
    return clock


def _made_up(attempt: Attempt) -> Attempt:
    """`attempt` (built with `signers=()`: no real signature) naming a made-up key path, as anyone can send."""
    made_up = f"/prod/keys/pub-key-{uuid.uuid4()}.pem"
    headers = {**attempt.headers, "x-adobe-public-key1-path": made_up, "x-adobe-public-key2-path": made_up}
    return Attempt(attempt.path, headers, attempt.body)


def test_a_flood_of_made_up_key_paths_never_pushes_out_a_verified_key(adobe_app, redis, key_server):
    clock = _clocked_keys(adobe_app)
    sender = AdobeIo(key_server, CLIENT_ID)
    transport = flask_transport(adobe_app.test_client())
    assert transport(sender.build([sender.event("sales_order_save_after", {"entity_id": "40"})])).status == 202
    unsigned = sender.build([sender.event("sales_order_save_after", {"entity_id": "41"})], signers=())
    key_server.fetches.clear()
    statuses = []
    # Wave after wave, each a minute apart so the fetch budget is there again: more made-up paths fetched than
    # the cache of unverified paths holds, and more requests than the budget allows in each minute.
    for _ in range(2 * MAX_UNVERIFIED_KEYS // MAX_KEY_FETCHES + 1):
        clock.now += FETCH_WINDOW_S
        statuses += [transport(_made_up(unsigned)).status for _ in range(2 * MAX_KEY_FETCHES)]
    assert set(statuses) == {401, 503}
    assert len(key_server.fetches) > MAX_UNVERIFIED_KEYS
    assert not set(key_server.fetches) & set(sender.key_paths)
    # The budget is still used up by the last wave, and the real delivery needs neither it nor a fetch.
    key_server.fetches.clear()
    answer = transport(sender.build([sender.event("sales_order_save_after", {"entity_id": "42"})]))
    assert answer.status == 202, answer.json
    assert key_server.fetches == []
    assert sorted(job.id for job in inbound_jobs(redis)) == ["order-40", "order-42"]


def test_a_verified_key_past_a_day_is_fetched_again_and_kept_while_the_key_server_fails(adobe_app, redis, key_server):
    clock = _clocked_keys(adobe_app)
    sender = AdobeIo(key_server, CLIENT_ID)
    transport = flask_transport(adobe_app.test_client())

    def deliver(n: int) -> int:
        return transport(sender.build([sender.event("sales_order_save_after", {"entity_id": str(n)})])).status

    assert deliver(50) == 202
    key_server.fetches.clear()
    clock.now += KEY_TTL_S + 1
    # Made-up paths use up the fetch budget first: the daily fetch of a verified key does not depend on it.
    unsigned = sender.build([sender.event("sales_order_save_after", {"entity_id": "0"})], signers=())
    assert 503 in {transport(_made_up(unsigned)).status for _ in range(MAX_KEY_FETCHES + 1)}
    key_server.fetches.clear()
    key_server.failing = 503
    try:
        assert deliver(51) == 202  # tried, failed, the key kept
        assert key_server.fetches == [sender.key_paths[0]]
        assert deliver(52) == 202  # not tried again within the minute
        assert key_server.fetches == [sender.key_paths[0]]
        clock.now += KEY_REFETCH_INTERVAL_S
        assert deliver(53) == 202  # tried again, failed again, still kept
        assert key_server.fetches == [sender.key_paths[0]] * 2
    finally:
        key_server.failing = None
    clock.now += KEY_REFETCH_INTERVAL_S
    assert deliver(54) == 202  # fetched again, now for another day
    assert key_server.fetches == [sender.key_paths[0]] * 3
    clock.now += KEY_TTL_S - 1
    assert deliver(55) == 202
    assert key_server.fetches == [sender.key_paths[0]] * 3
    assert sorted(job.id for job in inbound_jobs(redis)) == [f"order-{n}" for n in range(50, 56)]


def test_a_verified_key_the_key_server_no_longer_serves_is_dropped_after_a_day(adobe_app, redis, key_server):
    clock = _clocked_keys(adobe_app)
    sender = AdobeIo(key_server, CLIENT_ID)
    transport = flask_transport(adobe_app.test_client())
    attempt = sender.build([sender.event("sales_order_save_after", {"entity_id": "60"})], signers=(0,))
    assert transport(attempt).status == 202
    del key_server.keys[sender.key_paths[0]]  # Adobe withdrew the key
    assert transport(attempt).status == 202  # still within the day
    clock.now += KEY_TTL_S
    answer = transport(attempt)
    assert answer.status == 401
    assert "neither verifies" in answer.json["message"]


def test_a_key_that_cannot_be_fetched_is_503_and_adobe_retries_it_in(adobe_app, redis, key_server):
    sender = AdobeIo(key_server, CLIENT_ID)
    attempt = sender.build([sender.event("sales_order_save_after", {"entity_id": "6"})])
    key_server.failing = 503

    def recover(retry: int) -> None:
        key_server.failing = None

    try:
        outcome = sender.send(flask_transport(adobe_app.test_client()), attempt, until=recover)
    finally:
        key_server.failing = None
    assert [answer.status for answer in outcome.answers] == [503, 202]
    assert outcome.answers[0].headers["retry-after"] == "5"
    assert outcome.verdict == "delivered"
    assert [job.id for job in inbound_jobs(redis)] == ["order-6"]


def test_an_event_for_another_registration_is_refused(adobe_app, redis, key_server):
    sender = AdobeIo(key_server, "someone-else")
    answer = flask_transport(adobe_app.test_client())(
        sender.build([sender.event("sales_order_save_after", {"entity_id": "7"})])
    )
    assert answer.status == 401
    assert "recipientclientid" in answer.json["message"]
    assert inbound_jobs(redis) == []


def test_a_batch_queues_the_good_events_and_records_the_bad_ones_for_the_operator(adobe_app, redis, key_server):
    sender = AdobeIo(key_server, CLIENT_ID, batch=True)
    events = [
        sender.event("sales_order_save_after", {"entity_id": "31"}),
        sender.event("sales_order_save_after", {"increment_id": "000000032"}),  # entity_id left out of data.value
        sender.event("catalog_product_save_after", {"entity_id": "3"}),
        sender.event("customer_save_after_data_object", {"id": "33"}),
    ]
    answer = flask_transport(adobe_app.test_client())(sender.build(events))
    assert answer.status == 202
    assert [event["status"] for event in answer.json["events"]] == ["queued", "rejected", "ignored", "queued"]
    assert sorted(job.id for job in inbound_jobs(redis)) == ["customer-33", "order-31"]

    client = adobe_app.test_client()
    runs = client.get("/api/v1/runs", query_string={"kind": "sales"}, headers=API_AUTH).get_json()
    assert [(run["trigger"], run["status"], run["error_count"]) for run in runs] == [("webhook", "failed", 1)]
    errors = client.get(f"/api/v1/runs/{runs[0]['run_id']}", headers=API_AUTH).get_json()["errors"]
    assert errors[0]["key"] == events[1]["id"]
    assert "data.value.entity_id" in errors[0]["message"]


def test_a_batch_is_only_read_from_adobe_signed_deliveries(client, redis):
    one = MageOs("4.x", TEST_WEBHOOK_SECRET).build("sales.order.created", {"entity_id": 1})
    body = b"[" + one.body + b"]"
    headers = {**one.headers, "x-magento-signature": hmac.new(TEST_WEBHOOK_SECRET.encode(), body, "sha256").hexdigest()}
    answer = flask_transport(client)(Attempt("/webhooks/magento", headers, body))
    assert answer.status == 400
    assert "JSON object" in answer.json["message"]
    assert inbound_jobs(redis) == []


# --- PHP's bytes, strangers and ids ---------------------------------------------------------------------------------


def test_php_json_encode_bytes_are_verified_and_read_as_sent(client, redis):
    data = {"entity_id": 12, "grand_total": 72.0, "url": "https://shop/x", "name": "M\u00fcller", "items": {}}
    raw = php_json_encode({"data": data})
    assert raw == (
        b'{"data":{"entity_id":12,"grand_total":72,"url":"https:\\/\\/shop\\/x","name":"M\\u00fcller","items":[]}}'
    )
    sender = MageOs("3.3", TEST_WEBHOOK_SECRET)
    answer = flask_transport(client)(sender.build("sales.order.updated", data))
    assert answer.status == 202 and answer.json == {"status": "queued", "job_id": "order-12"}


def test_ids_from_requests_are_kept_only_when_they_are_plain_ids(client, redis):
    transport = flask_transport(client)
    sender = MageOs("4.x", TEST_WEBHOOK_SECRET)
    hostile = '<img src=x onerror="alert(1)">'
    assert transport(sender.build("sales.order.created", {"entity_id": 1}, event_id=hostile)).status == 202
    good = str(uuid.uuid4())
    assert transport(sender.build("customer.created", {"id": 2}, event_id=good)).status == 202
    plain = MageOs("3.3", TEST_WEBHOOK_SECRET).build("sales.invoice.created", {"entity_id": 3})
    with_header = Attempt(plain.path, {**plain.headers, "x-adobe-event-id": "<script>alert(1)</script>"}, plain.body)
    assert transport(with_header).status == 202
    meta = {job.id: job.meta.get("delivery_id") for job in inbound_jobs(redis)}
    assert meta == {"order-1": None, "customer-2": good, "invoice-3": None}
    assert Job.fetch("customer-2", connection=redis).meta["delivery_id"] == good


def test_strangers_leave_redis_and_metrics_bounded(http_server, redis):
    """3,000 unsigned POSTs to random event paths: one counter moves, nothing else is kept."""

    def flood(count: int) -> None:
        def worker(n: int) -> None:
            rng = random.Random(n)
            with requests.Session() as session:
                for _ in range(n):
                    name = "".join(rng.choices(string.ascii_lowercase + ".", k=24))
                    body = json.dumps({"data": {"entity_id": rng.randint(1, 10**9)}})
                    response = session.post(
                        f"{http_server}/webhooks/magento/{name}",
                        data=body,
                        headers={"Content-Type": "application/json", "x-magento-signature": "0" * 64},
                        timeout=15,
                    )
                    assert response.status_code == 401

        threads = [threading.Thread(target=worker, args=(count // 4,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)

    def footprint() -> tuple[dict, int]:
        memory = {key: redis.memory_usage(key) for key in redis.keys("*")}
        metrics = requests.get(f"{http_server}/metrics", timeout=15).text
        return memory, len(metrics)

    flood(100)  # the first refusals create the counter
    keys_before, metrics_before = footprint()
    flood(3000)
    keys_after, metrics_after = footprint()
    assert set(keys_after) == set(keys_before)
    assert sum(keys_after.values()) - sum(keys_before.values()) < 200
    assert metrics_after - metrics_before < 20  # the counter's digits
    fields = {k.decode(): int(v) for k, v in redis.hgetall("syncapi:metrics:syncapi_webhooks").items()}
    assert fields == {'["other","unauthenticated"]': 3100}


# --- settings -------------------------------------------------------------------------------------------------------


def test_webhook_secret_is_required_only_with_hmac(tmp_path):
    settings = base_settings(tmp_path, WEBHOOK_AUTH="adobe-io", ADOBE_IO_CLIENT_ID=CLIENT_ID)
    del settings["WEBHOOK_SECRET"]
    assert Settings.from_env({}, settings).webhook_auth == ("adobe-io",)
    with pytest.raises(SettingsError, match="missing required setting WEBHOOK_SECRET"):
        Settings.from_env({}, {**settings, "WEBHOOK_AUTH": "hmac,adobe-io"})
    with pytest.raises(SettingsError, match="WEBHOOK_AUTH"):
        Settings.from_env({}, {**settings, "WEBHOOK_AUTH": "hmac,rsa"})
    with pytest.raises(SettingsError, match="ADOBE_IO_KEY_BASE_URL"):
        Settings.from_env({}, {**settings, "ADOBE_IO_KEY_BASE_URL": "static.adobeioevents.com"})


def test_adobe_io_needs_the_registrations_client_id_outside_make_run(tmp_path):
    settings = base_settings(tmp_path, WEBHOOK_AUTH="hmac,adobe-io")
    why = (
        "missing required setting ADOBE_IO_CLIENT_ID: WEBHOOK_AUTH includes adobe-io, and an Adobe signature proves"
        " only that Adobe sent an event, not that it came from this store's registration;"
    )
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({}, settings)
    assert str(refused.value).startswith(why) and "\n" not in str(refused.value)
    with pytest.raises(SettingsError, match=r"ADOBE_IO_CLIENT_ID.*SYNCAPI_ENV=development ignored"):
        Settings.from_env({}, {**settings, "SYNCAPI_ENV": "development"})
    # Only WEBHOOK_AUTH with adobe-io needs it, and only outside `make run`.
    assert Settings.from_env({}, {**settings, "WEBHOOK_AUTH": "hmac"}).adobe_io_client_id is None
    development = {"SYNCAPI_ENV": "development", "SYNCAPI_MAKE_RUN": "1", "HOST": "127.0.0.1"}
    assert Settings.from_env({}, {**settings, **development}).adobe_io_client_id is None
    assert Settings.from_env({}, {**settings, "ADOBE_IO_CLIENT_ID": CLIENT_ID}).adobe_io_client_id == CLIENT_ID
