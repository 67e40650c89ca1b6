"""Settings: read once from the environment (and `.env`), validated, frozen.

Every setting of the outside contract is here with its default. A missing required setting raises
`SettingsError` whose message is one line naming it; the process entry points print that line and exit.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_DEVELOPMENT = "development"
ENV_PRODUCTION = "production"

#: What `make run` uses when a secret is not given, so the service starts with no set-up. They are public
#: on purpose and only ever accepted with SYNCAPI_ENV=development.
DEV_WEBHOOK_SECRET = "dev-webhook-secret"  # noqa: S105
DEV_API_TOKEN = "dev-api-token"  # noqa: S105
DEV_MAGENTO_BASE_URL = "http://127.0.0.1:8081"
DEV_MAGENTO_CONSUMER_KEY = "sandbox-consumer-key"
DEV_MAGENTO_CONSUMER_SECRET = "sandbox-consumer-secret"  # noqa: S105
DEV_MAGENTO_ACCESS_TOKEN = "sandbox-access-token"  # noqa: S105
DEV_MAGENTO_ACCESS_TOKEN_SECRET = "sandbox-access-token-secret"  # noqa: S105

#: Exit code of a process whose settings are missing or refused: gunicorn's "worker failed to boot", which
#: stops its arbiter for good instead of starting the worker again; the systemd units do not restart on it.
EXIT_BAD_SETTINGS = 3

#: The marker `make run` (scripts/run-dev.sh) exports; development mode needs it as well as SYNCAPI_ENV.
MAKE_RUN_MARKER = "SYNCAPI_MAKE_RUN"

#: Fewest characters of WEBHOOK_SECRET and API_TOKEN in production, and of DASHBOARD_PASSWORD.
MIN_SECRET_CHARS = 16
MIN_DASHBOARD_PASSWORD_CHARS = 12
#: Values refused for any secret in production, compared without case and without `-`, `_`, `.` or spaces:
#: the usual placeholders, what our docs and example files have ever shown, and the development defaults.
PLACEHOLDER_SECRETS = frozenset(
    {
        "changeme",
        "changemenow",
        "changethis",
        "replaceme",
        "secret",
        "password",
        "passw0rd",
        "admin",
        "test",
        "example",
        "xxx",
        "todo",
        "fixme",
        "none",
        "null",
        "yoursecret",
        "mysecret",
        "correcthorsebatterystaple",
        "changemedbpassword",
        "operator",
        "devwebhooksecret",
        "devapitoken",
        "devdashboardpassword",
        "sandboxconsumerkey",
        "sandboxconsumersecret",
        "sandboxaccesstoken",
        "sandboxaccesstokensecret",
    }
)
#: Words that make any value a placeholder wherever they appear in it (`change-me-db-password`).
PLACEHOLDER_WORDS = ("changeme", "replaceme", "replacewith", "placeholder", "generateme", "pasteyour")

MAGENTO_AUTH_OAUTH1 = "oauth1"
MAGENTO_AUTH_BEARER = "bearer"

#: Webhook signature schemes (`WEBHOOK_AUTH`): Mage-OS Async Events' HMAC, Adobe I/O Events' RSA signatures.
WEBHOOK_AUTH_HMAC = "hmac"
WEBHOOK_AUTH_ADOBE_IO = "adobe-io"
WEBHOOK_AUTH_SCHEMES = (WEBHOOK_AUTH_HMAC, WEBHOOK_AUTH_ADOBE_IO)
ADOBE_IO_KEY_BASE_URL = "https://static.adobeioevents.com"


class SettingsError(Exception):
    """A setting is missing or has a value the service cannot use."""


def _text(value: str) -> str:
    return value.strip()


def _int(value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"expected a number of 0 or more, got {number}")
    return number


def _float(value: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError(f"expected a number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"expected a number of 0 or more, got {number}")
    return number


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _currency_code(value: str) -> str | None:
    code = value.strip().upper()
    if not code:
        return None
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"expected a three-letter ISO currency code such as USD, got {value!r}")
    return code


def _location_pairs(value: str) -> dict[str, str]:
    """`WEB:default,SHOP1:shop_1` → {"WEB": "default", "SHOP1": "shop_1"}: each location once."""
    pairs: dict[str, str] = {}
    for part in _csv(value):
        location, sep, target = (piece.strip() for piece in part.partition(":"))
        if not sep or not location or not target:
            raise ValueError(f"expected LOCATION:VALUE pairs separated by commas, got {part!r}")
        if location in pairs:
            raise ValueError(f"location {location!r} is given twice")
        pairs[location] = target
    if not pairs:
        raise ValueError("expected LOCATION:VALUE pairs separated by commas, e.g. WEB:default,SHOP1:shop_1")
    return pairs


def _stock_sources(value: str) -> dict[str, str]:
    return _location_pairs(value)


def _stock_buffer(value: str) -> dict[str, int]:
    return {location: _int(amount) for location, amount in _location_pairs(value).items()}


def _timezone(value: str) -> str:
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected an IANA time zone such as Europe/Paris, got {value!r}") from None
    return name


def _seconds_list(value: str) -> tuple[int, ...]:
    parts = _csv(value)
    if not parts:
        raise ValueError("expected a comma list of whole seconds, e.g. 10,30,120")
    return tuple(_int(part) for part in parts)


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return lowered

    return parse


def _schemes(value: str) -> tuple[str, ...]:
    parts = tuple(part.lower() for part in _csv(value))
    unknown = [part for part in parts if part not in WEBHOOK_AUTH_SCHEMES]
    if unknown or not parts:
        raise ValueError(f"expected a comma list of {', '.join(WEBHOOK_AUTH_SCHEMES)}, got {value!r}")
    return tuple(dict.fromkeys(parts))


#: Longest POS location code (the POS's `location_code` columns).
MAX_LOCATION_CHARS = 32
_STORE_CODE = re.compile(r"^[A-Za-z0-9_]+$")


def _order_locations(value: str) -> tuple[tuple[str, str], ...]:
    """`base:WEB,nz_store:WEBNZ` -> `(("base", "WEB"), ("nz_store", "WEBNZ"))`: Magento website or store code ->
    POS location; empty: every order at POS_LOCATION_CODE."""
    pairs: dict[str, str] = {}
    for part in _csv(value):
        code, sep, location = (piece.strip() for piece in part.partition(":"))
        if not sep or not code or not location or ":" in location:
            raise ValueError(
                f"expected code:LOCATION pairs separated by commas, e.g. base:WEB,nz_store:WEBNZ; got {part!r}"
            )
        if not _STORE_CODE.match(code):
            raise ValueError(f"{code!r} is not a Magento website or store code (letters, digits, underscores)")
        if len(location) > MAX_LOCATION_CHARS or any(ch.isspace() for ch in location):
            raise ValueError(
                f"{location!r} is not a POS location code (at most {MAX_LOCATION_CHARS} characters, no spaces)"
            )
        if code in pairs:
            raise ValueError(f"{code!r} is given twice")
        pairs[code] = location
    return tuple(pairs.items())


def _setting(env: str, default: Any = None, parse: Callable[[str], Any] = _text, doc: str = "") -> Any:
    return dataclasses.field(default=default, metadata={"env": env, "parse": parse, "doc": doc})


@dataclasses.dataclass(frozen=True)
class Settings:
    """The service's settings; build with `Settings.from_env()`."""

    # The settings users set (docs/configuration.md#settings-users-set).
    redis_url: str = _setting("REDIS_URL", "redis://localhost:6379/0")
    pos_database_url: str = _setting("POS_DATABASE_URL", "sqlite:///instance/pos.db")
    magento_base_url: str | None = _setting("MAGENTO_BASE_URL")
    magento_store_code: str = _setting("MAGENTO_STORE_CODE", "all")
    magento_auth: str = _setting("MAGENTO_AUTH", MAGENTO_AUTH_OAUTH1, _choice(MAGENTO_AUTH_OAUTH1, MAGENTO_AUTH_BEARER))
    magento_consumer_key: str | None = _setting("MAGENTO_CONSUMER_KEY")
    magento_consumer_secret: str | None = _setting("MAGENTO_CONSUMER_SECRET")
    magento_access_token: str | None = _setting("MAGENTO_ACCESS_TOKEN")
    magento_access_token_secret: str | None = _setting("MAGENTO_ACCESS_TOKEN_SECRET")
    magento_source_code: str = _setting("MAGENTO_SOURCE_CODE", "default")
    pos_location_code: str = _setting("POS_LOCATION_CODE", "WEB")
    #: The store's "Automatically Return Credit Memo Item to Stock" (`cataloginventory/item_options/auto_return`).
    magento_auto_return: bool = _setting("MAGENTO_AUTO_RETURN", False, _bool)
    #: Where a credit memo's items go back to stock; None: `POS_LOCATION_CODE`.
    return_location_code: str | None = _setting("RETURN_LOCATION_CODE")
    webhook_secret: str | None = _setting("WEBHOOK_SECRET")
    api_token: str | None = _setting("API_TOKEN")
    dashboard_user: str | None = _setting("DASHBOARD_USER")
    dashboard_password: str | None = _setting("DASHBOARD_PASSWORD")
    order_write_states: tuple[str, ...] = _setting("ORDER_WRITE_STATES", ("complete",), _csv)
    order_locations: tuple[tuple[str, str], ...] = _setting("ORDER_LOCATIONS", (), _order_locations)
    sync_interval_products_s: int = _setting("SYNC_INTERVAL_PRODUCTS", 900, _int)
    sync_interval_prices_s: int = _setting("SYNC_INTERVAL_PRICES", 900, _int)
    sync_interval_categories_s: int = _setting("SYNC_INTERVAL_CATEGORIES", 900, _int)
    sync_interval_customers_s: int = _setting("SYNC_INTERVAL_CUSTOMERS", 900, _int)
    sync_interval_stock_s: int = _setting("SYNC_INTERVAL_STOCK", 300, _int)
    sync_interval_fulfilments_s: int = _setting("SYNC_INTERVAL_FULFILMENTS", 900, _int)
    #: POS location code -> Magento (MSI) source code; unset: {POS_LOCATION_CODE: MAGENTO_SOURCE_CODE}.
    product_create_only_fields: tuple[str, ...] = _setting("PRODUCT_CREATE_ONLY_FIELDS", (), _csv)
    push_inactive_products: bool = _setting("PUSH_INACTIVE_PRODUCTS", False, _bool)
    reconcile_interval_s: int = _setting("RECONCILE_INTERVAL", 600, _int)
    webhook_auth: tuple[str, ...] = _setting("WEBHOOK_AUTH", (WEBHOOK_AUTH_HMAC,), _schemes)
    adobe_io_key_base_url: str = _setting("ADOBE_IO_KEY_BASE_URL", ADOBE_IO_KEY_BASE_URL)
    adobe_io_client_id: str | None = _setting("ADOBE_IO_CLIENT_ID")
    pos_currency: str | None = _setting("POS_CURRENCY", None, _currency_code)
    #: POS location → MSI source code; unset means {POS_LOCATION_CODE: MAGENTO_SOURCE_CODE}.
    stock_sources: Mapping[str, str] | None = _setting("STOCK_SOURCES", None, _stock_sources)
    #: POS location → units held back from the web at that location's source.
    stock_buffer: Mapping[str, int] | None = _setting("STOCK_BUFFER", None, _stock_buffer)
    store_timezone: str = _setting("STORE_TIMEZONE", "UTC", _timezone)
    alert_webhook_url: str | None = _setting("ALERT_WEBHOOK_URL")

    # The service's own settings (docs/configuration.md#the-services-own-settings).
    env: str = _setting("SYNCAPI_ENV", ENV_PRODUCTION, _choice(ENV_PRODUCTION, ENV_DEVELOPMENT))
    state_database_url: str | None = _setting(
        "STATE_DATABASE_URL", None, doc="where the service keeps links, runs and hashes; default POS_DATABASE_URL"
    )
    log_level: str = _setting("LOG_LEVEL", "INFO", _choice("debug", "info", "warning", "error"))
    magento_connect_timeout_s: float = _setting("MAGENTO_CONNECT_TIMEOUT", 5.0, _float)
    magento_read_timeout_s: float = _setting("MAGENTO_READ_TIMEOUT", 30.0, _float)
    magento_max_retries: int = _setting("MAGENTO_MAX_RETRIES", 5, _int)
    magento_batch_size: int = _setting("MAGENTO_BATCH_SIZE", 100, _int)
    magento_page_size: int = _setting("MAGENTO_PAGE_SIZE", 100, _int)
    magento_concurrency: int = _setting("MAGENTO_CONCURRENCY", 4, _int)
    magento_use_bulk: bool = _setting("MAGENTO_USE_BULK", True, _bool)
    worker_processes: int = _setting("WORKER_PROCESSES", 2, _int)
    job_timeout_s: int = _setting("JOB_TIMEOUT", 1800, _int)
    job_max_retries: int = _setting("JOB_MAX_RETRIES", 5, _int)
    job_retry_intervals_s: tuple[int, ...] = _setting("JOB_RETRY_INTERVALS", (10, 30, 120, 600, 1800), _seconds_list)
    worker_ttl_s: int = _setting("WORKER_TTL", 60, _int)
    worker_maintenance_interval_s: int = _setting("WORKER_MAINTENANCE_INTERVAL", 60, _int)
    run_history_days: int = _setting("RUN_HISTORY_DAYS", 30, _int)
    personal_data_days: int = _setting("PERSONAL_DATA_DAYS", 30, _int)
    make_run: bool = _setting(MAKE_RUN_MARKER, False, _bool, doc="set by `make run` only")
    host: str | None = _setting("HOST", None, doc="the address the web process listens on")

    def __post_init__(self) -> None:
        if not self.stock_sources:
            object.__setattr__(self, "stock_sources", {self.pos_location_code: self.magento_source_code})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
        """Build settings from `environ` (default: `.env` then the process environment) plus `overrides`.

        `overrides` are keyed by environment-variable name (`"REDIS_URL"`) or field name (`"redis_url"`)
        and may hold parsed values; they are what tests pass to `create_app`.
        """
        if environ is None:
            environ = _environment_with_dotenv()
        by_env = {f.metadata["env"]: f for f in dataclasses.fields(cls)}
        by_name = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for name, field in by_env.items():
            raw = environ.get(name)
            if raw is None or raw.strip() == "":
                continue
            try:
                values[field.name] = field.metadata["parse"](raw)
            except ValueError as exc:
                raise SettingsError(f"setting {name} is invalid: {exc}") from None
        for key, value in (overrides or {}).items():
            field = by_env.get(key) or by_name.get(key)
            if field is None:
                raise SettingsError(f"unknown setting {key}")
            if isinstance(value, str) and field.metadata["parse"] is not _text:
                try:
                    value = field.metadata["parse"](value)
                except ValueError as exc:
                    raise SettingsError(f"setting {field.metadata['env']} is invalid: {exc}") from None
            values[field.name] = value
        settings = cls(**values)
        return settings._with_development_defaults()._with_stock_defaults()._validated()

    @property
    def development(self) -> bool:
        """True only under `make run`: dev secrets and an open dashboard are allowed.

        SYNCAPI_ENV=development alone is not enough, so a deployment that copied it by mistake still runs as
        production: `make run`'s own marker (SYNCAPI_MAKE_RUN=1) and a loopback HOST are needed too.
        """
        return self.development_refused_because is None

    @property
    def development_refused_because(self) -> str | None:
        """Why SYNCAPI_ENV=development is not honoured (None when it is, or when it was not asked for)."""
        if self.env != ENV_DEVELOPMENT:
            return "SYNCAPI_ENV is not development"
        if not self.make_run:
            return f"SYNCAPI_ENV=development ignored: {MAKE_RUN_MARKER} is not set (only `make run` sets it)"
        if not is_loopback_host(self.host):
            shown = self.host or "unset (gunicorn listens on 0.0.0.0)"
            return f"SYNCAPI_ENV=development ignored: HOST {shown} is not a loopback address"
        return None

    @property
    def mode(self) -> str:
        """`development` or `production`: how the service really runs, whatever SYNCAPI_ENV says."""
        return ENV_DEVELOPMENT if self.development else ENV_PRODUCTION

    def startup_fields(self, process: str) -> dict[str, Any]:
        """The fields of a process's start-up log line: which process, which mode and why."""
        fields: dict[str, Any] = {"role": process, "mode": self.mode}
        if self.env == ENV_DEVELOPMENT and not self.development:
            fields["mode_reason"] = self.development_refused_because
        return fields

    @property
    def state_url(self) -> str:
        """The database URL of the service's own tables."""
        return self.state_database_url or self.pos_database_url

    def _with_development_defaults(self) -> Settings:
        if not self.development:
            return self
        fill = {
            "webhook_secret": DEV_WEBHOOK_SECRET,
            "api_token": DEV_API_TOKEN,
            "magento_base_url": DEV_MAGENTO_BASE_URL,
            "magento_consumer_key": DEV_MAGENTO_CONSUMER_KEY,
            "magento_consumer_secret": DEV_MAGENTO_CONSUMER_SECRET,
            "magento_access_token": DEV_MAGENTO_ACCESS_TOKEN,
            "magento_access_token_secret": DEV_MAGENTO_ACCESS_TOKEN_SECRET,
        }
        return dataclasses.replace(self, **{k: v for k, v in fill.items() if not getattr(self, k)})

    def _with_stock_defaults(self) -> Settings:
        # STOCK_SOURCES' default pair is filled by __post_init__, on every construction.
        return dataclasses.replace(self, stock_buffer=dict(self.stock_buffer or {}))

    def _validated(self) -> Settings:
        required = ["magento_base_url"]
        if WEBHOOK_AUTH_HMAC in self.webhook_auth:
            required.append("webhook_secret")
        required.append("api_token")
        if self.magento_auth == MAGENTO_AUTH_OAUTH1:
            required += [
                "magento_consumer_key",
                "magento_consumer_secret",
                "magento_access_token",
                "magento_access_token_secret",
            ]
        else:
            required.append("magento_access_token")
        for name in required:
            if not getattr(self, name):
                why = f" ({self.development_refused_because})" if self.env == ENV_DEVELOPMENT else ""
                raise SettingsError(f"missing required setting {env_name(name)}{why}")
        if WEBHOOK_AUTH_ADOBE_IO in self.webhook_auth and not self.adobe_io_client_id and not self.development:
            why = f" ({self.development_refused_because})" if self.env == ENV_DEVELOPMENT else ""
            raise SettingsError(
                "missing required setting ADOBE_IO_CLIENT_ID: WEBHOOK_AUTH includes adobe-io, and an Adobe signature"
                " proves only that Adobe sent an event, not that it came from this store's registration; set it to"
                f" the registration's client id (docs/magento-setup.md){why}"
            )
        if not self.development:
            self._refuse_weak_secrets()
        if not self.magento_base_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"setting MAGENTO_BASE_URL must start with http:// or https://, got {self.magento_base_url!r}"
            )
        if not self.adobe_io_key_base_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"setting ADOBE_IO_KEY_BASE_URL must start with http:// or https://, got {self.adobe_io_key_base_url!r}"
            )
        if self.alert_webhook_url and not self.alert_webhook_url.startswith(("http://", "https://")):
            raise SettingsError("setting ALERT_WEBHOOK_URL must start with http:// or https://")
        if bool(self.dashboard_user) != bool(self.dashboard_password):
            raise SettingsError("settings DASHBOARD_USER and DASHBOARD_PASSWORD must be given together")
        unmapped = sorted(set(self.stock_buffer or {}) - set(self.stock_sources or {}))
        if unmapped:
            raise SettingsError(
                f"setting STOCK_BUFFER names locations STOCK_SOURCES does not map: {', '.join(unmapped)}"
            )
        for name in (
            "magento_batch_size",
            "magento_page_size",
            "magento_concurrency",
            "worker_ttl_s",
            "worker_maintenance_interval_s",
            "personal_data_days",
        ):
            if getattr(self, name) < 1:
                raise SettingsError(f"setting {env_name(name)} must be 1 or more")
        return self

    def _refuse_weak_secrets(self) -> None:
        secrets = [
            ("webhook_secret", MIN_SECRET_CHARS),
            ("api_token", MIN_SECRET_CHARS),
            ("dashboard_password", MIN_DASHBOARD_PASSWORD_CHARS),
        ]
        for name, min_chars in secrets:
            value = getattr(self, name)
            if value:
                problem = weak_secret_problem(value, min_chars)
                if problem:
                    raise SettingsError(
                        f"setting {env_name(name)} is refused: {problem} (see docs/deployment-checks.md)"
                    )
        for name in ("redis_url", "pos_database_url", "state_database_url"):
            password = url_password(getattr(self, name))
            if password and is_placeholder(password):
                raise SettingsError(
                    f"setting {env_name(name)} is refused: its password is a placeholder"
                    " (see docs/deployment-checks.md)"
                )

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict by environment name, secrets replaced by `***` (for logs and `check`)."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value and _is_secret(field.name):
                value = "***"
            elif isinstance(value, str) and field.name.endswith("_url"):
                value = redact_url(value)
            out[field.metadata["env"]] = value
        return out


