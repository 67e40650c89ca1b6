"""Magento's efficient price APIs: base prices and special prices, answered with a list of per-entry failures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox import seed
from sandbox.catalog.products import PRICED_TYPES
from sandbox.errors import MagentoHttpError
from sandbox.routing import ACL_PRODUCTS, ROUTER, Call, required_list
from sandbox.state import SandboxState

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
INVALID_PRICE_ATTRIBUTE = "Invalid attribute %fieldName = %fieldValue."


def _price_failure(message: str, parameters: list) -> dict:
    return {"message": message, "parameters": [str(p) for p in parameters]}


def _check_price_entry(state: SandboxState, entry: dict, failures: list) -> bool:
    sku = entry.get("sku")
    product = state.products.get(sku) if isinstance(sku, str) else None
    ok = True
    if product is None or product.type_id not in PRICED_TYPES:
        failures.append(_price_failure(INVALID_PRICE_ATTRIBUTE, ["SKU", sku]))
        ok = False
    price = entry.get("price")
    if not isinstance(price, int | float) or isinstance(price, bool) or price < 0:
        failures.append(_price_failure(INVALID_PRICE_ATTRIBUTE, ["Price", price]))
        ok = False
    if entry.get("store_id") not in {view["id"] for view in state.store_views}:
        failures.append(
            _price_failure(
                "Requested store is not found. Row ID: SKU = %SKU, Store ID: %storeId.", [sku, entry.get("store_id")]
            )
        )
        ok = False
    return ok


@ROUTER.route("POST", "/V1/products/base-prices", ACL_PRODUCTS)
def update_base_prices(state: SandboxState, call: Call):
    failures: list[dict] = []
    for entry in required_list(call.body, "prices"):
        if isinstance(entry, dict) and _check_price_entry(state, entry, failures):
            product = state.products[entry["sku"]]
            # The price attribute has global scope by default: every store id writes the global value.
            product.values["all"]["price"] = entry["price"]
            state.base_prices[(entry["sku"], 0)] = entry["price"]
            product.updated_at = seed.now()
    return failures


def _valid_date(value: Any) -> bool:
    try:
        datetime.strptime(str(value), DATE_FORMAT)
    except ValueError:
        return False
    return True


def _sync_special_price(state: SandboxState, sku: str) -> None:
    entries = [e for e in state.special_prices if e["sku"] == sku]
    values = state.products[sku].values["all"]
    if entries:
        latest = entries[-1]
        values["special_price"] = latest["price"]
        values["special_from_date"] = latest["price_from"]
        values["special_to_date"] = latest.get("price_to")
    else:
        for code in ("special_price", "special_from_date", "special_to_date"):
            values.pop(code, None)


def _special_key(entry: dict) -> tuple:
    return (entry.get("sku"), entry.get("store_id"), entry.get("price_from"), entry.get("price_to"))


@ROUTER.route("POST", "/V1/products/special-price", ACL_PRODUCTS)
def update_special_prices(state: SandboxState, call: Call):
    failures: list[dict] = []
    for entry in required_list(call.body, "prices"):
        if not isinstance(entry, dict) or not _check_price_entry(state, entry, failures):
            continue
        dates_ok = True
        for name, label in (("price_from", "Price From"), ("price_to", "Price To")):
            if entry.get(name) not in (None, "") and not _valid_date(entry[name]):
                failures.append(_price_failure(INVALID_PRICE_ATTRIBUTE, [label, entry[name]]))
                dates_ok = False
        if entry.get("price_from") in (None, ""):
            failures.append(_price_failure(INVALID_PRICE_ATTRIBUTE, ["Price From", ""]))
            dates_ok = False
        if not dates_ok:
            continue
        stored = {
            "sku": entry["sku"],
            "store_id": entry["store_id"],
            "price": entry["price"],
            "price_from": entry["price_from"],
            "price_to": entry.get("price_to") or None,
        }
        # Open Source keeps one special price per product and store view (the `special_price`,
        # `special_from_date` and `special_to_date` values): a new entry replaces the one there.
        state.special_prices = [
            e for e in state.special_prices if (e["sku"], e["store_id"]) != (stored["sku"], stored["store_id"])
        ]
        state.special_prices.append(stored)
        _sync_special_price(state, entry["sku"])
    return failures


@ROUTER.route("POST", "/V1/products/special-price-delete", ACL_PRODUCTS)
def delete_special_prices(state: SandboxState, call: Call):
    failures: list[dict] = []
    for entry in required_list(call.body, "prices"):
        if not isinstance(entry, dict) or not _check_price_entry(state, entry, failures):
            continue
        key = (entry["sku"], entry["store_id"], entry.get("price_from"), entry.get("price_to") or None)
        state.special_prices = [e for e in state.special_prices if _special_key(e) != key]
        _sync_special_price(state, entry["sku"])
    return failures


def existing_skus(state: SandboxState, call: Call) -> list:
    """The body's `skus`, or Magento's 404 naming those it does not have (the price APIs' reads)."""
    skus = required_list(call.body, "skus")
    missing = [str(sku) for sku in skus if sku not in state.products]
    if missing:
        raise MagentoHttpError(404, "Requested products don't exist: %sku", {"sku": ", ".join(missing)})
    return skus


@ROUTER.route("POST", "/V1/products/special-price-information", ACL_PRODUCTS)
def special_price_information(state: SandboxState, call: Call):
    skus = existing_skus(state, call)
    # Like Magento's output processor, leave out values that are not set (an open-ended `price_to`).
    return [{k: v for k, v in e.items() if v is not None} for e in state.special_prices if e["sku"] in skus]
