"""An order's items → sale lines in the base currency: configurable products, bundles (fixed-price bundles'
amounts shared among their children), virtual items, canceled and invoiced quantities (docs/money.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from syncapi.inbound.mappers.amounts import CENT, base_amount, cents
from syncapi.inbound.mappers.values import PRODUCT_TYPE_BUNDLE, MappingError, is_true, item_key, money, text_of
from syncapi.pos.gateway import SaleLineIn

#: Product types whose order items carry no stock: Magento's `is_virtual` says the same per item.
VIRTUAL_PRODUCT_TYPES = frozenset({"virtual", "downloadable"})
UNIT_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class _Figures:
    """An order item's base-currency amounts for the quantity sold (canceled quantities taken out)."""

    qty: Decimal
    gross: Decimal
    discount: Decimal
    tax: Decimal
    compensation: Decimal
    tax_percent: Decimal

    @property
    def total(self) -> Decimal:
        return self.gross - self.discount + self.tax + self.compensation


def _item_figures(item: Mapping[str, Any], where: str, same: bool) -> _Figures:
    """The item's gross (base price x qty), discount, tax and discount tax compensation, from fields that mean
    one thing only; `base_row_total` is checked against them, as stores differ in whether it is net of the
    discount."""

    def amount(name: str, base_name: str | None = None) -> Decimal:
        return base_amount(item, name, where, same=same, base_name=base_name)

    ordered = money(item.get("qty_ordered"), f"{where} qty_ordered")
    canceled = money(item.get("qty_canceled"), f"{where} qty_canceled")
    price = amount("price")
    discount = abs(amount("discount_amount"))
    tax = amount("tax_amount")
    compensation = amount("discount_tax_compensation_amount")
    expected = cents(price * ordered)
    gross = expected
    net_rows = False
    if item.get("base_row_total") is not None or (same and item.get("row_total") is not None):
        row = amount("row_total")
        # Unit prices are rounded, rows are not: allow a cent per unit (tax-inclusive catalogues work back from
        # the price with tax).
        slack = CENT * max(Decimal(1), ordered)
        if abs(row - expected) <= slack:
            gross = row
        elif discount and abs(row + discount - expected) <= slack:
            gross, net_rows = row + discount, True  # the store's row total is already net of the discount
        else:
            raise MappingError(
                f"{where}: row total {cents(row)} is neither price {price} x qty {ordered} = {expected} nor that"
                f" less the discount {cents(discount)}"
            )
    sold = ordered - canceled
    if ordered > 0 and canceled > 0:  # partly canceled: what was sold is what was invoiced
        invoiced = _invoiced_figures(item, where, same, sold)
        if invoiced is not None:
            gross, discount, tax, compensation = invoiced
            if net_rows:
                gross += discount
        else:  # no invoiced amounts given: the row's amounts shrink with the quantity sold
            share = sold / ordered
            gross, discount, tax, compensation = (cents(v * share) for v in (gross, discount, tax, compensation))
    tax_percent = money(item.get("tax_percent"), f"{where} tax_percent")
    return _Figures(sold, gross, discount, tax, compensation, tax_percent)


def _invoiced_figures(
    item: Mapping[str, Any], where: str, same: bool, sold: Decimal
) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
    """The item's invoiced row, discount, tax and discount tax compensation (`base_row_invoiced`, ...) when its
    invoiced quantity is the quantity sold, else None.

    Magento cancels only what was not invoiced (`Magento\\Sales\\Model\\Order\\Item::getQtyToCancel`), and
    each invoice rounds its share of the item's amounts on its own, the last taking the remainder
    (`app/code/Magento/Sales/Model/Order/Invoice/Total/*.php`); the order's `*_invoiced` sums of them are what
    the customer paid for the item, to the cent, where sharing the item's amounts by quantity can be a cent off.
    """
    if item.get("base_row_invoiced") in (None, "") or money(item.get("qty_invoiced"), f"{where} qty_invoiced") != sold:
        return None

    def amount(name: str) -> Decimal:
        return base_amount(item, name, where, same=same)

    return (
        amount("row_invoiced"),
        abs(amount("discount_invoiced")),
        amount("tax_invoiced"),
        amount("discount_tax_compensation_invoiced"),
    )