def _normalised(value: str) -> str:
    return re.sub(r"[\s._-]+", "", value.strip().lower())


def is_placeholder(value: str) -> bool:
    """True when `value` is a known placeholder or example value (see `PLACEHOLDER_SECRETS`)."""
    normalised = _normalised(value)
    return normalised in PLACEHOLDER_SECRETS or any(word in normalised for word in PLACEHOLDER_WORDS)


def weak_secret_problem(value: str, min_chars: int) -> str | None:
    """What is wrong with `value` as a production secret of at least `min_chars` characters, or None."""
    if is_placeholder(value):
        return "it is a placeholder or example value, not a secret"
    if len(value) < min_chars:
        return f"it has {len(value)} characters, at least {min_chars} are needed"
    if len(set(value)) < 4:
        return "it repeats too few characters to be a secret"
    return None


def is_loopback_host(host: str | None) -> bool:
    """True when every address in `host` (comma list) is a loopback address (127.0.0.0/8, ::1, localhost).

    No host (gunicorn then listens on 0.0.0.0) and a unix socket (a proxy may forward anyone to it) are not.
    """
    if not host or not host.strip():
        return False
    for part in host.split(","):
        part = part.strip().strip("[]")
        if part.lower() == "localhost":
            continue
        try:
            if not ipaddress.ip_address(part).is_loopback:
                return False
        except ValueError:
            return False
    return True


