"""`flask --app app webhook send-test <kind> <magento id>` (`bin/syncapi webhook send-test order 1`): deliver a
correctly signed test webhook for a record that exists in the configured Magento, then wait for it to reach
the POS and say where it went.

It sends what Mage-OS Async Events sends (a CloudEvents 1.0 structured event, signed with `WEBHOOK_SECRET` in
`X-Magento-Signature`, see docs/getting-started.md), to the running web process, so the whole path is
exercised: signature, intake, the queue, the worker, Magento's REST API and the POS.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable

import click
import requests
from flask import current_app
from flask.cli import AppGroup

from syncapi import services
from syncapi.config import Settings
from syncapi.magento import customers, sales
from syncapi.magento.client import MagentoClient, client_for
from syncapi.magento.errors import MagentoError, MagentoNotFoundError
from syncapi.state.links import LINK_FAILED, LINK_PENDING, get_link
from syncapi.webhooks.signature import SIGNATURE_HEADER, sign

#: Per kind: the event Magento announces it with, the key of the record id in `data`, how to read the record.
KINDS: dict[str, tuple[str, str, Callable[[MagentoClient, int], dict]]] = {
    "order": ("sales.order.updated", "entity_id", sales.get_order),
    "invoice": ("sales.invoice.created", "entity_id", sales.get_invoice),
    "creditmemo": ("sales.creditmemo.created", "entity_id", sales.get_creditmemo),
    "customer": ("customer.updated", "id", customers.get),
}
#: Seconds to wait for the web process to answer.
POST_TIMEOUT_S = 10.0
#: Seconds between two looks at where the record went.
POLL_INTERVAL_S = 0.5
#: The largest Magento id (a signed 64-bit integer), as the webhook intake accepts.
MAX_MAGENTO_ID = 2**63 - 1

webhook_cli = AppGroup("webhook", help="Commands about Magento's webhooks.")


def default_web_url(environ=os.environ) -> str:
    """The running web process: `SYNCAPI_WEB_URL`, else this machine on `PORT` (what `make run` listens on)."""
    if environ.get("SYNCAPI_WEB_URL"):
        return environ["SYNCAPI_WEB_URL"].rstrip("/")
    host = environ.get("HOST") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):  # noqa: S104 - a wildcard bind is reached on loopback from this machine
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{environ.get('PORT') or '8000'}"


def test_event(kind: str, magento_id: int) -> bytes:
    """The body of a test delivery: a CloudEvent announcing record `magento_id` of `kind`."""
    event, key, _ = KINDS[kind]
    return json.dumps(
        {
            "specversion": "1.0",
            "id": f"send-test-{uuid.uuid4()}",
            "source": "syncapi webhook send-test",
            "type": event,
            "datacontenttype": "application/json",
            "data": {key: magento_id},
        },
        separators=(",", ":"),
    ).encode("utf-8")


@webhook_cli.command("send-test")
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.argument("magento_id", type=click.IntRange(1, MAX_MAGENTO_ID))
@click.option("--url", default=None, help="the web process [default: $SYNCAPI_WEB_URL, else http://$HOST:$PORT]")
@click.option(
    "--wait", type=click.FloatRange(0), default=30.0, show_default=True, help="seconds to wait for the POS (0: none)"
)
def send_test_command(kind: str, magento_id: int, url: str | None, wait: float) -> None:
    """Send a signed test webhook for Magento record MAGENTO_ID of KIND, then show where it went in the POS."""
    settings: Settings = services.of_app(current_app).settings
    if not settings.webhook_secret:
        raise click.ClickException("setting WEBHOOK_SECRET is missing: the web process would refuse the delivery")
    _check_record(settings, kind, magento_id)
    target = f"{(url or default_web_url()).rstrip('/')}/webhooks/magento"
    body = test_event(kind, magento_id)
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, settings.webhook_secret)}
    try:
        answer = requests.post(target, data=body, headers=headers, timeout=POST_TIMEOUT_S)
    except requests.RequestException as exc:
        raise click.ClickException(f"the web process does not answer at {target}: {exc} (is `make run` up?)") from None
    click.echo(f"POST {target} ({kind} {magento_id}) -> {answer.status_code} {answer.text.strip()[:300]}")
    if answer.status_code != 202:
        raise click.ClickException(f"the delivery was not accepted ({answer.status_code})")
    if wait > 0:
        _follow(kind, magento_id, wait)


def _check_record(settings: Settings, kind: str, magento_id: int) -> None:
    """Fail with one line unless Magento has the record (a test for a record it lacks would only fail later)."""
    read = KINDS[kind][2]
    client = client_for(settings, max_total_wait_s=10.0)
    try:
        record = read(client, magento_id)
    except MagentoNotFoundError:
        raise click.ClickException(
            f"Magento at {settings.magento_base_url} has no {kind} {magento_id} "
            "(the `make run` sandbox has orders 1-3, invoices 1-3, credit memo 1, customers 1-2)"
        ) from None
    except MagentoError as exc:
        raise click.ClickException(f"cannot read {kind} {magento_id} from Magento: {exc}") from None
    finally:
        client.close()
    label = record.get("increment_id") or record.get("email") or magento_id
    click.echo(f"Magento has {kind} {magento_id} ({label})")


def _follow(kind: str, magento_id: int, wait: float) -> None:
    """Print where the record went in the POS once the worker has handled it, or that it has not yet."""
    engine = services.of_app(current_app).state_engine
    deadline = time.monotonic() + wait
    while True:
        link = get_link(engine, kind, str(magento_id))
        if link is not None and link.status != LINK_PENDING:
            break
        if time.monotonic() >= deadline:
            click.echo(f"not handled after {wait:g} s: is the worker running? (GET /api/v1/links/{kind}/{magento_id})")
            raise SystemExit(1)
        time.sleep(POLL_INTERVAL_S)
    where = f"POS id {link.pos_id}" if link.pos_id else "no POS record"
    detail = f": {link.error}" if link.error else ""
    click.echo(f"{kind} {magento_id}: {link.status}, {where}{detail}")
    if link.status == LINK_FAILED:
        raise SystemExit(1)


def init_app(app) -> None:
    """Add the `webhook` command group to `app`'s CLI."""
    app.cli.add_command(webhook_cli)
