"""`flask --app app state init|prune`: create or upgrade the service's tables, trim the run history."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from syncapi import services
from syncapi.config import redact_url
from syncapi.state.migrate import current_revision, upgrade
from syncapi.state.run_history import prune_runs

state_cli = AppGroup("state", help="The service's own tables: links, runs, watermarks, hashes.")


@state_cli.command("init")
def init_command() -> None:
    """Create or upgrade the sync_* tables in STATE_DATABASE_URL (default POS_DATABASE_URL); idempotent."""
    svc = services.of_app(current_app)
    where = redact_url(svc.settings.state_url)
    try:
        before = current_revision(svc.state_engine)
        after = upgrade(svc.state_engine)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"state tables at {where}: {str(exc).splitlines()[0]}") from exc
    if before == after:
        click.echo(f"state tables at {where}: already at revision {after}")
    else:
        click.echo(f"state tables at {where}: upgraded from revision {before or 'none'} to {after}")


@state_cli.command("prune")
@click.option("--older-than-days", type=click.IntRange(min=0), default=None, help="default: RUN_HISTORY_DAYS")
def prune_command(older_than_days: int | None) -> None:
    """Delete finished runs created more than RUN_HISTORY_DAYS (or --older-than-days) days ago."""
    svc = services.of_app(current_app)
    days = svc.settings.run_history_days if older_than_days is None else older_than_days
    try:
        deleted = prune_runs(svc.state_engine, days)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"state database: {str(exc).splitlines()[0]}") from exc
    click.echo(f"deleted {deleted} finished run(s) created more than {days} day(s) ago")


def init_app(app) -> None:
    """Add the `state` commands to `app`'s CLI."""
    app.cli.add_command(state_cli)
