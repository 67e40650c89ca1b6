"""What a stock check run found apart (`sync_run_differences`): one row per SKU and source where Magento's
quantity is not the POS's buffered quantity. Every difference is kept (the report must be complete); they go
with their run (`run_history.delete_run`, `prune_runs`, and a retried attempt starts without them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, func, insert, select

from syncapi.state._sql import clip
from syncapi.state.models import KEY_LENGTH, RunDifferenceRow

_DIFFERENCES = RunDifferenceRow.__table__


@dataclass(frozen=True)
class Difference:
    """One source item the POS and Magento disagree on: the POS's buffered quantity and Magento's."""

    sku: str
    source: str
    pos: Decimal
    magento: Decimal


def add_differences(engine: Engine, run_id: int, differences: Iterable[Difference]) -> int:
    """Record differences of the run in one transaction; how many."""
    rows = [
        {
            "run_id": run_id,
            "sku": clip(d.sku, KEY_LENGTH),
            "source": clip(d.source, KEY_LENGTH),
            "pos": Decimal(d.pos),
            "magento": Decimal(d.magento),
        }
        for d in differences
    ]
    if rows:
        with engine.begin() as connection:
            connection.execute(insert(_DIFFERENCES), rows)
    return len(rows)


def get_differences(engine: Engine, run_id: int) -> list[Difference]:
    """The run's differences, by SKU then source."""
    query = (
        select(_DIFFERENCES.c.sku, _DIFFERENCES.c.source, _DIFFERENCES.c.pos, _DIFFERENCES.c.magento)
        .where(_DIFFERENCES.c.run_id == run_id)
        .order_by(_DIFFERENCES.c.sku, _DIFFERENCES.c.source)
    )
    with engine.connect() as connection:
        return [
            Difference(sku, source, Decimal(pos), Decimal(magento))
            for sku, source, pos, magento in connection.execute(query)
        ]


def count_differences(engine: Engine, run_id: int) -> int:
    """How many differences the run recorded."""
    query = select(func.count()).select_from(_DIFFERENCES).where(_DIFFERENCES.c.run_id == run_id)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())
