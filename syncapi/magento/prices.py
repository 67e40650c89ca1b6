"""Base and special prices through Magento's list endpoints (one request per batch, not per product).

Each answers 200 with a list of the entries it could not apply (`{"message", "parameters"}`), so the
functions here return those, messages filled in, as `PriceFailure`s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from syncapi.magento.client import MagentoClient, batches
from syncapi.magento.errors import format_message
from syncapi.magento.writes import Batching, outcome_of, send_entries

BASE_PRICES = "/V1/products/base-prices"
SPECIAL_PRICES = "/V1/products/special-price"
SPECIAL_PRICES_DELETE = "/V1/products/special-price-delete"
SPECIAL_PRICES_INFORMATION = "/V1/products/special-price-information"
TIER_PRICES = "/V1/products/tier-prices"
TIER_PRICES_DELETE = "/V1/products/tier-prices-delete"
TIER_PRICES_INFORMATION = "/V1/products/tier-prices-information"
#: Store id 0 = the global (admin) value, the only one with the default price scope.
GLOBAL_STORE_ID = 0
#: Website 0 = every website: with the default (global) price scope, the only one tier prices take.
ALL_WEBSITES = 0
#: What the tier-price API takes for a price for every customer group (compared without case).
ALL_GROUPS = "ALL GROUPS"


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


def set_base_prices(client: MagentoClient, entries: list[dict], batching: Batching) -> dict[str, str]:
    """Set base prices (see `base_price`) batch by batch; the SKUs that failed, with why."""
    return send_entries(client, BASE_PRICES, "prices", entries, "set base price", batching)


def set_special_prices(client: MagentoClient, entries: list[dict], batching: Batching) -> dict[str, str]:
    """Add or replace special prices (see `special_price`) batch by batch; the SKUs that failed, with why."""
    return send_entries(client, SPECIAL_PRICES, "prices", entries, "set special price", batching)


def remove_special_prices(client: MagentoClient, entries: list[dict], batching: Batching) -> dict[str, str]:
    """Remove special prices (entries as read by `read_special_prices`); the SKUs that failed, with why."""
    return send_entries(client, SPECIAL_PRICES_DELETE, "prices", entries, "remove special price", batching)


def read_special_prices(
    client: MagentoClient, skus: list[str], batching: Batching
) -> tuple[list[dict], dict[str, str]]:
    """The special prices Magento holds for `skus` (as entries to delete), and the SKUs that could not be read."""
    return _read_by_skus(client, SPECIAL_PRICES_INFORMATION, skus, batching, "read special prices")


def _read_by_skus(
    client: MagentoClient, path: str, skus: list[str], batching: Batching, action: str
) -> tuple[list[dict], dict[str, str]]:
    if not skus:
        return [], {}
    found: list[dict] = []
    failed: dict[str, str] = {}
    chunks = list(batches(skus, batching.size))

    def read(chunk: list[str]):
        return outcome_of(action, lambda: _information(client, path, chunk))

    outcomes = batching.map(read, chunks)
    batching.check(outcomes)
    for chunk, outcome in zip(chunks, outcomes, strict=True):
        if outcome.ok:
            found.extend(outcome.result)
            continue
        if outcome.transient or len(chunk) == 1:
            failed.update(dict.fromkeys(chunk, outcome.error or action))
            continue
        # One unknown SKU makes Magento refuse the whole read: read the chunk's SKUs one by one.
        for sku, single in zip(chunk, batching.map(lambda sku: read([sku]), chunk), strict=True):
            if single.ok:
                found.extend(single.result)
            else:
                failed[sku] = single.error or action
    entries = [{key: value for key, value in entry.items() if value is not None} for entry in found]
    return [entry for entry in entries if entry.get("sku") in set(skus)], failed


def _information(client: MagentoClient, path: str, skus: list[str]) -> list[dict]:
    found: list[dict] = []
    for answer in client.send_in_batches(path, "skus", skus):
        found.extend(answer or [])
    return found


def tier_price(sku: str, customer_group: str, quantity: float, price: float) -> dict:
    """A tier-price entry: a fixed price for `customer_group` (a group code, or `ALL_GROUPS`) from `quantity` on."""
    return {
        "sku": sku,
        "price": price,
        "price_type": "fixed",
        "website_id": ALL_WEBSITES,
        "customer_group": customer_group,
        "quantity": quantity,
    }


def replace_tier_prices(client: MagentoClient, entries: list[dict], batching: Batching) -> dict[str, str]:
    """Replace every tier price of the SKUs in `entries` with theirs (`PUT`); the SKUs that failed, with why."""
    return send_entries(client, TIER_PRICES, "prices", entries, "replace tier prices", batching, replace=True)


def remove_tier_prices(client: MagentoClient, entries: list[dict], batching: Batching) -> dict[str, str]:
    """Remove tier prices (entries as read by `read_tier_prices`); the SKUs that failed, with why."""
    return send_entries(client, TIER_PRICES_DELETE, "prices", entries, "remove tier prices", batching)


def read_tier_prices(client: MagentoClient, skus: list[str], batching: Batching) -> tuple[list[dict], dict[str, str]]:
    """The tier prices Magento holds for `skus`, and the SKUs that could not be read."""
    return _read_by_skus(client, TIER_PRICES_INFORMATION, skus, batching, "read tier prices")


def _failures(answers: list) -> list[PriceFailure]:
    return [
        PriceFailure(format_message(item.get("message", ""), item.get("parameters")), item.get("parameters") or [])
        for answer in answers
        for item in answer or []
    ]
