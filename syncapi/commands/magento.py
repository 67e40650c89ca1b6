"""The `magento` command group.

`flask --app app magento check`: does the configured Magento answer, and may the service do its work there?

Each check prints one line, `ok`, `warn` or `FAIL`, and what to do about a failure:

1. reach: `GET /rest/default/V1/store/storeViews` (host, TLS, a Magento REST API at that URL, credentials);
2. one read per area the service uses, each needing an ACL resource granted to the integration;
3. bulk: a harmless async bulk operation must finish, or the `async.operations.all` consumer is not running.
"""

from __future__ import annotations

from dataclasses import dataclass

import click
import requests
from flask import current_app
from flask.cli import AppGroup

from syncapi import services
from syncapi.config import MAGENTO_AUTH_BEARER, Settings
from syncapi.magento import bulk
from syncapi.magento.client import MagentoClient, client_for
from syncapi.magento.errors import (
    MagentoAuthError,
    MagentoBulkUnsupportedError,
    MagentoError,
    MagentoNotFoundError,
    MagentoPermanentError,
    MagentoTransientError,
)
from syncapi.magento.search import SearchCriteria

#: Seconds the bulk check waits for its operation to leave "open".
BULK_CHECK_TIMEOUT_S = 30.0
#: Retries of each check call: enough to ride out one blip, few enough to answer quickly.
CHECK_MAX_RETRIES = 1
CHECK_MAX_WAIT_S = 5.0

OAUTH_HINT = (
    "Check MAGENTO_CONSUMER_KEY, MAGENTO_CONSUMER_SECRET, MAGENTO_ACCESS_TOKEN and MAGENTO_ACCESS_TOKEN_SECRET "
    "against the integration (System > Extensions > Integrations > Edit > Integration Details), that the "
    "integration is active, and that this machine's clock is right (OAuth signatures carry a timestamp)."
)
BEARER_HINT = (
    "Since Magento 2.4.4 an integration's access token is accepted as a bearer token only when the store allows "
    "it: Stores > Configuration > Services > OAuth > Consumer Settings > 'Allow OAuth Access Tokens to be used "
    "as standalone Bearer tokens' = Yes (oauth/consumer/enable_integration_as_bearer). Enable that, or use "
    "MAGENTO_AUTH=oauth1 with the integration's four OAuth values."
)


@dataclass(frozen=True)
class Outcome:
    """One check's result: `level` is `ok`, `warn` or `fail`."""

    name: str
    level: str
    detail: str


#: The reads the service depends on: (name, ACL resource the integration needs, path, query parameters);
#: parameters None = a list endpoint, read one item of it.
READS: list[tuple[str, str, str, dict | None]] = [
    ("products", "Magento_Catalog::products", "/V1/products", None),
    ("categories", "Magento_Catalog::categories", "/V1/categories", {"depth": "0"}),
    ("attributes", "Magento_Catalog::attributes_attributes", "/V1/products/attributes/sku", {}),
    ("attribute sets", "Magento_Catalog::sets", "/V1/products/attribute-sets/sets/list", None),
    ("inventory source items", "Magento_InventoryApi::source", "/V1/inventory/source-items", None),
    ("customers", "Magento_Customer::customer", "/V1/customers/search", None),
    ("orders", "Magento_Sales::actions_view", "/V1/orders", None),
    ("invoices", "Magento_Sales::sales_invoice", "/V1/invoices", None),
    ("credit memos", "Magento_Sales::sales_creditmemo", "/V1/creditmemos", None),
]


def _unreachable(exc: MagentoTransientError, settings: Settings) -> str:
    cause = exc.__cause__
    if isinstance(cause, requests.exceptions.SSLError):
        return (
            f"TLS problem with {settings.magento_base_url}: {cause}. The store needs a certificate this machine "
            "trusts (a public CA, or the CA added to the system store / REQUESTS_CA_BUNDLE)."
        )
    if isinstance(cause, requests.ConnectionError | requests.Timeout):
        return f"cannot reach {settings.magento_base_url}: {exc.message}. Check MAGENTO_BASE_URL, DNS and firewalls."
    return f"{settings.magento_base_url} is not answering properly: {exc.message}"


def _credentials_refused(exc: MagentoAuthError, settings: Settings) -> str:
    hint = BEARER_HINT if settings.magento_auth == MAGENTO_AUTH_BEARER else OAUTH_HINT
    return f"Magento refused the credentials ({exc.status}: {exc.message}). {hint}"


def _grant(exc: MagentoAuthError, resource: str) -> str:
    named = exc.parameters.get("resources") if isinstance(exc.parameters, dict) else None
    return (
        f"refused ({exc.status}: {exc.message}): grant the integration the API resource {named or resource} "
        "(System > Extensions > Integrations > Edit > API), then reauthorize it"
    )


