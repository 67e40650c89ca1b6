"""Settings: read once from the environment (and `.env`), validated, frozen.

Every setting of the outside contract is here with its default. A missing required setting raises
`SettingsError` whose message is one line naming it; the process entry points print that line and exit.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

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

MAGENTO_AUTH_OAUTH1 = "oauth1"
MAGENTO_AUTH_BEARER = "bearer"


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


def _setting(env: str, default: Any = None, parse: Callable[[str], Any] = _text, doc: str = "") -> Any:
    return dataclasses.field(default=default, metadata={"env": env, "parse": parse, "doc": doc})


@dataclasses.dataclass(frozen=True)
class Settings:
    """The service's settings; build with `Settings.from_env()`."""

    # Contract settings (CONTRACT §2).
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
    webhook_secret: str | None = _setting("WEBHOOK_SECRET")
    api_token: str | None = _setting("API_TOKEN")
    dashboard_user: str | None = _setting("DASHBOARD_USER")
    dashboard_password: str | None = _setting("DASHBOARD_PASSWORD")
    order_write_states: tuple[str, ...] = _setting("ORDER_WRITE_STATES", ("complete",), _csv)
    sync_interval_products_s: int = _setting("SYNC_INTERVAL_PRODUCTS", 900, _int)
    sync_interval_prices_s: int = _setting("SYNC_INTERVAL_PRICES", 900, _int)
    sync_interval_categories_s: int = _setting("SYNC_INTERVAL_CATEGORIES", 900, _int)
    sync_interval_customers_s: int = _setting("SYNC_INTERVAL_CUSTOMERS", 900, _int)
    sync_interval_stock_s: int = _setting("SYNC_INTERVAL_STOCK", 300, _int)
    product_create_only_fields: tuple[str, ...] = _setting("PRODUCT_CREATE_ONLY_FIELDS", (), _csv)
    push_inactive_products: bool = _setting("PUSH_INACTIVE_PRODUCTS", False, _bool)
    reconcile_interval_s: int = _setting("RECONCILE_INTERVAL", 600, _int)
    pos_currency: str | None = _setting("POS_CURRENCY", None, _currency_code)

    # The service's own settings (documented in the README).
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
        return settings._with_development_defaults()._validated()

    @property
    def development(self) -> bool:
        """True under `make run` (SYNCAPI_ENV=development): dev secrets and an open dashboard are allowed."""
        return self.env == ENV_DEVELOPMENT

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

    def _validated(self) -> Settings:
        required = ["magento_base_url", "webhook_secret", "api_token"]
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
                raise SettingsError(f"missing required setting {env_name(name)}")
        if not self.magento_base_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"setting MAGENTO_BASE_URL must start with http:// or https://, got {self.magento_base_url!r}"
            )
        if bool(self.dashboard_user) != bool(self.dashboard_password):
            raise SettingsError("settings DASHBOARD_USER and DASHBOARD_PASSWORD must be given together")
        for name in (
            "magento_batch_size",
            "magento_page_size",
            "magento_concurrency",
            "worker_ttl_s",
            "worker_maintenance_interval_s",
        ):
            if getattr(self, name) < 1:
                raise SettingsError(f"setting {env_name(name)} must be 1 or more")
        return self

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


def _environment_with_dotenv() -> dict[str, str]:
    """The process environment over the values of `.env` (the environment wins, as with docker and systemd)."""
    from dotenv import dotenv_values

    path = os.environ.get("SYNCAPI_DOTENV", ".env")
    values = {k: v for k, v in dotenv_values(path).items() if v is not None} if os.path.exists(path) else {}
    values.update(os.environ)
    return values
