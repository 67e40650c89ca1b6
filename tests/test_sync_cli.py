"""`flask --app app sync <kind>`: one run in the foreground, progress lines, a closing summary, exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from syncapi.commands import sync as cli
from syncapi.state import get_run, list_runs

ROOT = Path(__file__).resolve().parents[1]


def invoke(harness, *args: str):
    return harness.app.test_cli_runner().invoke(args=["sync", *args])


def test_a_push_from_the_command_line_prints_its_summary_and_exits_0(outbound, magento):
    outbound.seed_demo()
    result = invoke(outbound, "products")
    assert result.exit_code == 0, result.output + result.stderr
    run = list_runs(outbound.svc.state_engine, kind="products")[0]
    assert run.trigger == "cli" and run.status == "succeeded"
    assert result.stdout.splitlines()[0] == f"products run {run.run_id} started (what changed since the last run)"
    assert result.stdout.splitlines()[-1] == (
        f"products run {run.run_id} succeeded: 48 created, 0 updated, 2 unchanged, 0 failed"
    )
    assert len(magento.state("products")) == 51
    result = invoke(outbound, "customers", "--id", "1", "--id", "2")
    assert result.exit_code == 0
    assert "succeeded: 2 created, 0 updated, 0 unchanged, 0 failed" in result.output


def test_progress_lines_while_a_long_run_works(outbound, magento, monkeypatch):
    monkeypatch.setattr(cli, "PROGRESS_INTERVAL_S", 0.2)
    magento.configure(latency_ms=20)
    outbound.start(MAGENTO_USE_BULK="false", MAGENTO_CONCURRENCY=1)
    outbound.seed_demo()
    result = invoke(outbound, "products")
    assert result.exit_code == 0
    progress = [line for line in result.stdout.splitlines() if line.endswith("so far")]
    assert progress, result.output
    assert all(line.startswith("products run ") for line in progress)


def test_a_partial_run_exits_3_and_lists_its_errors(outbound, magento):
    from tests.fixtures_pos import add_product

    add_product(outbound.engine, "BOOT-1", attribute_set="Footwear")
    add_product(outbound.engine, "SOCK-1")
    result = invoke(outbound, "products", "--sku", "BOOT-1", "--sku", "SOCK-1")
    assert result.exit_code == cli.EXIT_PARTIAL
    assert result.stdout.splitlines()[0].endswith("started (only BOOT-1, SOCK-1)")
    assert "partial: 1 created, 0 updated, 0 unchanged, 1 failed" in result.output
    assert "BOOT-1: attribute set 'Footwear' does not exist in Magento" in result.stderr
    # The contract's `--sku SKU ...`: several SKUs after one --sku name the same records.
    again = invoke(outbound, "products", "--sku", "BOOT-1", "SOCK-1", "--force")
    assert again.stdout.splitlines()[0].endswith("started (only BOOT-1, SOCK-1)"), again.output


def test_a_failed_run_exits_1_and_says_why(outbound, magento):
    outbound.seed_demo()
    magento.configure(denied_resources=["Magento_Catalog::products"])
    result = invoke(outbound, "products", "--full")
    assert result.exit_code == cli.EXIT_FAILED, result.output
    run = list_runs(outbound.svc.state_engine, kind="products")[0]
    assert get_run(outbound.svc.state_engine, run.run_id).status == "failed"
    assert f"products run {run.run_id} failed" in result.stdout
    assert "the run stopped: MagentoAuthError" in result.stderr


def test_bad_arguments_are_refused_before_any_run(outbound):
    for args, message in (
        (("categories", "--sku", "A"), "--sku is only for products, stock, prices"),
        (("products", "--id", "3"), "--id is only for categories, customers"),
        (("products", "--full", "--sku", "A"), "either --full or --sku/--id"),
        (("sales", "--force"), "--force is not accepted for sales"),
        (("orders",), "'orders' is not one of"),
        (("products", "A"), "name records with --sku or --id"),
        (("customers", "--id", "3", "x"), "--id takes POS ids"),
    ):
        result = invoke(outbound, *args)
        assert result.exit_code == 2, args
        assert message in result.stderr, (args, result.stderr)
    assert list_runs(outbound.svc.state_engine) == []


def test_sync_sales_runs_the_reconcile(outbound, magento):
    result = invoke(outbound, "sales")
    assert result.exit_code == 0, result.output + result.stderr
    run = list_runs(outbound.svc.state_engine, kind="sales")[0]
    assert run.status == "succeeded" and run.trigger == "cli"


def test_the_command_from_a_shell(outbound, magento, tmp_path):
    outbound.seed_demo()
    env = {
        **os.environ,
        **{key: str(value) for key, value in outbound.settings().items()},
        "SYNCAPI_DOTENV": str(tmp_path / "none.env"),
    }
    command = [sys.executable, "-m", "flask", "--app", "app", "sync", "categories"]
    options = {"cwd": ROOT, "env": env, "capture_output": True, "text": True, "timeout": 60, "check": False}
    done = subprocess.run(command, **options)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1].endswith("succeeded: 12 created, 0 updated, 0 unchanged, 0 failed")
    magento.configure(denied_resources=["Magento_Catalog::categories"])
    done = subprocess.run(
        [*command, "--full"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert "failed" in done.stdout.strip().splitlines()[-1]
