"""The `syncapi` command: `make run`'s settings for a second terminal, and the command itself from elsewhere."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from syncapi.cli import load_make_run_settings

ROOT = Path(__file__).resolve().parent.parent


def test_make_run_settings_fill_in_what_is_not_set(tmp_path):
    settings = tmp_path / "make-run.env"
    settings.write_text(
        f"# written by make run\nMAKE_RUN_PID={os.getpid()}\nSYNCAPI_MAKE_RUN=1\nHOST=127.0.0.1\nPORT=18010\n"
        "REDIS_URL=redis://x/9\n\n"
    )
    environ = {"PORT": "9000"}
    assert load_make_run_settings(environ, settings) == ["SYNCAPI_MAKE_RUN", "HOST", "REDIS_URL"]
    assert environ == {"PORT": "9000", "SYNCAPI_MAKE_RUN": "1", "HOST": "127.0.0.1", "REDIS_URL": "redis://x/9"}
    assert load_make_run_settings(environ, tmp_path / "absent.env") == []


def test_settings_left_by_a_make_run_that_is_gone_are_ignored(tmp_path):
    gone = subprocess.Popen(["true"])  # its process id no longer runs once it is waited for
    gone.wait()
    for stale in (f"MAKE_RUN_PID={gone.pid}\n", "", "MAKE_RUN_PID=not-a-pid\n"):
        settings = tmp_path / "make-run.env"
        settings.write_text(f"{stale}SYNCAPI_MAKE_RUN=1\nSYNCAPI_ENV=development\nHOST=127.0.0.1\n")
        environ: dict[str, str] = {}
        assert load_make_run_settings(environ, settings) == [], stale
        assert environ == {}


def test_bin_syncapi_runs_the_command_line_from_another_folder(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "SYNCAPI_DOTENV": str(tmp_path / "none.env"),
        "MAGENTO_BASE_URL": "https://shop.example.com",
        "MAGENTO_AUTH": "bearer",
        "MAGENTO_ACCESS_TOKEN": "token",
        "WEBHOOK_SECRET": "secret-0123456789",
        "API_TOKEN": "api-token-0123456789",
        "POS_DATABASE_URL": f"sqlite:///{tmp_path / 'pos.db'}",
    }
    result = subprocess.run(
        ["bash", str(ROOT / "bin" / "syncapi"), "webhook", "send-test", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Usage: syncapi webhook send-test [OPTIONS] {order|invoice|creditmemo|customer}")
