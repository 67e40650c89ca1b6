"""The parts a process works with, built once from the settings and handed down.

Each process builds one `Services` in one place: the web app in `create_app`, the worker in
`syncapi.worker.main`, the cron process in `syncapi.cron.main`, and a command line run through the app it
builds. Views, jobs and commands pass it (or the one part they need) to the flows they call; nothing looks a
part up by name.

Jobs take only ids and primitives as arguments, so a job reaches its process's `Services` through `current()`:
the one holder per process, installed by the process at start (and built from the environment on first use
by a worker that did not install one, such as a plain `rq worker`).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from syncapi import db, queues
from syncapi.config import Settings, load_settings
from syncapi.magento.client import MagentoClient, client_for
from syncapi.metrics import Metrics
from syncapi.pos import gateway_for
from syncapi.pos.gateway import PosGateway

if TYPE_CHECKING:
    from flask import Flask


class Services:
    """Settings plus the connections, clients and metrics built from them (Magento client and POS gateway lazily)."""

    def __init__(self, settings: Settings):
        self.settings: Settings = settings
        self.redis = queues.connect_redis(settings.redis_url)
        self.queues: queues.Queues = queues.Queues(self.redis, settings)
        self.pos_engine: Engine = db.engine_for(settings.pos_database_url)
        self.state_engine: Engine = db.engine_for(settings.state_url)
        self.metrics: Metrics = Metrics(self.redis)

    @cached_property
    def magento(self) -> MagentoClient:
        """The process's Magento client (one HTTP session, shared by its jobs)."""
        return client_for(self.settings)

    @cached_property
    def pos(self) -> PosGateway:
        """The POS gateway over the POS database, at POS_LOCATION_CODE."""
        return gateway_for(self.pos_engine, self.settings.pos_location_code)

    def close(self) -> None:
        """Close the Magento client's session if one was opened."""
        client = self.__dict__.get("magento")
        if client is not None:
            client.close()


_current: Services | None = None


def install(services: Services) -> Services:
    """Make `services` the ones jobs in this process use."""
    global _current
    _current = services
    return services


def current_settings() -> Settings:
    """This process's settings: its installed `Services`' own, else read from the environment (nothing built)."""
    return _current.settings if _current is not None else load_settings()


def current() -> Services:
    """This process's services, built from the environment the first time if the process installed none."""
    if _current is None:
        return install(Services(Settings.from_env()))
    return _current


#: The one entry a Flask app keeps for the service in `app.extensions`: its `Services`.
APP_EXTENSION = "services"


def attach(app: Flask, services: Services) -> Services:
    """Keep `services` with `app`, where its views and commands find them with `of_app`."""
    app.extensions[APP_EXTENSION] = services
    return services


def of_app(app: Flask) -> Services:
    """The `Services` of the Flask `app` (in a view or command: `of_app(current_app)`)."""
    return app.extensions[APP_EXTENSION]
