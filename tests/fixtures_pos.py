"""Fixtures for the reference POS: a migrated POS database on each backend and the SQL gateway over it,
plus helpers that put rows straight into the POS tables the way a till or back office would."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from syncapi import db
from syncapi.pos import migrate
from syncapi.pos import models as m
from syncapi.pos.seed import seed_demo
from syncapi.pos.sql import SqlPosGateway

__all__ = ["pos", "pos_engine", "seeded_pos"]

#: The location the test gateway writes web sales to and reads stock from.
TEST_LOCATION = "WEB"


@pytest.fixture
def pos_engine(database_url) -> Engine:
    """An engine on a fresh POS database (SQLite, then PostgreSQL) with the POS tables at head."""
    engine = db.make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pos(pos_engine) -> SqlPosGateway:
    """The SQL gateway over the fresh POS database, at location WEB."""
    return SqlPosGateway(pos_engine, TEST_LOCATION)


@pytest.fixture
def seeded_pos(pos) -> SqlPosGateway:
    """`pos` filled with the demo shop."""
    seed_demo(pos.engine, pos.location_code)
    return pos


def add_rows(engine: Engine, *rows: m.PosBase) -> None:
    """Insert ORM rows into the POS in one transaction."""
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()


def add_product(
    engine: Engine,
    sku: str,
    *,
    on_hand: int | str | None = 10,
    price: str = "10.00",
    updated_at: datetime | None = None,
    **fields,
) -> None:
    """Insert an internet-active product (and its stock at the test location unless `on_hand` is None)."""
    product = m.Product(
        sku=sku,
        name=fields.pop("name", f"Product {sku}"),
        retail_price=Decimal(price),
        internet_active=fields.pop("internet_active", True),
        **fields,
    )
    if updated_at is not None:
        product.updated_at = updated_at
    rows: list[m.PosBase] = [product]
    if on_hand is not None:
        stock = m.Stock(sku=sku, location_code=TEST_LOCATION, on_hand=Decimal(on_hand))
        if updated_at is not None:
            stock.updated_at = updated_at
        rows.append(stock)
    add_rows(engine, *rows)


def on_hand(engine: Engine, sku: str, location: str = TEST_LOCATION) -> Decimal | None:
    """Units of `sku` on hand at `location`; None when it has no stock row there."""
    with engine.connect() as connection:
        return connection.scalar(select(m.Stock.on_hand).where(m.Stock.sku == sku, m.Stock.location_code == location))


def snapshot(engine: Engine, tables: Iterable[type[m.PosBase]] | None = None) -> dict[str, object]:
    """Row counts of every POS table plus all stock levels: equal snapshots mean nothing was written."""
    models = list(tables or (mapper.class_ for mapper in m.PosBase.registry.mappers))
    with engine.connect() as connection:
        state: dict[str, object] = {
            model.__tablename__: connection.scalar(select(func.count()).select_from(model)) for model in models
        }
        state["stock levels"] = connection.execute(
            select(m.Stock.sku, m.Stock.location_code, m.Stock.on_hand, m.Stock.updated_at).order_by(m.Stock.id)
        ).all()
        state["customer links"] = connection.execute(
            select(m.Customer.id, m.Customer.magento_id, m.Customer.updated_at).order_by(m.Customer.id)
        ).all()
    return state