def _is_virtual(item: Mapping[str, Any]) -> bool:
    return is_true(item.get("is_virtual")) or text_of(item.get("product_type")).lower() in VIRTUAL_PRODUCT_TYPES


def _line(sku: str, figures: _Figures, *, stock: bool) -> SaleLineIn:
    unit_price = (figures.gross / figures.qty).quantize(UNIT_PLACES, rounding=ROUND_HALF_UP)
    return SaleLineIn(
        sku=sku,
        qty=figures.qty,
        unit_price=unit_price,
        line_total=figures.total,
        discount=figures.discount,
        tax=figures.tax,
        tax_percent=figures.tax_percent,
        stock=stock,
    )


def _sku(item: Mapping[str, Any], where: str) -> str:
    sku = text_of(item.get("sku"))
    if not sku:
        raise MappingError(f"{where} has no SKU")
    return sku


def _is_fixed_bundle(parent: Mapping[str, Any], children: Sequence[Mapping[str, Any]]) -> bool:
    """A fixed-price bundle: its children carry no prices of their own (the bundle item carries them)."""
    if text_of(parent.get("product_type")).lower() != PRODUCT_TYPE_BUNDLE:
        return False
    for child in children:
        for name in ("base_price", "price", "base_row_total", "row_total"):
            try:
                if money(child.get(name), name) != 0:
                    return False
            except MappingError:
                return False
    return True


def fixed_bundle_skus(order: Mapping[str, Any]) -> list[str]:
    """SKUs of the children of the order's fixed-price bundles: their POS retail prices share the bundle's."""
    items = [item for item in order.get("items") or [] if isinstance(item, Mapping)]
    children = _children_by_parent(items)
    skus: set[str] = set()
    for item in items:
        kids = children.get(item_key(item.get("item_id")), [])
        if kids and _is_fixed_bundle(item, kids):
            skus.update(text_of(kid.get("sku")) for kid in kids if text_of(kid.get("sku")))
    return sorted(skus)


def _children_by_parent(items: Sequence[Mapping[str, Any]]) -> dict[object, list[Mapping[str, Any]]]:
    children: dict[object, list[Mapping[str, Any]]] = {}
    for item in items:
        parent = item_key(item.get("parent_item_id"))
        if parent is not None:
            children.setdefault(parent, []).append(item)
    return children


def _shares(total: Decimal, weights: Sequence[Decimal], caps: Sequence[Decimal] | None = None) -> list[Decimal]:
    """`total` split in proportion to `weights` (equal shares when they are all 0), each rounded down to the cent
    and the last taking the remainder, so the shares add up to `total` exactly and none is negative. With
    `caps` (which add up to at least `total`), no share exceeds its cap: what would is moved to earlier shares
    with room (a line's discount never exceeds what the line is worth)."""
    if sum(weights) <= 0:
        weights = [Decimal(1)] * len(weights)
    whole = sum(weights)
    shares = [(total * weight / whole).quantize(CENT, rounding=ROUND_DOWN) for weight in weights[:-1]]
    if caps is not None:
        shares = [min(share, cap) for share, cap in zip(shares, caps, strict=False)]
    shares.append(total - sum(shares, Decimal(0)))
    if caps is not None and shares[-1] > caps[-1]:
        excess, shares[-1] = shares[-1] - caps[-1], caps[-1]
        for n in range(len(shares) - 1):
            moved = min(excess, caps[n] - shares[n])
            shares[n] += moved
            excess -= moved
    return shares


