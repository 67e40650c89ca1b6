"""The pricing reads of `SqlPosGateway`: sales that have ended, and `price_levels` by SKU."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select

from syncapi.pos import models as m
from syncapi.pos.pricing import PriceLevel
from syncapi.pos.sql.common import SqlGatewayBase, chunks, database_errors


class PricingReads(SqlGatewayBase):
    """Ended sales and price levels."""

    def ended_sales(self, today: date) -> list[str]:
        products = m.Product.__table__
        query = (
            select(products.c.sku)
            .where(products.c.sale_price.is_not(None), products.c.sale_price_to < today)
            .order_by(products.c.sku)
        )
        with database_errors("read ended sales"), self.engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def get_price_levels(self, skus: Iterable[str]) -> list[PriceLevel]:
        levels = m.PriceLevel.__table__
        found: list[PriceLevel] = []
        with database_errors("read price levels"), self.engine.connect() as connection:
            for chunk in chunks(skus):
                rows = connection.execute(
                    select(levels.c.sku, levels.c.customer_group, levels.c.min_qty, levels.c.price)
                    .where(levels.c.sku.in_(chunk))
                    .order_by(levels.c.sku, levels.c.customer_group, levels.c.min_qty)
                )
                found.extend(PriceLevel(row.sku, row.customer_group, row.min_qty, row.price) for row in rows)
        return sorted(found, key=lambda level: (level.sku, level.customer_group, level.min_qty))

    def price_level_skus(self) -> list[str]:
        levels = m.PriceLevel.__table__
        with database_errors("read price levels"), self.engine.connect() as connection:
            return list(connection.execute(select(levels.c.sku).distinct().order_by(levels.c.sku)).scalars())
