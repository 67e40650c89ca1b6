"""Fixtures for the service's own state: an upgraded state database on each backend, and an app whose state
tables exist."""

from __future__ import annotations

import pytest

from syncapi import db
from syncapi.state import upgrade

__all__ = ["app_with_state", "state_engine"]


@pytest.fixture
def state_engine(database_url):
    """An engine on a fresh database (SQLite, then PostgreSQL) with the sync_* tables at head."""
    engine = db.make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app_with_state(app):
    """`app` with the sync_* tables created in its state database."""
    upgrade(app.extensions["services"].state_engine)
    return app
