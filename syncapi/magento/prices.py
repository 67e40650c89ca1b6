"""Base and special prices through Magento's list endpoints (one request per batch, not per product).

Each answers 200 with a list of the entries it could not apply (`{"message", "parameters"}`), so the
functions here return those, messages filled in, as `PriceFailure`s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from syncapi.magento.client import MagentoClient
from syncapi.magento.errors import format_message

BASE_PRICES = "/V1/products/base-prices"
SPECIAL_PRICES = "/V1/products/special-price"
SPECIAL_PRICES_DELETE = "/V1/products/special-price-delete"
SPECIAL_PRICES_INFORMATION = "/V1/products/special-price-information"
#: Store id 0 = the global (admin) value, the only one with the default price scope.
GLOBAL_STORE_ID = 0


@dataclass(frozen=True)
class PriceFailure:
    """An entry Magento did not apply: its message, placeholders filled, and the raw parameters."""

    message: str
    parameters: list | dict


def base_price(sku: str, price: float, store_id: int = GLOBAL_STORE_ID) -> dict:
    """A base-price entry."""
    return {"sku": sku, "price": price, "store_id": store_id}


def special_price(
    sku: str, price: float, price_from: str, price_to: str | None = None, store_id: int = GLOBAL_STORE_ID
) -> dict:
    """A special-price entry; dates are `YYYY-MM-DD HH:MM:SS`, `price_to` None = open-ended."""
    entry = {"sku": sku, "price": price, "store_id": store_id, "price_from": price_from}
    if price_to is not None:
        entry["price_to"] = price_to
    return entry


def update_base_prices(client: MagentoClient, prices: Iterable[dict]) -> list[PriceFailure]:
    """Set base prices (see `base_price`) in batches; the entries Magento refused."""
    return _failures(client.send_in_batches(BASE_PRICES, "prices", prices))


def update_special_prices(client: MagentoClient, prices: Iterable[dict]) -> list[PriceFailure]:
    """Add or replace special prices (see `special_price`) in batches; the entries Magento refused."""
    return _failures(client.send_in_batches(SPECIAL_PRICES, "prices", prices))


def delete_special_prices(client: MagentoClient, prices: Iterable[dict]) -> list[PriceFailure]:
    """Remove special prices (the entries as read by `special_prices`); the entries Magento refused."""
    entries = ({key: value for key, value in entry.items() if value is not None} for entry in prices)
    return _failures(client.send_in_batches(SPECIAL_PRICES_DELETE, "prices", entries))


def special_prices(client: MagentoClient, skus: Iterable[str]) -> list[dict]:
    """The special prices stored for `skus`."""
    found: list[dict] = []
    for answer in client.send_in_batches(SPECIAL_PRICES_INFORMATION, "skus", skus):
        found.extend(answer or [])
    return found


def _failures(answers: list) -> list[PriceFailure]:
    return [
        PriceFailure(format_message(item.get("message", ""), item.get("parameters")), item.get("parameters") or [])
        for answer in answers
        for item in answer or []
    ]
