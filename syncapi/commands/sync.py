"""`flask --app app sync <kind> [--full] [--sku SKU ...] [--id ID ...] [--force]`: one push (or the sales
reconcile) now, in the foreground, with progress lines and a closing summary.

`flask --app app sync sales --since DATE [--dry-run]` is the go-live backfill (`syncapi.inbound.backfill`): the
real run queues the imports of the sales records created since DATE; the dry run lists what would happen to each
and writes nothing.

The run is stored like any other (trigger `cli`, visible at `GET /api/v1/runs/<id>`) and its job function is
called in this process. Exit status: 0 succeeded, 3 partial (some records failed), 1 failed, 130 interrupted.
The service's JSON log lines are held back to warnings unless `--verbose`.

`flask --app app sync stock --check [--sku SKU ...]` compares Magento's source items with the POS and writes
nothing, with a progress bar, one line per difference and a closing count; like `git diff --exit-code` it
exits 0 when there is no drift, 1 when there is, 2 when the check could not be completed.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from jobs.dispatch import JOBS
from jobs.inbound import importer_for
from jobs.outbound import check_stock
from jobs.reconcile import backfill_sales
from syncapi import services
from syncapi.inbound.backfill import PreviewTally, preview_backfill
from syncapi.inbound.mappers import format_magento_time
from syncapi.magento import MagentoError
from syncapi.pos.errors import PosUnavailableError
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
from syncapi.state.differences import get_differences
from syncapi.state.run_history import KIND_SALES, KIND_STOCK, Run
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
ID_KINDS = ("categories", "customers", "fulfilments")
#: The forms `--since` accepts, read as UTC.
SINCE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
#: Where the backfill options are kept between their callbacks and the command.
META_SINCE = "syncapi.sync.since"
META_DRY_RUN = "syncapi.sync.dry_run"
#: `sync stock --check`: no drift, drift, the check could not be completed.
EXIT_NO_DRIFT = 0
EXIT_DRIFT = 1
EXIT_CHECK_ERROR = 2
#: Where `--check` is kept for the command (in the click context's meta, not as one more parameter).
CHECK_FLAG = "sync.check"


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


def _keep_since(ctx: click.Context, param: click.Parameter, value: datetime | None) -> None:
    if value is None:
        return
    moment = value.replace(tzinfo=UTC)
    if moment > datetime.now(UTC):
        raise click.BadParameter(f"{format_magento_time(moment)} is in the future", ctx, param)
    ctx.meta[META_SINCE] = moment


def _keep_dry_run(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    ctx.meta[META_DRY_RUN] = value


@click.command("sync")
@click.argument("kind", type=click.Choice(RUN_KINDS))
@click.option("--full", is_flag=True, help="Consider every record, not only what changed since the last run.")
@click.option("--sku", "skus", multiple=True, help="Only this SKU (products, stock, prices); repeat for more.")
@click.option(
    "--id", "ids", multiple=True, type=int, help="Only this POS id (categories, customers, fulfilments); repeatable."
)
@click.option("--force", is_flag=True, help="Send records even when unchanged since Magento last accepted them.")
@click.option(
    "--check",
    is_flag=True,
    expose_value=False,
    callback=lambda ctx, _param, value: ctx.meta.__setitem__(CHECK_FLAG, value),
    help="stock only: compare Magento with the POS, write nothing, list the differences.",
)
@click.option("--verbose", is_flag=True, help="Show the service's log lines too.")
@click.option(
    "--since",
    type=click.DateTime(SINCE_FORMATS),
    expose_value=False,
    callback=_keep_since,
    help="sales only: backfill the orders, invoices and credit memos created since this date (UTC).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    expose_value=False,
    callback=_keep_dry_run,
    help="With --since: list what the backfill would write or refuse, and write nothing.",
)
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
    """Run one push (products, stock, prices, categories, customers, fulfilments) or the sales reconcile now.

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
    if click.get_current_context().meta.get(CHECK_FLAG):
        if kind != KIND_STOCK:
            raise click.UsageError(f"--check is only for stock, not {kind}")
        if full or force:
            raise click.UsageError("--check compares everything and writes nothing: give it without --full or --force")
        raise SystemExit(_check(keys, verbose))
    meta = click.get_current_context().meta
    since, dry_run = meta.get(META_SINCE), meta.get(META_DRY_RUN, False)
    if since is not None and kind != KIND_SALES:
        raise click.UsageError("--since is only for sales")
    if dry_run and since is None:
        raise click.UsageError("--dry-run is for the backfill: give --since DATE too")
    if since is not None and full:
        raise click.UsageError("give either --full or --since, not both")
    svc = services.of_app(current_app)
    if dry_run:
        raise SystemExit(_dry_run(svc, since))
    engine = svc.state_engine
    job = JOBS[kind]
    params = {"full": full} if kind == KIND_SALES else {"full": full, "keys": keys, "force": force}
    if since is not None:
        job, params = backfill_sales, {"since": format_magento_time(since)}
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
    elif since is not None:
        scope = f"sales records created since {params['since']}"
    else:
        scope = "everything" if full else "what changed since the last run"
    click.echo(f"{kind} run {run.run_id} started ({scope})")
    stop = threading.Event()
    progress = threading.Thread(target=_progress, args=(engine, run.run_id, kind, stop), daemon=True)
    progress.start()
    problem = None
    try:
        with _quiet_logs(verbose):
            if since is not None:
                job(run.run_id, since=params["since"])
            elif kind == KIND_SALES:
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


