"""The service's own state store, on SQLite and PostgreSQL: migrations, links, runs, watermarks, hashes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text, update

from app import create_app
from syncapi import db
from syncapi.state import (
    MAX_STORED_ERRORS,
    RunError,
    RunNotFoundError,
    add_counts,
    add_error,
    add_errors,
    announce,
    announced_count,
    clear_hashes,
    content_hash,
    create_run,
    current_revision,
    delete_hashes,
    delete_run,
    drain_announced,
    finish_run,
    get_hashes,
    get_link,
    get_run,
    get_watermark,
    head_revision,
    last_completed,
    links_with_status,
    list_runs,
    prune_runs,
    put_hashes,
    record_link,
    requeue_run,
    set_run_job,
    set_watermark,
    settle_announced,
    start_run,
    upgrade,
)
from syncapi.state._sql import upsert_rows
from syncapi.state.migrate import VERSION_TABLE
from syncapi.state.models import HashRow, RunRow, StateBase
from tests.conftest import base_settings

ROOT = Path(__file__).resolve().parent.parent

# --- migrations -----------------------------------------------------------------------------------------


def test_upgrade_creates_the_tables_once_and_leaves_other_tables_alone(database_url):
    engine = db.make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE products (sku VARCHAR(64) PRIMARY KEY)"))
        connection.execute(text("INSERT INTO products (sku) VALUES ('A-1')"))
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision() == "0005"
    assert upgrade(engine) == head_revision()  # idempotent
    names = set(inspect(engine).get_table_names())
    tables = {"sync_links", "sync_runs", "sync_run_errors", "sync_run_differences", "sync_watermarks", "sync_hashes"}
    assert {*tables, VERSION_TABLE} <= names
    with engine.connect() as connection:
        assert connection.execute(text("SELECT sku FROM products")).scalars().all() == ["A-1"]
    engine.dispose()


def test_migrations_match_the_models(state_engine):
    with state_engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table": VERSION_TABLE,
                "compare_type": True,
                "include_name": lambda name, type_, _: type_ != "table" or name.startswith("sync_"),
            },
        )
        assert compare_metadata(context, StateBase.metadata) == []


def test_concurrent_upgrades_do_not_collide(database_url):
    engines = [db.make_engine(database_url) for _ in range(4)]
    failures = []

    def run(engine):
        try:
            upgrade(engine)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert current_revision(engines[0]) == head_revision()
    for engine in engines:
        engine.dispose()


# --- links ----------------------------------------------------------------------------------------------


def test_record_link_upserts_and_keeps_what_it_should(state_engine):
    first = record_link(state_engine, "order", 100, "failed", error="Magento answered 503")
    assert (first.magento_id, first.pos_id, first.status, first.attempts) == ("100", None, "failed", 1)
    assert first.error == "Magento answered 503" and first.synced_at is None
    assert first.updated_at.tzinfo is not None

    synced = record_link(state_engine, "order", "100", "synced", pos_id=7)
    assert (synced.pos_id, synced.status, synced.error, synced.attempts) == ("7", "synced", None, 2)
    assert synced.synced_at is not None and synced.synced_at >= first.updated_at

    # A later failure keeps the POS id and the time of the last success.
    again = record_link(state_engine, "order", "100", "failed", error="timeout")
    assert (again.pos_id, again.status, again.error, again.attempts) == ("7", "failed", "timeout", 3)
    assert again.synced_at == synced.synced_at
    assert get_link(state_engine, "order", 100) == again
    # The same Magento id of another entity is another link.
    assert get_link(state_engine, "invoice", 100) is None
    record_link(state_engine, "invoice", 100, "pending")
    assert get_link(state_engine, "invoice", "100").status == "pending"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("shipment", "1", "synced"), "entity must be one of"),
        (("order", "1", "done"), "status must be one of"),
        (("order", "", "synced"), "magento_id must not be empty"),
        (("order", "x" * 65, "synced"), "at most 64"),
        (("order", None, "synced"), "magento_id must be a string"),
    ],
)
def test_record_link_refuses_bad_input_and_writes_nothing(state_engine, args, message):
    with pytest.raises(ValueError, match=message):
        record_link(state_engine, *args)
    with state_engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM sync_links")).scalar() == 0


def test_links_with_status_lists_oldest_first(state_engine):
    for magento_id in ("3", "1", "2"):
        record_link(state_engine, "customer", magento_id, "failed", error="no email")
    record_link(state_engine, "customer", "4", "synced", pos_id="c4")
    record_link(state_engine, "category", "5", "failed")
    assert [link.magento_id for link in links_with_status(state_engine, "customer", "failed")] == ["3", "1", "2"]
    assert [link.magento_id for link in links_with_status(state_engine, "customer", "failed", limit=2)] == ["3", "1"]
    assert [link.pos_id for link in links_with_status(state_engine, "customer", "synced")] == ["c4"]


def test_upsert_portable_path_matches_on_conflict(state_engine):
    """The update-then-insert path (MySQL, SQL Server) gives the same rows as INSERT ... ON CONFLICT."""
    table = HashRow.__table__
    now = datetime.now(UTC)
    rows = [{"kind": "image", "key": f"S/{n}", "hash": "a", "magento_id": None, "updated_at": now} for n in range(3)]
    on_existing = {"hash": "set", "magento_id": "coalesce", "updated_at": "set"}
    with state_engine.begin() as connection:
        upsert_rows(connection, table, rows, ("kind", "key"), on_existing, portable=True)
    changed = [{**row, "hash": "b", "magento_id": "m1"} for row in rows[:2]]
    with state_engine.begin() as connection:
        upsert_rows(connection, table, changed, ("kind", "key"), on_existing, portable=True)
    cleared = [{**rows[0], "hash": "c", "magento_id": None}]
    with state_engine.begin() as connection:
        upsert_rows(connection, table, cleared, ("kind", "key"), on_existing, portable=True)
    assert get_hashes(state_engine, "image", ["S/0", "S/1", "S/2"]) == {
        "S/0": ("c", "m1"),
        "S/1": ("b", "m1"),
        "S/2": ("a", None),
    }


# --- runs -----------------------------------------------------------------------------------------------


def test_run_lifecycle(state_engine):
    run = create_run(state_engine, "products", "manual", {"full": True, "keys": None, "force": False})
    assert (run.status, run.kind, run.trigger, run.attempts) == ("queued", "products", "manual", 0)
    assert run.params == {"full": True, "keys": None, "force": False}
    assert run.created_at.tzinfo is not None and run.started_at is None
    assert set_run_job(state_engine, run.run_id, f"sync-products-{run.run_id}").job_id == f"sync-products-{run.run_id}"

    running = start_run(state_engine, run.run_id)
    assert (running.status, running.attempts) == ("running", 1)
    add_counts(state_engine, run.run_id, created=3, updated=2)
    add_counts(state_engine, run.run_id, unchanged=10)
    done = finish_run(state_engine, run.run_id)
    assert done.status == "succeeded"
    assert done.counts == {"created": 3, "updated": 2, "unchanged": 10, "failed": 0}
    assert done.finished_at >= done.started_at >= done.created_at
    # Finishing twice changes nothing.
    assert finish_run(state_engine, run.run_id, failed_reason="late") == done


@pytest.mark.parametrize(
    ("counts", "errors", "reason", "status"),
    [
        ({}, [], None, "succeeded"),
        ({"unchanged": 5}, [], None, "succeeded"),
        ({"created": 1, "failed": 1}, [("A", "bad")], None, "partial"),
        ({"updated": 1}, [("B", "warning")], None, "partial"),
        ({"failed": 2}, [("A", "bad"), ("B", "bad")], None, "failed"),
        ({"created": 5}, [], "Magento unreachable", "failed"),
    ],
)
def test_finish_run_status(state_engine, counts, errors, reason, status):
    run = create_run(state_engine, "stock", "schedule")
    start_run(state_engine, run.run_id)
    add_counts(state_engine, run.run_id, **counts)
    for key, message in errors:
        add_error(state_engine, run.run_id, key, message)
    done = finish_run(state_engine, run.run_id, failed_reason=reason)
    assert done.status == status
    if reason:
        assert done.reason == reason
    assert [(e.key, e.message) for e in get_run(state_engine, run.run_id).errors] == errors


def test_errors_are_capped_but_all_counted(state_engine):
    run = create_run(state_engine, "products", "manual")
    start_run(state_engine, run.run_id)
    add_errors(state_engine, run.run_id, [(f"SKU-{n}", f"bad {n}") for n in range(MAX_STORED_ERRORS - 1)], failed=3)
    add_errors(state_engine, run.run_id, [("SKU-x", "x" * 10_000), ("SKU-y", "dropped"), (None, "dropped too")])
    stored = get_run(state_engine, run.run_id)
    assert stored.error_count == MAX_STORED_ERRORS + 2
    assert stored.failed == 3
    assert len(stored.errors) == MAX_STORED_ERRORS
    assert stored.errors[0] == RunError("SKU-0", "bad 0")
    assert stored.errors[-1].key == "SKU-x" and len(stored.errors[-1].message) == 2000


def test_add_counts_is_atomic_across_threads(state_engine):
    run = create_run(state_engine, "prices", "manual")
    start_run(state_engine, run.run_id)
    threads_n, calls_n = 8, 25
    failures = []

    def work():
        try:
            for _ in range(calls_n):
                add_counts(state_engine, run.run_id, created=1, unchanged=2)
                add_errors(state_engine, run.run_id, [("k", "m")], failed=1)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    total = threads_n * calls_n
    stored = get_run(state_engine, run.run_id)
    assert stored.counts == {"created": total, "updated": 0, "unchanged": 2 * total, "failed": total}
    assert stored.error_count == total == len(stored.errors)


def test_a_retried_run_starts_its_counts_over(state_engine):
    run = create_run(state_engine, "customers", "schedule")
    start_run(state_engine, run.run_id)
    add_counts(state_engine, run.run_id, created=4)
    add_error(state_engine, run.run_id, "c1", "timeout")
    assert requeue_run(state_engine, run.run_id, "attempt 1 failed").status == "queued"
    again = start_run(state_engine, run.run_id)
    assert (again.status, again.attempts, again.error_count) == ("running", 2, 0)
    assert again.counts == {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    assert again.started_at == start_run(state_engine, run.run_id, reset=False).started_at
    assert get_run(state_engine, run.run_id).errors == ()


def test_run_input_errors_change_nothing(state_engine):
    with pytest.raises(ValueError, match="kind must be one of"):
        create_run(state_engine, "orders", "manual")
    with pytest.raises(ValueError, match="trigger must be one of"):
        create_run(state_engine, "products", "cron")
    with pytest.raises(TypeError):
        create_run(state_engine, "products", "manual", {"when": object()})
    assert list_runs(state_engine) == []
    run = create_run(state_engine, "products", "manual")
    with pytest.raises(ValueError, match="created must be a whole number"):
        add_counts(state_engine, run.run_id, created=-1)
    with pytest.raises(RunNotFoundError):
        add_counts(state_engine, run.run_id + 1, created=1)
    with pytest.raises(RunNotFoundError):
        add_error(state_engine, run.run_id + 1, "k", "m")
    with pytest.raises(RunNotFoundError):
        start_run(state_engine, run.run_id + 1)
    with pytest.raises(RunNotFoundError):
        finish_run(state_engine, run.run_id + 1)
    assert get_run(state_engine, run.run_id + 1) is None
    assert get_run(state_engine, run.run_id).counts == {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}


def test_list_runs_newest_first_by_kind(state_engine):
    ids = [create_run(state_engine, kind, "schedule").run_id for kind in ("stock", "prices", "stock", "sales")]
    assert [r.run_id for r in list_runs(state_engine)] == ids[::-1]
    assert [r.run_id for r in list_runs(state_engine, kind="stock")] == [ids[2], ids[0]]
    assert [r.run_id for r in list_runs(state_engine, limit=2)] == [ids[3], ids[2]]
    assert [r.run_id for r in list_runs(state_engine, status="queued", kind="sales")] == [ids[3]]
    with pytest.raises(ValueError, match="limit must be between"):
        list_runs(state_engine, limit=0)
    with pytest.raises(ValueError, match="kind must be one of"):
        list_runs(state_engine, kind="nope")


def test_prune_runs_deletes_old_finished_runs_only(state_engine):
    old_done, old_running, recent = (create_run(state_engine, "stock", "schedule") for _ in range(3))
    add_error(state_engine, old_done.run_id, "S", "m")
    finish_run(state_engine, old_done.run_id)
    start_run(state_engine, old_running.run_id)
    finish_run(state_engine, recent.run_id)
    long_ago = datetime.now(UTC) - timedelta(days=40)
    with state_engine.begin() as connection:
        connection.execute(
            update(RunRow).where(RunRow.id.in_([old_done.run_id, old_running.run_id])).values(created_at=long_ago)
        )
    assert prune_runs(state_engine, 30) == 1
    assert get_run(state_engine, old_done.run_id) is None
    assert get_run(state_engine, old_running.run_id).status == "running"
    assert get_run(state_engine, recent.run_id).status == "succeeded"
    with state_engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM sync_run_errors")).scalar() == 0
    assert prune_runs(state_engine, 30) == 0


def test_delete_run_and_last_completed(state_engine):
    assert last_completed(state_engine) == {}
    failed = create_run(state_engine, "stock", "schedule")
    finish_run(state_engine, failed.run_id, failed_reason="boom")
    assert last_completed(state_engine) == {}
    partial = create_run(state_engine, "stock", "schedule")
    add_counts(state_engine, partial.run_id, created=1, failed=1)
    finished = finish_run(state_engine, partial.run_id)
    assert finished.status == "partial"
    assert last_completed(state_engine) == {"stock": finished.finished_at}
    assert delete_run(state_engine, failed.run_id) is True
    assert delete_run(state_engine, failed.run_id) is False


# --- watermarks -----------------------------------------------------------------------------------------


def test_watermarks(state_engine):
    assert get_watermark(state_engine, "sales") is None
    set_watermark(state_engine, "sales", {"updated_at": "2025-01-31T10:00:00+00:00", "key": "000000123"})
    set_watermark(state_engine, "customers", {"updated_at": "2025-01-01T00:00:00+00:00"})
    set_watermark(state_engine, "sales", {"updated_at": "2025-02-01T00:00:00+00:00", "key": "000000200"})
    assert get_watermark(state_engine, "sales") == {"updated_at": "2025-02-01T00:00:00+00:00", "key": "000000200"}
    assert get_watermark(state_engine, "customers") == {"updated_at": "2025-01-01T00:00:00+00:00"}
    with pytest.raises(ValueError, match="JSON object"):
        set_watermark(state_engine, "sales", ["not", "an", "object"])
    with pytest.raises(TypeError):
        set_watermark(state_engine, "sales", {"at": datetime.now(UTC)})
    assert get_watermark(state_engine, "sales")["key"] == "000000200"


# --- hashes ---------------------------------------------------------------------------------------------


def test_content_hash_is_stable():
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})
    assert len(content_hash("x")) == 64


def test_hashes_round_trip(state_engine):
    assert get_hashes(state_engine, "product", ["A"]) == {}
    assert put_hashes(state_engine, "product", {"A": ("h1", None), "B": ("h2", "55")}) == 2
    put_hashes(state_engine, "image", {"A/1": ("i1", "901")})
    put_hashes(state_engine, "product", {"A": ("h3", 12)})
    assert get_hashes(state_engine, "product", ["A", "B", "C", "A"]) == {"A": ("h3", "12"), "B": ("h2", "55")}
    assert get_hashes(state_engine, "image", ["A/1", "A"]) == {"A/1": ("i1", "901")}
    assert delete_hashes(state_engine, "product", ["A", "nope"]) == 1
    assert get_hashes(state_engine, "product", ["A", "B"]) == {"B": ("h2", "55")}
    assert clear_hashes(state_engine, "product") == 1
    assert get_hashes(state_engine, "product", ["B"]) == {}
    assert get_hashes(state_engine, "image", ["A/1"]) == {"A/1": ("i1", "901")}


def test_put_hashes_with_a_bad_entry_writes_nothing(state_engine):
    with pytest.raises(ValueError, match="pair"):
        put_hashes(state_engine, "product", {"A": ("h1", None), "B": "h2"})
    with pytest.raises(ValueError, match="hash of 'C' must not be empty"):
        put_hashes(state_engine, "product", {"A": ("h1", None), "C": ("", None)})
    with pytest.raises(ValueError, match="key must be at most 255"):
        put_hashes(state_engine, "product", {"A": ("h1", None), "x" * 256: ("h", None)})
    assert get_hashes(state_engine, "product", ["A", "B", "C"]) == {}


@pytest.mark.slow
def test_hundred_thousand_hashes_round_trip(state_engine):
    keys = [f"SKU-{n:06d}" for n in range(100_000)]
    started = time.perf_counter()
    put_hashes(state_engine, "product", {key: (content_hash(key), None) for key in keys})
    written = time.perf_counter()
    found = get_hashes(state_engine, "product", keys)
    read = time.perf_counter()
    changed = {key: (content_hash(key + "!"), str(n)) for n, key in enumerate(keys) if n % 10 == 0}
    put_hashes(state_engine, "product", changed)
    rewritten = time.perf_counter()
    print(
        f"\n100,000 hashes on {state_engine.dialect.name}: write {written - started:.2f} s, "
        f"read {read - written:.2f} s, rewrite 10% {rewritten - read:.2f} s"
    )
    assert len(found) == 100_000
    assert found["SKU-012345"] == (content_hash("SKU-012345"), None)
    again = get_hashes(state_engine, "product", keys)
    assert sum(1 for key in keys if again[key] != found[key]) == 10_000
    assert again["SKU-000010"] == (content_hash("SKU-000010!"), "10")
    with state_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(HashRow)).scalar() == 100_000
    # Generous: measured at about 2 s for each step; a slow CI machine must not fail on speed alone.
    assert rewritten - started < 60


# --- announced changes (Redis) --------------------------------------------------------------------------


def test_announce_coalesces_and_drain_pops(redis):
    assert announce(redis, "products", ["A", "B", "A"]) == 2
    assert announce(redis, "products", ["B", "C", 7]) == 2
    assert announced_count(redis, "products") == 4
    taken = drain_announced(redis, "products", 3)
    assert len(taken) == 3 and set(taken) <= {"A", "B", "C", "7"}
    assert len(drain_announced(redis, "products")) == 1
    assert drain_announced(redis, "products", 10) == []
    with pytest.raises(ValueError, match="key must not be empty"):
        announce(redis, "stock", ["S1", ""])
    assert announced_count(redis, "stock") == 0


def test_drain_for_a_run_survives_a_failed_attempt(redis):
    announce(redis, "stock", [f"S{n}" for n in range(2500)])
    first = drain_announced(redis, "stock", run_id=41)
    assert len(first) == 2500 and announced_count(redis, "stock") == 0
    # The attempt dies; more is announced; the retry gets both.
    announce(redis, "stock", ["S1", "NEW"])
    retry = drain_announced(redis, "stock", run_id=41)
    assert set(retry) == set(first) | {"NEW"}
    # The run failed for good: its keys go back for the next run.
    settle_announced(redis, "stock", 41, done=False)
    assert announced_count(redis, "stock") == 2501
    assert set(drain_announced(redis, "stock", run_id=42)) == set(retry)
    settle_announced(redis, "stock", 42, done=True)
    assert announced_count(redis, "stock") == 0
    assert drain_announced(redis, "stock", run_id=42) == []
    assert redis.keys("syncapi:announced:*") == []


# --- command line ---------------------------------------------------------------------------------------


def test_state_init_command_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["state", "init"])
    assert first.exit_code == 0, first.output
    assert f"upgraded from revision none to {head_revision()}" in first.output
    second = runner.invoke(args=["state", "init"])
    assert second.exit_code == 0, second.output
    assert f"already at revision {head_revision()}" in second.output
    assert current_revision(app.extensions["services"].state_engine) == head_revision()


def test_state_init_names_an_unreachable_database(redis, tmp_path):
    application = create_app(base_settings(tmp_path, STATE_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/x"))
    result = application.test_cli_runner().invoke(args=["state", "init"])
    assert result.exit_code == 1
    assert "state tables at postgresql+psycopg://nobody@127.0.0.1:1/x" in result.output


def test_state_prune_command(app_with_state):
    engine = app_with_state.extensions["services"].state_engine
    run = create_run(engine, "stock", "schedule")
    finish_run(engine, run.run_id)
    result = app_with_state.test_cli_runner().invoke(args=["state", "prune", "--older-than-days", "0"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 finished run(s)" in result.output
    assert get_run(engine, run.run_id) is None


def test_flask_state_init_from_the_shell(redis, tmp_path):
    env = {**os.environ, **{k: str(v) for k, v in base_settings(tmp_path).items()}}
    env["SYNCAPI_DOTENV"] = str(tmp_path / "none.env")
    command = [sys.executable, "-m", "flask", "--app", "app", "state", "init"]
    first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert f"upgraded from revision none to {head_revision()}" in first.stdout
    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert f"already at revision {head_revision()}" in second.stdout
    engine = db.make_engine(f"sqlite:///{tmp_path / 'pos.db'}")
    assert current_revision(engine) == head_revision()
    engine.dispose()
