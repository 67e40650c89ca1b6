"""The translation reads of `SqlPosGateway`: `product_translations` by SKU."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from syncapi.pos import models as m
from syncapi.pos.sql.common import SqlGatewayBase, chunks, database_errors
from syncapi.pos.translations import Translation


class TranslationReads(SqlGatewayBase):
    """Product translations."""

    def get_translations(self, skus: Iterable[str]) -> list[Translation]:
        table = m.ProductTranslation.__table__
        found: list[Translation] = []
        with database_errors("read product translations"), self.engine.connect() as connection:
            for chunk in chunks(skus):
                rows = connection.execute(
                    select(
                        table.c.sku,
                        table.c.store_code,
                        table.c.name,
                        table.c.description,
                        table.c.long_description_html,
                    ).where(table.c.sku.in_(chunk))
                )
                found.extend(
                    Translation(row.sku, row.store_code, row.name, row.description, row.long_description_html)
                    for row in rows
                )
        return sorted(found, key=lambda translation: (translation.sku, translation.store_code))

    def translated_skus(self) -> list[str]:
        table = m.ProductTranslation.__table__
        with database_errors("read product translations"), self.engine.connect() as connection:
            return list(connection.execute(select(table.c.sku).distinct().order_by(table.c.sku)).scalars())
