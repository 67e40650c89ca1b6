"""`flask --app app pos ...`: create or upgrade the reference POS tables, fill them with the demo shop."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import Engine, func, select

from syncapi import services, state
from syncapi.config import redact_url
from syncapi.pos import migrate
from syncapi.pos import models as m
from syncapi.pos.errors import PosError
from syncapi.pos.seed import seed_demo

pos = AppGroup("pos", help="The reference POS database in POS_DATABASE_URL.")


def _engine() -> Engine:
    return services.of_app(current_app).pos_engine


def _where() -> str:
    return redact_url(services.of_app(current_app).settings.pos_database_url)


@pos.command("init")
def init_command() -> None:
    """Create or upgrade the reference POS tables (safe to run again)."""
    engine = _engine()
    try:
        before = migrate.current_revision(engine)
        after = migrate.upgrade(engine)
    except Exception as exc:
        raise click.ClickException(f"could not create the POS tables in {_where()}: {exc}") from exc
    if before == after:
        click.echo(f"POS tables in {_where()} are up to date (revision {after})")
    else:
        click.echo(f"POS tables in {_where()} upgraded from revision {before or 'none'} to {after}")
    # The service's own tables (links, runs, hashes) live beside the POS by default; one command sets up both.
    state_engine = services.of_app(current_app).state_engine
    try:
        state.upgrade(state_engine)
    except Exception as exc:
        raise click.ClickException(f"could not create the service's own tables: {exc}") from exc
    click.echo("the service's own tables (sync_*) are up to date")


@pos.command("seed")
@click.option("--demo", is_flag=True, help="Fill the POS with the demo shop (the only seed there is).")
@click.option("--if-empty", is_flag=True, help="Do nothing, successfully, when the POS already has products.")
def seed_command(demo: bool, if_empty: bool) -> None:
    """Fill an empty POS with a small demo shop: categories, products with variants and images, stock, customers."""
    if not demo:
        raise click.UsageError("say `--demo`: the demo shop is the only seed there is")
    engine = _engine()
    if migrate.current_revision(engine) != migrate.head_revision():
        raise click.ClickException(f"the POS tables in {_where()} are missing or old: run `flask --app app pos init`")
    location = services.of_app(current_app).settings.pos_location_code
    if if_empty:
        with engine.connect() as connection:
            products = connection.scalar(select(func.count()).select_from(m.Product))
        if products:
            click.echo(f"POS in {_where()} already has {products} products; not seeding")
            return
    try:
        result = seed_demo(engine, location)
    except PosError as exc:
        raise click.ClickException(str(exc)) from None
    if not result.created:
        click.echo(f"POS in {_where()} already holds the demo shop; nothing written")
        return
    summary = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in result.counts.items())
    click.echo(f"POS in {_where()} seeded with the demo shop (stock at {location}): {summary}")


def init_app(app: Flask) -> None:
    """Register the `pos` command group on `app`."""
    app.cli.add_command(pos)