def _dry_run(svc, since: datetime) -> int:
    """List what a backfill since `since` would do with each record, and a closing count; writes nothing."""
    click.echo(f"dry run: sales records created since {format_magento_time(since)}; nothing is written")
    tally = PreviewTally()
    try:
        for preview in preview_backfill(importer_for(svc), since):
            tally.add(preview)
            click.echo(preview.line())
    except (MagentoError, PosUnavailableError) as exc:
        click.echo(f"dry run stopped: {type(exc).__name__}: {exc}", err=True)
        click.echo(f"dry run: {tally.line()} before it stopped")
        return EXIT_FAILED
    click.echo(f"dry run: {tally.line()}")
    return EXIT_OK


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


def _check(keys: list[str] | None, verbose: bool) -> int:
    """One stock check in this process: progress bar, one line per difference, a closing count; the exit code."""
    svc = services.of_app(current_app)
    engine = svc.state_engine
    try:
        run = create_run(engine, KIND_STOCK, TRIGGER_CLI, {"check": True, "keys": keys})
        total = len(keys) if keys else svc.pos.count_products()
    except Exception as exc:
        click.echo(f"stock check could not start: {type(exc).__name__}: {str(exc).splitlines()[0]}", err=True)
        return EXIT_CHECK_ERROR
    scope = f"{len(keys)} SKU(s)" if keys else "every product"
    click.echo(f"stock check run {run.run_id} started ({scope})")
    problem = None
    try:
        with (
            _quiet_logs(verbose),
            click.progressbar(length=total, label="comparing", file=sys.stderr) as bar,
        ):
            check_stock(run.run_id, keys=keys, progress=bar.update)
    except KeyboardInterrupt:
        current = get_run(engine, run.run_id, with_errors=False)
        if current is not None and not current.finished:
            finish_run(engine, run.run_id, failed_reason="interrupted from the command line")
        click.echo(f"stock check run {run.run_id} interrupted", err=True)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except Exception as exc:  # the run is marked failed by the job's own bookkeeping
        problem = f"{type(exc).__name__}: {exc}"
    current = get_run(engine, run.run_id)
    if current is not None and not current.finished:
        finish_run(engine, run.run_id, failed_reason=problem or "the job ended without finishing its run")
        current = get_run(engine, run.run_id)
    differences = get_differences(engine, run.run_id)
    for difference in differences:
        pos, magento = f"{difference.pos.normalize():f}", f"{difference.magento.normalize():f}"
        click.echo(f"{difference.sku}\t{difference.source}\tpos {pos}\tmagento {magento}")
    click.echo(f"{len(differences)} difference(s) between Magento and the POS")
    if current is None or current.status != RUN_SUCCEEDED:
        status = current.status if current is not None else "gone"
        click.echo(f"stock check run {run.run_id} {status}: the comparison is not complete", err=True)
        if problem:
            click.echo(f"  the run stopped: {problem}", err=True)
        for error in (current.errors if current is not None else ())[:SUMMARY_ERRORS]:
            click.echo(f"  {error.key or '-'}: {error.message}", err=True)
        return EXIT_CHECK_ERROR
    return EXIT_DRIFT if differences else EXIT_NO_DRIFT


def init_app(app: Flask) -> None:
    """Register `flask sync` on `app`."""
    app.cli.add_command(sync_command)
