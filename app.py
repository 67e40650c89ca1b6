"""The Flask application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from syncapi import (
    api,
    console,
    dashboard,
    errors,
    headers,
    health,
    home,
    logs,
    metrics_view,
    personal_data,
    services,
    sync_cli,
    webhook_cli,
    webhooks,
)
from syncapi.config import Settings, load_settings
from syncapi.magento import cli as magento_cli
from syncapi.pos import cli as pos_cli
from syncapi.state import cli as state_cli

#: Largest operator API body accepted, in bytes (a JSON 413 above it; webhooks allow more: README "Answers").
MAX_BODY_BYTES = 1024 * 1024


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """Build the app from the environment, with `config` overriding settings (by env name or field name)."""
    settings = config if isinstance(config, Settings) else load_settings(config)
    app = Flask(__name__, instance_relative_config=True)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["SETTINGS"] = settings
    app.json.sort_keys = False
    logs.configure(settings)

    svc = services.install(services.Services(settings))
    app.extensions["services"] = svc
    app.extensions["queues"] = svc.queues
    app.extensions["pos_engine"] = svc.pos_engine
    app.extensions["state_engine"] = svc.state_engine

    errors.init_app(app)
    headers.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(home.bp)
    pos_cli.init_app(app)
    webhooks.init_app(app)
    state_cli.init_app(app)
    api.init_app(app)
    dashboard.init_app(app)
    console.init_app(app)
    metrics_view.init_app(app)
    magento_cli.init_app(app)
    sync_cli.init_app(app)
    personal_data.init_app(app)
    webhook_cli.init_app(app)
    return app
