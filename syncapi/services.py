"""The resources a process works with, built once from the settings.

The web app builds one `Services` in `create_app`; a worker or the cron process builds one on first use from
the environment. Jobs reach theirs through `current()`, so they take only ids and primitives as arguments.
"""

from __future__ import annotations

from typing import Any

from syncapi import db, queues
from syncapi.config import Settings


class Services:
    """Settings plus the connections built from them; the parts other packages add are built lazily."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.redis = queues.connect_redis(settings.redis_url)
        self.queues = queues.Queues(self.redis, settings)
        self.pos_engine = db.engine_for(settings.pos_database_url)
        self.state_engine = db.engine_for(settings.state_url)
        self._extra: dict[str, Any] = {}

    def extra(self, name: str, factory):
        """The part called `name`, built by `factory(self)` the first time it is asked for."""
        if name not in self._extra:
            self._extra[name] = factory(self)
        return self._extra[name]


_current: Services | None = None


def install(services: Services) -> Services:
    """Make `services` the ones jobs in this process use."""
    global _current
    _current = services
    return services


def current() -> Services:
    """This process's services, built from the environment the first time."""
    if _current is None:
        return install(Services(Settings.from_env()))
    return _current
