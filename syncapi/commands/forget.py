"""`flask --app app forget customer EMAIL`: remove what the service holds about one customer (docs/personal-data.md)."""

from __future__ import annotations

import logging

import click
import redis as redis_lib
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from syncapi import services
from syncapi.personal_data import forget_customer_in_redis
from syncapi.pos import models as m
from syncapi.state.personal import forget_customer_in_state

log = logging.getLogger("syncapi.personal_data")

forget_cli = AppGroup("forget", help="Remove what the service holds about a person (docs/personal-data.md).")


@forget_cli.command("customer")
@click.argument("email")
def forget_customer_command(email: str) -> None:
    """Remove what the service itself holds about the customer with EMAIL; say what the POS and Magento keep."""
    email = email.strip()
    if "@" not in email or email.startswith("@") or email.endswith("@") or any(c.isspace() for c in email):
        raise click.BadParameter(f"{email!r} is not an email address", param_hint="EMAIL")
    svc = services.of_app(current_app)
    try:
        pos_customer = svc.pos.find_customer(email=email)
        sales = _sales_of(svc.pos_engine, pos_customer.id) if pos_customer is not None else 0
    except SQLAlchemyError as exc:
        raise click.ClickException(f"POS database: {str(exc).splitlines()[0]}") from exc
    pos_ids = [pos_customer.id] if pos_customer is not None else []
    magento_ids = [pos_customer.magento_id] if pos_customer is not None and pos_customer.magento_id else []
    try:
        state = forget_customer_in_state(
            svc.state_engine, email, pos_customer_ids=pos_ids, magento_customer_ids=magento_ids
        )
    except SQLAlchemyError as exc:
        raise click.ClickException(f"state database: {str(exc).splitlines()[0]}") from exc
    try:
        in_redis = forget_customer_in_redis(svc.queues.connection, email)
    except redis_lib.RedisError as exc:
        raise click.ClickException(f"Redis: {exc} (the state database part is done; run the command again)") from exc
    log.info(
        "customer forgotten",
        extra={"pos_customer_id": pos_ids[0] if pos_ids else None, "jobs_deleted": len(in_redis.jobs)},
    )

    click.echo("Removed from the service's own storage:")
    click.echo(f"  state database: {state.links_deleted} customer link(s), {state.hashes_deleted} push hash(es),")
    click.echo(
        f"    {state.run_errors_deleted} run error(s) deleted; {state.link_errors_cleared} link error(s),"
        f" {state.run_texts_cleared} run reason(s) or parameter(s) cleared; {state.watermarks_deleted} watermark(s)"
    )
    jobs = ", ".join(in_redis.jobs) or "none"
    click.echo(
        f"  Redis: {len(in_redis.jobs)} job(s) with their errors and results ({jobs});"
        f" {len(in_redis.keys)} other key(s)"
    )
    click.echo("Still held elsewhere, for their own erasure processes:")
    if pos_customer is None:
        click.echo("  POS: no customer with this email.")
    else:
        click.echo(
            f"  POS: customer {pos_customer.id} (name, email, phone) and {sales} sale(s) made to them."
            " Erase or anonymise them in the POS; the service never deletes POS records."
        )
    if magento_ids:
        click.echo(
            f"  Magento: customer {magento_ids[0]}, their addresses and orders. Erase them in Magento's admin"
            " (or its privacy tools)."
        )
    else:
        click.echo("  Magento: any account and orders (guest orders too) placed with this email. Erase them there.")
    click.echo("  While the POS or Magento still hold the customer, the next customer push or import links them again.")


def _sales_of(engine, customer_id: int) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(m.Sale).where(m.Sale.customer_id == customer_id))


def init_app(app) -> None:
    """Add the `forget` commands to `app`'s CLI."""
    app.cli.add_command(forget_cli)