def env_name(field_name: str) -> str:
    """The environment variable behind a settings field."""
    for field in dataclasses.fields(Settings):
        if field.name == field_name:
            return field.metadata["env"]
    raise KeyError(field_name)


def _is_secret(field_name: str) -> bool:
    return any(word in field_name for word in ("secret", "token", "password"))


def redact_url(url: str) -> str:
    """`url` with any password replaced by `***` (`redis://:pw@host` -> `redis://:***@host`)."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def url_password(url: str | None) -> str | None:
    """The password inside a URL setting (`redis://:pw@host` -> `pw`), or None."""
    if not url:
        return None
    match = re.match(r"[^:/]+://[^:/@]*:([^@/]*)@", url)
    return match.group(1) if match and match.group(1) else None


def _environment_with_dotenv() -> dict[str, str]:
    """The process environment over the values of `.env` (the environment wins, as with docker and systemd)."""
    from dotenv import dotenv_values

    path = os.environ.get("SYNCAPI_DOTENV", ".env")
    values = {k: v for k, v in dotenv_values(path).items() if v is not None} if os.path.exists(path) else {}
    values.update(os.environ)
    return values


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from the environment; on a bad or missing one, print its one line and exit with code 3.

    With `overrides` (tests, `create_app(config)`), a bad setting raises `SettingsError` instead.
    """
    try:
        return Settings.from_env(overrides=overrides)
    except SettingsError as exc:
        if overrides is not None:
            raise
        print(f"syncapi: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
