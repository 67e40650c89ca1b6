"""Stock drift check: Magento's source items against the POS's buffered quantities, writing nothing.

Every POS product Magento has (or the SKUs asked for) is compared at every STOCK_SOURCES source Magento has:
the POS side is what the stock push would send (max(0, on-hand - STOCK_BUFFER), 0 without a stock row), the
Magento side the source item's `quantity`, read with `GET /V1/inventory/source-items` (one search per batch
of SKUs, paginated); a source item Magento does not have counts as 0. Each source item where the two differ
is stored with the run (`syncapi.state.differences`); a SKU where all agree is counted `unchanged`. Products
the service has not put in Magento are left out (the product push sends their stock when it creates them).
Nothing is written to Magento, and no hash or watermark moves.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from syncapi.magento import inventory
from syncapi.outbound.context import READ_BATCH, PushContext
from syncapi.outbound.delta import PosRecords, Reader, known_products
from syncapi.outbound.stock import SkuStock, stock_of, usable_sources, web_quantity
from syncapi.state.differences import Difference, add_differences

KIND = "stock"
#: SKUs named in one source-items search (they travel in the URL).
SKUS_PER_SEARCH = 100
NOT_A_NUMBER = "Magento's source item quantity is not a number"

#: Told how many POS products were compared (or skipped) after each batch.
Progress = Callable[[int], None]


def check_stock(ctx: PushContext, *, keys: list[str] | None = None, progress: Progress | None = None) -> int:
    """Compare the stock of every POS product (or of `keys`) with Magento's source items; how many differ."""
    gateway = ctx.gateway
    records = PosRecords(
        gateway.changed_prices,
        gateway.get_prices,
        key_of=lambda price: price.sku,
        count=gateway.count_products,
        noun="products",
        missing="no such product in the POS",
    )
    reader = Reader(
        records,
        after=None,
        keys=keys,
        retry=[],
        batch_size=READ_BATCH,
        refuse=lambda price, problem: ctx.tally.refused(price.sku, problem),
    )
    sources = usable_sources(ctx)
    seen: set[str] = set()
    found = 0
    for batch in reader.batches():
        skus = [price.sku for price in batch]
        seen.update(skus)
        found += _compare(ctx, skus, sources)
        if progress is not None:
            progress(len(skus))
    for key in keys or ():
        if key not in seen and not ctx.tally.counted(key):
            ctx.tally.failed(key, records.missing)
    return found


def _compare(ctx: PushContext, skus: list[str], sources: dict[str, str]) -> int:
    known = set(known_products(ctx.state_engine, skus))
    stocks = stock_of(ctx, [sku for sku in skus if sku in known])
    if not stocks or not sources:
        for stock in stocks:
            ctx.tally.unchanged(stock.sku)
        return 0
    magento = _magento_quantities(ctx, [stock.sku for stock in stocks], list(sources.values()))
    differences = []
    for stock in stocks:
        apart = _differences(ctx, stock, sources, magento)
        if apart is None:
            continue
        if apart:
            differences.extend(apart)
        else:
            ctx.tally.unchanged(stock.sku)
    return add_differences(ctx.state_engine, ctx.recorder.run_id, differences)


def _differences(
    ctx: PushContext, stock: SkuStock, sources: dict[str, str], magento: dict[tuple[str, str], object]
) -> list[Difference] | None:
    """Where `stock` and Magento disagree; None when Magento's side cannot be read (failed in the run)."""
    found = []
    for location, source in sources.items():
        pos = web_quantity(ctx.settings, location, stock.at(location))
        raw = magento.get((stock.sku, source), 0)
        try:
            theirs = Decimal(str(raw))
        except InvalidOperation:
            ctx.tally.failed(stock.sku, f"{NOT_A_NUMBER} at {source!r}: {raw!r}")
            return None
        if not theirs.is_finite():
            ctx.tally.failed(stock.sku, f"{NOT_A_NUMBER} at {source!r}: {raw!r}")
            return None
        if theirs != pos:
            found.append(Difference(stock.sku, source, pos, theirs))
    return found


def _magento_quantities(ctx: PushContext, skus: list[str], sources: list[str]) -> dict[tuple[str, str], object]:
    """Magento's source item quantities of `skus` at `sources`, by (SKU, source); SKUS_PER_SEARCH at a time,
    so the search's query string stays short."""
    found: dict[tuple[str, str], object] = {}
    for start in range(0, len(skus), SKUS_PER_SEARCH):
        for item in inventory.source_items_at(ctx.client, skus[start : start + SKUS_PER_SEARCH], sources):
            found[(str(item.get("sku")), str(item.get("source_code")))] = item.get("quantity")
    return found
