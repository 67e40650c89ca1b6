"""The `syncapi` command (console script, and `bin/syncapi` in a checkout): the service's command line
(`flask --app app <command>`) from any terminal and any folder.

It runs in the checkout the package lives in and, while `make run` is up there, with that run's settings
(`instance/make-run.env`, written by `scripts/run-dev.sh` and removed when it stops); a setting already in the
environment wins. See docs/getting-started.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

#: The checkout: where `app.py` and `instance/` are.
ROOT = Path(__file__).resolve().parent.parent
MAKE_RUN_SETTINGS = ROOT / "instance" / "make-run.env"
#: The line of the settings file naming the process of the `make run` that wrote it (not a setting).
MAKE_RUN_PID = "MAKE_RUN_PID"


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # a process of another user has that id: not ours, but alive
        return True
    return True


def load_make_run_settings(environ: MutableMapping[str, str], path: Path = MAKE_RUN_SETTINGS) -> list[str]:
    """Put the settings of a running `make run` into `environ`, keeping any already set; the names added.

    A file left behind by a `make run` that no longer runs (killed, or the machine restarted) is ignored, so it
    never turns a server checkout's commands to development settings."""
    if not path.is_file():
        return []
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        name = name.strip()
        if sep and name and not name.startswith("#"):
            pairs.append((name, value))
    if not any(name == MAKE_RUN_PID and _alive(value) for name, value in pairs):
        return []
    added = []
    for name, value in pairs:
        if name == MAKE_RUN_PID:
            continue
        if name not in environ:
            environ[name] = value
            added.append(name)
    return added


def main(argv: list[str] | None = None) -> None:
    """Run `flask --app app` with the arguments given, in the checkout, with `make run`'s settings."""
    arguments = sys.argv[1:] if argv is None else argv
    if not load_make_run_settings(os.environ) and not os.environ.get("MAGENTO_BASE_URL"):
        print(
            "syncapi: `make run` is not running here and MAGENTO_BASE_URL is not set: commands that reach Magento "
            "need the settings of docs/getting-started.md",
            file=sys.stderr,
        )
    os.chdir(ROOT)
    from flask.cli import cli

    cli.main(args=["--app", "app", *arguments], prog_name="syncapi")


if __name__ == "__main__":
    main()