def _bundle_lines(
    parent: Mapping[str, Any],
    kids: Sequence[Mapping[str, Any]],
    where: str,
    same: bool,
    retail_prices: Mapping[str, Decimal],
) -> list[SaleLineIn]:
    """A fixed-price bundle's children as lines sharing the bundle's amounts by their POS retail prices."""
    figures = _item_figures(parent, where, same)
    if figures.qty <= 0:
        return []
    kid_qty = []
    for kid in kids:
        kid_where = f"{where} child {kid.get('item_id')}"
        qty = money(kid.get("qty_ordered"), f"{kid_where} qty_ordered") - money(
            kid.get("qty_canceled"), f"{kid_where} qty_canceled"
        )
        kid_qty.append((_sku(kid, kid_where), qty, kid))
    kid_qty = [(sku, qty, kid) for sku, qty, kid in kid_qty if qty > 0]
    if not kid_qty:
        return []
    prices = [retail_prices.get(sku) for sku, _, _ in kid_qty]
    weights = (
        [price * qty for price, (_, qty, _) in zip(prices, kid_qty, strict=True)]
        if all(price is not None and price > 0 for price in prices)
        else [Decimal(1)] * len(kid_qty)
    )
    parts = {name: _shares(getattr(figures, name), weights) for name in ("gross", "tax", "compensation")}
    # A discount on tax-inclusive prices can exceed the gross without tax; never what a line is worth with it.
    worth = [sum(values) for values in zip(parts["gross"], parts["tax"], parts["compensation"], strict=True)]
    parts["discount"] = _shares(figures.discount, weights, caps=worth)
    return [
        _line(
            sku,
            _Figures(
                qty,
                parts["gross"][n],
                parts["discount"][n],
                parts["tax"][n],
                parts["compensation"][n],
                figures.tax_percent,
            ),
            stock=not _is_virtual(kid),
        )
        for n, (sku, qty, kid) in enumerate(kid_qty)
    ]


def sale_lines(
    items: Sequence[Mapping[str, Any]],
    order_number: object = None,
    *,
    same: bool = True,
    retail_prices: Mapping[str, Decimal] | None = None,
) -> tuple[SaleLineIn, ...]:
    """The sale lines of an order's `items`, in the base currency (docs/money.md).

    - A configurable product is a parent item carrying the amounts and one simple child carrying the variant's
      SKU: one line, the child's SKU at the parent's amounts.
    - A dynamic-price bundle's children carry their own amounts: a line each; the bundle item is no line.
    - A fixed-price bundle's children carry none: the bundle's amounts are shared among them in proportion to
      their POS retail prices x quantities (`retail_prices`; equal shares unless every child has one), each
      share rounded down to the cent and the last taking the remainder.
    - Virtual and downloadable items are lines that lower no stock; unknown product types are plain lines.
    - Canceled quantities are not sold. `parent_item_id` may come as a number or as digits in a string.
    """
    retail_prices = retail_prices or {}
    by_id = {item_key(item.get("item_id")): item for item in items if item_key(item.get("item_id")) is not None}
    children = _children_by_parent(items)
    lines: list[SaleLineIn] = []
    for item in items:
        key = item_key(item.get("item_id"))
        where = f"order {order_number} item {item.get('item_id')}"
        parent_key = item_key(item.get("parent_item_id"))
        if parent_key is not None and parent_key in by_id:
            continue  # a child: written with its parent below
        parent = item.get("parent_item") if parent_key is not None else None
        if isinstance(parent, Mapping) and text_of(parent.get("product_type")).lower() != PRODUCT_TYPE_BUNDLE:
            # Only the child was given, its parent nested in it: the parent's amounts stand for the child's.
            figures = _item_figures(parent, where, same)
            if figures.qty > 0:
                lines.append(_line(_sku(item, where), figures, stock=not _is_virtual(item)))
            continue
        kids = children.get(key, []) if key is not None else []
        if not kids:
            figures = _item_figures(item, where, same)
            if figures.qty > 0:
                lines.append(_line(_sku(item, where), figures, stock=not _is_virtual(item)))
        elif _is_fixed_bundle(item, kids):
            lines += _bundle_lines(item, kids, where, same, retail_prices)
        elif len(kids) == 1 and text_of(item.get("product_type")).lower() != PRODUCT_TYPE_BUNDLE:
            (kid,) = kids
            figures = _item_figures(item, where, same)
            if figures.qty > 0:
                lines.append(_line(_sku(kid, where), figures, stock=not (_is_virtual(kid) or _is_virtual(item))))
        else:
            for kid in kids:  # a dynamic bundle (or any parent of several children): each child its own line
                kid_where = f"order {order_number} item {kid.get('item_id')}"
                figures = _item_figures(kid, kid_where, same)
                if figures.qty > 0:
                    lines.append(_line(_sku(kid, kid_where), figures, stock=not _is_virtual(kid)))
    if not lines:
        raise MappingError(f"order {order_number} has no items left to sell")
    return tuple(lines)
