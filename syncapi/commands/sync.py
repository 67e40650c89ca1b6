"""`flask --app app sync <kind> [--full] [--sku SKU ...] [--id ID ...] [--force]`: one push (or the sales
reconcile) now, in the foreground, with progress lines and a closing summary.

The run is stored like any other (trigger `cli`, visible at `GET /api/v1/runs/<id>`) and its job function is
called in this process. Exit status: 0 succeeded, 3 partial (some records failed), 1 failed, 130 interrupted.
The service's JSON log lines are held back to warnings unless `--verbose`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from jobs.dispatch import JOBS
from syncapi import services
from syncapi.state import (
    RUN_FAILED,
    RUN_KINDS,
    RUN_PARTIAL,
    RUN_SUCCEEDED,
    SKU_KINDS,
    TRIGGER_CLI,
    create_run,
    finish_run,
    get_run,
)
from syncapi.state.run_history import KIND_SALES, Run
from syncapi.textcheck import sku_problem

#: Seconds between two progress lines (a line is printed only when the counts moved).
PROGRESS_INTERVAL_S = 2.0
#: Keys named in the first line of a run limited to keys.
SCOPE_KEYS = 5
#: Errors listed in the summary; the rest are at `GET /api/v1/runs/<id>`.
SUMMARY_ERRORS = 20
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130
ID_KINDS = ("categories", "customers")


def _counts(run: Run) -> str:
    return ", ".join(f"{value} {name}" for name, value in run.counts.items())


@contextmanager
def _quiet_logs(verbose: bool) -> Iterator[None]:
    """Hold the service's log lines back to warnings while the command prints its own lines."""
    root = logging.getLogger()
    level = root.level
    if not verbose:
        root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)


def _progress(engine, run_id: int, kind: str, stop: threading.Event) -> None:
    last = None
    while not stop.wait(PROGRESS_INTERVAL_S):
        try:
            run = get_run(engine, run_id, with_errors=False)
        except Exception as exc:  # progress is best effort; the summary says how it ended
            logging.getLogger(__name__).debug("progress not read", extra={"error": str(exc)})
            run = None
        if run is not None and run.counts != last:
            last = run.counts
            click.echo(f"{kind} run {run_id}: {_counts(run)} so far")


@click.command("sync")
@click.argument("kind", type=click.Choice(RUN_KINDS))
@click.option("--full", is_flag=True, help="Consider every record, not only what changed since the last run.")
@click.option("--sku", "skus", multiple=True, help="Only this SKU (products, stock, prices); repeat for more.")
@click.option("--id", "ids", multiple=True, type=int, help="Only this POS id (categories, customers); repeatable.")
@click.option("--force", is_flag=True, help="Send records even when unchanged since Magento last accepted them.")
@click.option("--verbose", is_flag=True, help="Show the service's log lines too.")
@click.argument("more_keys", nargs=-1, metavar="[KEY]...")
@with_appcontext
def sync_command(
    kind: str,
    full: bool,
    skus: tuple[str, ...],
    ids: tuple[int, ...],
    force: bool,
    verbose: bool,
    more_keys: tuple[str, ...],
):
    """Run one push (products, stock, prices, categories, customers) or the sales reconcile now.

    Keys after the options are more --sku values (more --id values when only --id is given), so
    `--sku A B C` works like `--sku A --sku B --sku C`.
    """
    if more_keys:
        if not (skus or ids):
            raise click.UsageError(f"unexpected {' '.join(more_keys)!r}: name records with --sku or --id")
        if skus:
            skus = (*skus, *more_keys)
        else:
            try:
                ids = (*ids, *(int(key) for key in more_keys))
            except ValueError:
                raise click.UsageError(f"--id takes POS ids (whole numbers), got {' '.join(more_keys)!r}") from None
    refused = [problem for problem in map(sku_problem, skus) if problem]
    if refused:
        raise click.UsageError(f"--sku: {'; '.join(refused)}")
    if skus and kind not in SKU_KINDS:
        raise click.UsageError(f"--sku is only for {', '.join(SKU_KINDS)}; use --id for {', '.join(ID_KINDS)}")
    if ids and kind not in ID_KINDS:
        raise click.UsageError(f"--id is only for {', '.join(ID_KINDS)}")
    keys = [str(key) for key in (*skus, *ids)] or None
    if keys and full:
        raise click.UsageError("give either --full or --sku/--id, not both")
    if kind == KIND_SALES and force:
        raise click.UsageError("--force is not accepted for sales")
    svc = services.of_app(current_app)
    engine = svc.state_engine
    job = JOBS[kind]
    params = {"full": full} if kind == KIND_SALES else {"full": full, "keys": keys, "force": force}
    try:
        run = create_run(engine, kind, TRIGGER_CLI, params)
    except Exception as exc:
        raise click.ClickException(
            f"could not store the run ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "are the service's tables there? run `flask --app app pos init`"
        ) from None
    if keys:
        shown = ", ".join(keys[:SCOPE_KEYS]) + (f" and {len(keys) - SCOPE_KEYS} more" if len(keys) > SCOPE_KEYS else "")
        scope = f"only {shown}"
    else:
        scope = "everything" if full else "what changed since the last run"
    click.echo(f"{kind} run {run.run_id} started ({scope})")
    stop = threading.Event()
    progress = threading.Thread(target=_progress, args=(engine, run.run_id, kind, stop), daemon=True)
    progress.start()
    problem = None
    try:
        with _quiet_logs(verbose):
            if kind == KIND_SALES:
                job(run.run_id, full=full)
            else:
                job(run.run_id, full=full, keys=keys, force=force)
    except KeyboardInterrupt:
        stop.set()
        current = get_run(engine, run.run_id, with_errors=False)
        if current is not None and not current.finished:
            finish_run(engine, run.run_id, failed_reason="interrupted from the command line")
        click.echo(f"{kind} run {run.run_id} interrupted", err=True)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except Exception as exc:  # the run is marked failed by the job's own bookkeeping; say why and exit 1
        problem = f"{type(exc).__name__}: {exc}"
    finally:
        stop.set()
        progress.join(timeout=PROGRESS_INTERVAL_S + 1)
    raise SystemExit(_summary(engine, run.run_id, kind, problem))


def _summary(engine, run_id: int, kind: str, problem: str | None) -> int:
    run = get_run(engine, run_id)
    if run is None:
        click.echo(f"{kind} run {run_id} is gone", err=True)
        return EXIT_FAILED
    if not run.finished:  # the job stopped before its run's bookkeeping began
        finish_run(engine, run_id, failed_reason=problem or "the job ended without finishing its run")
        run = get_run(engine, run_id)
    click.echo(f"{kind} run {run_id} {run.status}: {_counts(run)}")
    if problem and run.status == RUN_FAILED:
        click.echo(f"  the run stopped: {problem}", err=True)
    for error in run.errors[:SUMMARY_ERRORS]:
        click.echo(f"  {error.key or '-'}: {error.message}", err=True)
    if run.error_count > SUMMARY_ERRORS:
        click.echo(f"  ... {run.error_count - SUMMARY_ERRORS} more at GET /api/v1/runs/{run_id}", err=True)
    if run.status == RUN_SUCCEEDED:
        return EXIT_OK
    if run.status == RUN_PARTIAL:
        return EXIT_PARTIAL
    return EXIT_FAILED


def init_app(app: Flask) -> None:
    """Register `flask sync` on `app`."""
    app.cli.add_command(sync_command)