def check_reach(client: MagentoClient, settings: Settings) -> tuple[Outcome, MagentoAuthError | None]:
    """The first call; its outcome, and the refusal when Magento answered 401/403."""
    try:
        views = client.get("/V1/store/storeViews", store="default") or []
    except MagentoAuthError as exc:
        return Outcome("reach", "fail", _grant(exc, "Magento_Backend::store")), exc
    except MagentoNotFoundError as exc:
        return Outcome(
            "reach",
            "fail",
            f"no Magento REST API at {settings.magento_base_url}/rest/ ({exc.status}: {exc.message}). "
            "MAGENTO_BASE_URL must be the store's base URL (e.g. https://shop.example.com), without /rest or /admin.",
        ), None
    except MagentoTransientError as exc:
        return Outcome("reach", "fail", _unreachable(exc, settings)), None
    except MagentoPermanentError as exc:
        return Outcome("reach", "fail", f"{settings.magento_base_url} answered {exc.status}: {exc.message}"), None
    codes = [view.get("code") for view in views if isinstance(view, dict)]
    store = settings.magento_store_code
    if store not in ("all", *codes):
        return Outcome(
            "reach",
            "fail",
            f"MAGENTO_STORE_CODE={store} is not a store view of this Magento (store views: {', '.join(codes)}); "
            "use `all` for global catalog values.",
        ), None
    return Outcome("reach", "ok", f"{settings.magento_base_url} answers; store views: {', '.join(codes)}"), None


def check_reads(client: MagentoClient) -> tuple[list[Outcome], int]:
    """One read per area, a refusal naming the ACL resource to grant; the outcomes and how many were refused."""
    outcomes: list[Outcome] = []
    refused = 0
    for name, resource, path, params in READS:
        try:
            if params is None:
                client.search(path, SearchCriteria().page(1))
            else:
                client.get(path, params or None)
        except MagentoAuthError as exc:
            refused += 1
            outcomes.append(Outcome(name, "fail", _grant(exc, resource)))
        except MagentoError as exc:
            outcomes.append(Outcome(name, "fail", str(exc)))
        else:
            outcomes.append(Outcome(name, "ok", f"readable ({resource})"))
    return outcomes, refused


def check_bulk(client: MagentoClient, timeout_s: float) -> Outcome:
    """Submit one harmless bulk operation (a special-price read of no SKUs) and wait for it to run."""
    try:
        submission = bulk.submit(client, "POST", "/V1/products/special-price-information", [{"skus": []}])
        result = bulk.wait(
            client, submission, poll_interval_s=min(1.0, timeout_s / 10), stall_timeout_s=timeout_s, timeout_s=timeout_s
        )
    except MagentoBulkUnsupportedError as exc:
        return Outcome(
            "bulk",
            "warn",
            f"the async bulk API is not available ({exc.message}); set MAGENTO_USE_BULK=false so products are "
            "saved one request at a time",
        )
    except MagentoAuthError as exc:
        return Outcome(
            "bulk",
            "fail",
            f"{_grant(exc, 'Magento_Logging::system_magento_logging_bulk_operations')}, or set MAGENTO_USE_BULK=false",
        )
    except MagentoError as exc:
        return Outcome("bulk", "fail", exc.message)
    return Outcome("bulk", "ok", f"async bulk operations run (bulk {submission.bulk_uuid}: {result.counts})")


def run_checks(settings: Settings, *, with_bulk: bool = True, bulk_timeout_s: float = BULK_CHECK_TIMEOUT_S):
    """Every check's `Outcome`, in order; stops early when the store cannot be used at all."""
    client = client_for(settings, max_retries=CHECK_MAX_RETRIES, max_total_wait_s=CHECK_MAX_WAIT_S)
    try:
        reach, refusal = check_reach(client, settings)
        if reach.level == "fail" and refusal is None:
            yield reach
            return
        outcomes, refused = check_reads(client)
        if refusal is not None and refused == len(outcomes):
            # Refused everywhere: the credentials, not one missing resource.
            yield Outcome("credentials", "fail", _credentials_refused(refusal, settings))
            return
        yield reach
        yield from outcomes
        if with_bulk and settings.magento_use_bulk and refused < len(outcomes):
            yield check_bulk(client, bulk_timeout_s)
    finally:
        client.close()


magento_cli = AppGroup("magento", help="Commands about the Magento store.")


@magento_cli.command("check")
@click.option("--no-bulk", is_flag=True, help="skip the async bulk check")
@click.option(
    "--bulk-timeout", type=float, default=BULK_CHECK_TIMEOUT_S, show_default=True, help="seconds to wait for bulk"
)
def check_command(no_bulk: bool, bulk_timeout: float) -> None:
    """Check that the configured Magento answers and the credentials work; say what is wrong if not."""
    settings: Settings = services.of_app(current_app).settings
    click.echo(
        f"Checking Magento at {settings.magento_base_url} (auth {settings.magento_auth}, "
        f"store code {settings.magento_store_code})"
    )
    failures = 0
    for outcome in run_checks(settings, with_bulk=not no_bulk, bulk_timeout_s=bulk_timeout):
        label = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[outcome.level]
        click.echo(f"{label}  {outcome.name}: {outcome.detail}")
        failures += outcome.level == "fail"
    if failures:
        click.echo(f"Magento check failed: {failures} problem{'s' if failures != 1 else ''}.", err=True)
        raise SystemExit(1)
    click.echo("Magento check passed.")


def init_app(app) -> None:
    """Add the `magento` command group to `app`'s CLI."""
    app.cli.add_command(magento_cli)
