"""Several POS locations → several MSI sources: buffered quantities, the same bulk calls, unknown sources
reported once, change detection per SKU and source; and the STOCK_SOURCES / STOCK_BUFFER settings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from syncapi.config import Settings, SettingsError
from syncapi.pos import models as m
from tests.conftest import TEST_API_TOKEN
from tests.fixtures_pos import add_product, add_rows

SOURCES = "WEB:default,SHOP1:shop_1,DEPOT:warehouse"
ITEMS = "/V1/inventory/source-items"
AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}


def set_on_hand(engine, sku: str, location: str, on_hand: int) -> None:
    with Session(engine) as session:
        session.execute(
            update(m.Stock)
            .where(m.Stock.sku == sku, m.Stock.location_code == location)
            .values(on_hand=Decimal(on_hand), updated_at=m.utcnow())
        )
        session.commit()


def three_shops(outbound, magento, **settings):
    """Sources shop_1 and warehouse in Magento; A: WEB 10, SHOP1 5; B: WEB 0, SHOP1 2, DEPOT 7; C: no stock."""
    magento.seed(sources=[{"source_code": "shop_1", "name": "Shop 1"}, {"source_code": "warehouse"}])
    outbound.start(STOCK_SOURCES=SOURCES, STOCK_BUFFER="SHOP1:2", **settings)
    add_product(outbound.engine, "A", on_hand=10)
    add_product(outbound.engine, "B", on_hand=0)
    add_product(outbound.engine, "C", on_hand=None)
    add_rows(
        outbound.engine,
        m.Stock(sku="A", location_code="SHOP1", on_hand=Decimal(5)),
        m.Stock(sku="B", location_code="SHOP1", on_hand=Decimal(2)),
        m.Stock(sku="B", location_code="DEPOT", on_hand=Decimal(7)),
        m.Stock(sku="C", location_code="ELSEWHERE", on_hand=Decimal(9)),
    )


def stored(magento) -> dict[tuple[str, str], tuple[float, int]]:
    return {(i["sku"], i["source_code"]): (i["quantity"], i["status"]) for i in magento.state("source_items")}


def sent(writes) -> list[tuple[str, str, float]]:
    return sorted(
        (i["sku"], i["source_code"], i["quantity"])
        for e in writes
        if e["template"] == ITEMS
        for i in e["body"]["sourceItems"]
    )


def test_each_location_reaches_its_source_buffered_in_the_same_calls(outbound, magento):
    three_shops(outbound, magento)
    outbound.push("products")
    assert stored(magento) == {
        ("A", "default"): (10, 1),
        ("A", "shop_1"): (3, 1),
        ("A", "warehouse"): (0, 0),
        ("B", "default"): (0, 0),
        ("B", "shop_1"): (0, 0),
        ("B", "warehouse"): (7, 1),
        ("C", "default"): (0, 0),
        ("C", "shop_1"): (0, 0),
        ("C", "warehouse"): (0, 0),
    }, "max(0, on-hand - buffer), a location without a row is 0, in stock exactly above 0"
    assert [e["template"] for e in outbound.writes() if e["template"] == ITEMS] == [ITEMS], "one bulk call"
    assert magento.violations()["violations"] == []

    outbound.writes(clear=True)
    run = outbound.push("stock", full=True)
    # A full read goes over stock rows at the mapped locations: C has none (its zeros went with its product).
    assert run.status == "succeeded" and run.counts == {"created": 0, "updated": 0, "unchanged": 2, "failed": 0}
    assert outbound.writes() == [], "nothing changed: nothing sent"

    set_on_hand(outbound.engine, "A", "SHOP1", 8)
    run = outbound.push("stock")
    assert run.counts["updated"] == 1 and run.counts["failed"] == 0  # recent rows are read again: unchanged
    assert sent(outbound.writes(clear=True)) == [("A", "shop_1", 6)], "only the source item that changed"
    assert stored(magento)[("A", "shop_1")] == (6, 1)

    set_on_hand(outbound.engine, "B", "DEPOT", 7)  # touched, same quantity
    run = outbound.push("stock")
    assert run.counts["unchanged"] >= 1 and run.counts["updated"] == 0
    assert outbound.writes() == []


def test_an_unknown_source_is_reported_once_and_the_others_still_go(outbound, magento):
    magento.seed(sources=[{"source_code": "shop_1"}])
    outbound.start(STOCK_SOURCES="WEB:default,SHOP1:shop_1,DEPOT:nowhere", MAGENTO_BATCH_SIZE=2)
    for n in range(5):
        add_product(outbound.engine, f"P{n}", on_hand=n)
        add_rows(outbound.engine, m.Stock(sku=f"P{n}", location_code="DEPOT", on_hand=Decimal(3)))
    product_run = outbound.push("products")
    assert [(e.key, e.message.split(",")[0]) for e in product_run.errors] == [
        ("DEPOT:nowhere", "Magento has no MSI source 'nowhere'")
    ]
    assert "STOCK_SOURCES" in product_run.errors[0].message
    assert {source for _sku, source in stored(magento)} == {"default", "shop_1"}
    assert stored(magento)[("P3", "default")] == (3, 1)

    run = outbound.push("stock", full=True, force=True)
    assert run.status == "partial" and run.counts["updated"] == 5
    assert [e.key for e in run.errors] == ["DEPOT:nowhere"], "once per run, however many batches"
    assert all(
        i["source_code"] != "nowhere"
        for e in outbound.writes()
        if e["template"] == ITEMS
        for i in e["body"]["sourceItems"]
    )

    magento.seed(sources=[{"source_code": "nowhere"}])
    run = outbound.push("stock", full=True)
    assert run.status == "succeeded" and run.errors == ()
    assert stored(magento)[("P1", "nowhere")] == (3, 1), "the source now exists: its stock goes"


def test_without_stock_sources_the_one_pair_is_used(outbound, magento):
    add_product(outbound.engine, "ONE", on_hand=4)
    add_rows(outbound.engine, m.Stock(sku="ONE", location_code="SHOP1", on_hand=Decimal(9)))
    assert outbound.svc.settings.stock_sources == {"WEB": "default"}
    outbound.push("products")
    assert stored(magento) == {("ONE", "default"): (4, 1)}
    assert outbound.pos.location_code == "WEB", "web orders still lower stock at POS_LOCATION_CODE"


def base_env(**values) -> dict[str, str]:
    return {
        "MAGENTO_BASE_URL": "http://magento.test",
        "WEBHOOK_SECRET": "a-long-enough-webhook-secret",
        "API_TOKEN": "a-long-enough-api-token-value",
        "MAGENTO_AUTH": "bearer",
        "MAGENTO_ACCESS_TOKEN": "token-token-token",
        **values,
    }


def test_stock_settings_are_parsed_and_defaulted():
    settings = Settings.from_env(environ=base_env(STOCK_SOURCES=" WEB:default , SHOP1:shop_1 ", STOCK_BUFFER="SHOP1:2"))
    assert settings.stock_sources == {"WEB": "default", "SHOP1": "shop_1"}
    assert settings.stock_buffer == {"SHOP1": 2}
    plain = Settings.from_env(environ=base_env(POS_LOCATION_CODE="TILL", MAGENTO_SOURCE_CODE="main"))
    assert plain.stock_sources == {"TILL": "main"} and plain.stock_buffer == {}


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"STOCK_SOURCES": "WEB"}, "STOCK_SOURCES"),
        ({"STOCK_SOURCES": "WEB:default,WEB:other"}, "STOCK_SOURCES"),
        ({"STOCK_SOURCES": "WEB:,SHOP1:shop_1"}, "STOCK_SOURCES"),
        ({"STOCK_BUFFER": "WEB:two"}, "STOCK_BUFFER"),
        ({"STOCK_BUFFER": "WEB:-1"}, "STOCK_BUFFER"),
        ({"STOCK_BUFFER": "SHOP1:2"}, "STOCK_BUFFER"),  # SHOP1 is not mapped
    ],
)
def test_bad_stock_settings_refuse_start_up_in_one_line(values, named):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(environ=base_env(**values))
    message = str(caught.value)
    assert named in message and "\n" not in message


# --- the drift check -----------------------------------------------------------------------------------------


def check_via_api(outbound, body: dict):
    client = outbound.app.test_client()
    started = client.post("/api/v1/sync/stock", json=body, headers=AUTH)
    assert started.status_code == 202, started.get_json()
    outbound.work()
    answer = client.get(f"/api/v1/runs/{started.get_json()['run_id']}", headers=AUTH)
    assert answer.status_code == 200
    return answer.get_json()


def plant_drift(outbound, magento):
    """Three shops pushed, then four differences planted on both sides; the expected report."""
    three_shops(outbound, magento)
    outbound.push("products")
    set_on_hand(outbound.engine, "A", "WEB", 4)  # POS moved, not pushed: default 10 → POS 4
    set_on_hand(outbound.engine, "B", "SHOP1", 1)  # below the buffer: still 0 for the web, no difference
    magento.seed(
        source_items=[
            {"sku": "B", "source_code": "warehouse", "quantity": 5},  # Magento changed: POS 7
            {"sku": "C", "source_code": "shop_1", "quantity": 2.5},  # Magento changed: POS 0
        ]
    )
    with Session(outbound.engine) as session:  # A at DEPOT now 1: warehouse 0 in Magento
        session.add(m.Stock(sku="A", location_code="DEPOT", on_hand=Decimal(1)))
        session.commit()
    return [
        {"sku": "A", "source": "default", "pos": 4, "magento": 10},
        {"sku": "A", "source": "warehouse", "pos": 1, "magento": 0},
        {"sku": "B", "source": "warehouse", "pos": 7, "magento": 5},
        {"sku": "C", "source": "shop_1", "pos": 0, "magento": 2.5},
    ]


def test_the_drift_check_finds_every_planted_difference_and_only_those(outbound, magento):
    planted = plant_drift(outbound, magento)
    outbound.writes(clear=True)
    before = magento.state("source_items")
    run = check_via_api(outbound, {"check": True})
    assert run["status"] == "succeeded" and run["params"]["check"] is True
    assert run["differences"] == planted
    assert run["counts"]["different"] == 4 and run["counts"]["unchanged"] == 0
    assert outbound.writes() == [], "a check writes nothing"
    assert magento.state("source_items") == before
    reads = [e for e in magento.requests() if e["template"] == ITEMS]
    assert reads and all(e["method"] == "GET" for e in reads)

    listed = outbound.app.test_client().get("/api/v1/runs?kind=stock", headers=AUTH).get_json()
    assert listed[0]["counts"]["different"] == 4

    one = check_via_api(outbound, {"check": True, "skus": ["B"]})
    assert one["differences"] == [planted[2]] and one["counts"]["different"] == 1

    # A forced push puts Magento right (a change made in Magento leaves the hashes as they were).
    outbound.push("stock", full=True, force=True)
    outbound.push("stock", keys=["C"], force=True)  # C has no stock row at a mapped location: asked by SKU
    clean = check_via_api(outbound, {"check": True})
    assert clean["differences"] == [] and clean["counts"]["different"] == 0 and clean["counts"]["unchanged"] == 3


def test_a_check_is_refused_with_other_kinds_full_or_force(outbound):
    client = outbound.app.test_client()
    for kind, body in (
        ("prices", {"check": True}),
        ("stock", {"check": True, "full": True}),
        ("stock", {"check": True, "force": True}),
    ):
        answer = client.post(f"/api/v1/sync/{kind}", json=body, headers=AUTH)
        assert answer.status_code == 422, (kind, body)
    assert client.get("/api/v1/runs", headers=AUTH).get_json() == [], "nothing stored"


def test_the_check_from_the_command_line_exits_0_1_or_2(outbound, magento):
    planted = plant_drift(outbound, magento)
    runner = outbound.app.test_cli_runner()
    result = runner.invoke(args=["sync", "stock", "--check"])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[1:] == [f"{d['sku']}\t{d['source']}\tpos {d['pos']}\tmagento {d['magento']}" for d in planted] + [
        "4 difference(s) between Magento and the POS"
    ]
    assert "comparing" in result.stderr, "a progress bar"

    outbound.push("stock", full=True, force=True)
    outbound.push("stock", keys=["C"], force=True)
    result = runner.invoke(args=["sync", "stock", "--check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "0 difference(s) between Magento and the POS"

    magento.add_fault(path_prefix="/V1/inventory/sources", status_codes=[400], fail_next=5)
    result = runner.invoke(args=["sync", "stock", "--check"])
    assert result.exit_code == 2, result.output
    assert runner.invoke(args=["sync", "prices", "--check"]).exit_code == 2  # click's usage error
