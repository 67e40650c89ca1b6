"""Tier prices through Magento's efficient price API, as `Magento\\Catalog\\Model\\Product\\Price\\TierPriceStorage`
keeps them: one entry per SKU, website, customer group and quantity.

`POST /V1/products/tier-prices` adds or updates entries, `PUT` replaces every tier price of the SKUs it names,
`tier-prices-delete` removes entries, `tier-prices-information` reads them. The writes answer 200 with a list of
the rows refused (`TierPriceValidator`): an unknown SKU, a price below 0, a quantity not above 0, a price type
other than `fixed` / `discount`, an unknown website, or a customer group whose code Magento does not have
(compared without case; `ALL GROUPS` means every group). Refused rows change nothing; the others are applied.
"""

from __future__ import annotations

from sandbox.catalog.prices import existing_skus
from sandbox.catalog.products import PRICED_TYPES
from sandbox.customer_groups import ALL_GROUPS, group_by_code
from sandbox.routing import ACL_PRODUCTS, ROUTER, Call, required_list
from sandbox.state import SandboxState

ROW_ID = "Row ID: SKU = %SKU, Website ID: %websiteId, Customer Group: %customerGroup, Quantity: %qty."
PRICE_TYPES = ("fixed", "discount")


def _failure(message: str, entry: dict, *first: object) -> dict:
    row = [entry.get("sku"), entry.get("website_id"), entry.get("customer_group"), entry.get("quantity")]
    return {"message": f"{message} {ROW_ID}", "parameters": [str(value) for value in (*first, *row)]}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check(state: SandboxState, entry: dict, failures: list) -> dict | None:
    """The entry as Magento stores it (group code in Magento's spelling), or None with its failures added."""
    product = state.products.get(entry.get("sku")) if isinstance(entry.get("sku"), str) else None
    found = len(failures)
    if product is None or product.type_id not in PRICED_TYPES:
        failures.append(_failure("Invalid attribute SKU = %SKU.", entry, entry.get("sku")))
    if not _number(entry.get("price")) or entry["price"] < 0:
        failures.append(_failure("Invalid attribute Price = %price.", entry, entry.get("price")))
    if entry.get("price_type") not in PRICE_TYPES:
        failures.append(_failure("Invalid attribute Price Type = %type.", entry, entry.get("price_type")))
    if not _number(entry.get("quantity")) or entry["quantity"] <= 0:
        failures.append(_failure("Invalid attribute Quantity = %qty.", entry, entry.get("quantity")))
    if entry.get("website_id") not in {view["website_id"] for view in state.store_views}:
        failures.append(_failure("Invalid attribute Website ID = %websiteId.", entry, entry.get("website_id")))
    code = entry.get("customer_group")
    group = ALL_GROUPS if str(code).lower() == ALL_GROUPS else group_by_code(state, str(code or ""))
    if group is None:
        failures.append(_failure("No such entity with Customer Group = %customerGroup.", entry, code))
    if len(failures) > found:
        return None
    stored_group = group if isinstance(group, str) else group["code"]
    return {
        "price": entry["price"],
        "price_type": entry["price_type"],
        "website_id": entry["website_id"],
        "sku": entry["sku"],
        "customer_group": stored_group,
        "quantity": entry["quantity"],
    }


def _key(entry: dict) -> tuple:
    return (entry["sku"], entry["website_id"], str(entry["customer_group"]).lower(), float(entry["quantity"]))


def _valid(state: SandboxState, call: Call) -> tuple[list[dict], list[dict]]:
    failures: list[dict] = []
    rows = []
    for entry in required_list(call.body, "prices"):
        if not isinstance(entry, dict):
            continue
        row = _check(state, entry, failures)
        if row is not None:
            rows.append(row)
    return rows, failures


def _write(state: SandboxState, call: Call, *, replace: bool) -> list[dict]:
    rows, failures = _valid(state, call)
    if replace:
        skus = {row["sku"] for row in rows}
        state.tier_prices = [e for e in state.tier_prices if e["sku"] not in skus]
    written = {_key(row): row for row in rows}  # a row given twice: the last one counts
    state.tier_prices = [e for e in state.tier_prices if _key(e) not in written] + list(written.values())
    return failures


@ROUTER.route("POST", "/V1/products/tier-prices", ACL_PRODUCTS)
def update_tier_prices(state: SandboxState, call: Call):
    return _write(state, call, replace=False)


@ROUTER.route("PUT", "/V1/products/tier-prices", ACL_PRODUCTS)
def replace_tier_prices(state: SandboxState, call: Call):
    return _write(state, call, replace=True)


@ROUTER.route("POST", "/V1/products/tier-prices-delete", ACL_PRODUCTS)
def delete_tier_prices(state: SandboxState, call: Call):
    rows, failures = _valid(state, call)
    gone = {_key(row) for row in rows}
    state.tier_prices = [e for e in state.tier_prices if _key(e) not in gone]
    return failures


@ROUTER.route("POST", "/V1/products/tier-prices-information", ACL_PRODUCTS)
def tier_price_information(state: SandboxState, call: Call):
    skus = existing_skus(state, call)
    return [dict(e) for e in state.tier_prices if e["sku"] in skus]
