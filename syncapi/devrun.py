"""`make run`'s banner: where each part listens, the credentials this run uses, the commands for a second
terminal. Settings are read the way every process reads them, so a run that would fail to start (a missing
secret on a non-loopback HOST) stops here with that one line.

    python -m syncapi.devrun
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from syncapi import config
from syncapi.config import Settings, SettingsError

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: The credentials shown, by setting name: each printed only while it is the development default.
CREDENTIALS = (
    ("WEBHOOK_SECRET", "webhook_secret", config.DEV_WEBHOOK_SECRET),
    ("API_TOKEN", "api_token", config.DEV_API_TOKEN),
    ("MAGENTO_CONSUMER_KEY", "magento_consumer_key", config.DEV_MAGENTO_CONSUMER_KEY),
    ("MAGENTO_CONSUMER_SECRET", "magento_consumer_secret", config.DEV_MAGENTO_CONSUMER_SECRET),
    ("MAGENTO_ACCESS_TOKEN", "magento_access_token", config.DEV_MAGENTO_ACCESS_TOKEN),
    ("MAGENTO_ACCESS_TOKEN_SECRET", "magento_access_token_secret", config.DEV_MAGENTO_ACCESS_TOKEN_SECRET),
)


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def banner(settings: Settings, environ: Mapping[str, str]) -> str:
    """The text `make run` prints before starting the processes."""
    host = environ.get("HOST") or "127.0.0.1"
    port = environ.get("PORT") or "8000"
    sandbox_port = environ.get("SANDBOX_PORT") or "8081"
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - how to reach a wildcard bind here
    web = f"http://{shown}:{port}"
    if settings.dashboard_user:
        dashboard = f"user {settings.dashboard_user}, password from DASHBOARD_PASSWORD"
    elif settings.development:
        dashboard = "open: development on loopback"
    else:
        dashboard = "refused: set DASHBOARD_USER and DASHBOARD_PASSWORD"
    lines = [
        "",
        f"  syncapi is starting on {host} (Ctrl-C stops everything):",
        f"    start page       {web}/",
        f"    health           {web}/healthz   {web}/readyz",
        f"    API              {web}/api/v1   (Authorization: Bearer $API_TOKEN)",
        f"    API docs         {web}/api/docs",
        f"    dashboard        {web}/rq   ({dashboard})",
        f"    metrics          {web}/metrics",
        f"    webhooks         {web}/webhooks/magento   (X-Magento-Signature keyed with WEBHOOK_SECRET)",
        f"    Magento          {settings.magento_base_url}/rest/all/V1   (sandbox on port {sandbox_port})",
        "",
        "  credentials this run uses:",
        *(f"    {line}" for line in _credentials(settings)),
        "",
        "  from a second terminal (bin/syncapi finds the venv and these settings itself):",
        "    bin/syncapi sync stock                      push stock to Magento now",
        "    bin/syncapi magento check                   check Magento answers and the credentials work",
        "    bin/syncapi webhook send-test order 1       a signed test webhook: sandbox order 1 becomes a POS sale",
        "",
    ]
    if not is_loopback(host):
        lines.insert(2, f"  listening on {host}: reachable from other machines, development defaults are off")
    return "\n".join(lines)


def _credentials(settings: Settings) -> list[str]:
    out = []
    for name, field, development_value in CREDENTIALS:
        value = getattr(settings, field)
        if value is None:
            out.append(f"{name} not set")
        else:
            out.append(f"{name}={value}" if value == development_value else f"{name} from your settings (not shown)")
    return out


def main() -> int:
    """Print the banner; exit 2 with one line when the settings would not start."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2
    print(banner(settings, os.environ), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
