"""Values as Magento writes them: timestamps, amounts, entity ids, text and flags, and the error a record that
lacks what the POS needs raises."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

#: How Magento writes `created_at`/`updated_at`: UTC without a zone (OCA/connector-magento #181, #249).
MAGENTO_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: The configurable product type: its order item is a parent whose one child carries the variant's SKU.
PRODUCT_TYPE_CONFIGURABLE = "configurable"
PRODUCT_TYPE_BUNDLE = "bundle"


class MappingError(ValueError):
    """A Magento record lacks what the POS needs, or holds something it cannot take (permanent)."""


def parse_magento_time(value: object, what: str = "time") -> datetime | None:
    """A Magento timestamp (`YYYY-MM-DD HH:MM:SS`, UTC) as an aware UTC datetime; None stays None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MappingError(f"{what} must be a Magento timestamp, got {value!r}")
    text = value.strip()
    try:
        moment = datetime.strptime(text, MAGENTO_TIME_FORMAT)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise MappingError(f"{what} is not a Magento timestamp (YYYY-MM-DD HH:MM:SS): {value!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_magento_time(moment: datetime) -> str:
    """`moment` the way Magento writes and filters timestamps: `YYYY-MM-DD HH:MM:SS` in UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(MAGENTO_TIME_FORMAT)


def money(value: object, what: str) -> Decimal:
    """A Magento amount as an exact Decimal (None and "" are 0)."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise MappingError(f"{what} must be a number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise MappingError(f"{what} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise MappingError(f"{what} must be a finite number, got {value!r}")
    return number


def magento_id(value: object, what: str) -> int:
    """A Magento entity id (a positive whole number, possibly sent as digits in a string)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MappingError(f"{what} must be a positive whole number, got {value!r}")
    return value


def optional_id(value: object, what: str) -> int | None:
    return None if value in (None, "", 0, "0") else magento_id(value, what)


def text_of(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def is_true(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


def item_key(value: object) -> object:
    """An item id as a number whether Magento (or a connector re-serialising it) sent 16 or "16"."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if value not in ("", None) else None
