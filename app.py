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
    services,
    webhooks,
)
from syncapi.commands import forget as forget_commands
from syncapi.commands import magento as magento_commands
from syncapi.commands import pos as pos_commands
from syncapi.commands import state as state_commands
from syncapi.commands import sync as sync_commands
from syncapi.commands import webhook as webhook_commands
from syncapi.config import Settings, load_settings

#: Largest operator API body accepted, in bytes (a JSON 413 above it; webhooks allow more: docs/reference.md#answers).
MAX_BODY_BYTES = 1024 * 1024


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """Build the app from the environment, with `config` overriding settings (by env name or field name)."""
    settings = config if isinstance(config, Settings) else load_settings(config)
    app = Flask(__name__, instance_relative_config=True)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    logs.configure(settings)

    services.attach(app, services.install(services.Services(settings)))

    errors.init_app(app)
    headers.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(home.bp)
    pos_commands.init_app(app)
    webhooks.init_app(app)
    state_commands.init_app(app)
    api.init_app(app)
    dashboard.init_app(app)
    console.init_app(app)
    metrics_view.init_app(app)
    magento_commands.init_app(app)
    sync_commands.init_app(app)
    forget_commands.init_app(app)
    webhook_commands.init_app(app)
    return app
