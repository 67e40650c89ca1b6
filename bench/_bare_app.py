"""The baselines of bench/webhook_intake.py, each a Flask app answering the webhook path with 202:

- `create_bare_app()`: reads the body and answers; the do-nothing endpoint the service is measured against;
- `create_redis_app()`: reads the body, appends it to a Redis list (`REDIS_URL`) and answers once Redis has it;
  the least any endpoint that answers only after a durable write can do.

Kept apart, importing nothing but Flask (and redis-py for the second), so the gunicorn that serves one loads no
more than such an app would.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request

WEBHOOK_PATH = "/webhooks/magento"
#: The list `create_redis_app()` appends each body to.
REDIS_LIST = "bench:intake"


def create_bare_app() -> Flask:
    """A Flask app answering `POST /webhooks/magento` with 202 and a small JSON body, and `GET /healthz`."""
    app = Flask("bare")

    @app.post(WEBHOOK_PATH)
    def accept():
        request.get_data()
        return jsonify(status="queued", job_id="order-0"), 202

    _add_healthz(app)
    return app


def create_redis_app(redis_url: str | None = None) -> Flask:
    """A Flask app answering `POST /webhooks/magento` with 202 once the body is in a Redis list (one RPUSH) at
    `redis_url` (default: the `REDIS_URL` environment variable)."""
    import redis

    app = Flask("bare-redis")
    connection = redis.Redis.from_url(redis_url or os.environ["REDIS_URL"])

    @app.post(WEBHOOK_PATH)
    def accept():
        length = connection.rpush(REDIS_LIST, request.get_data())
        return jsonify(status="queued", job_id=f"order-{length}"), 202

    _add_healthz(app)
    return app


def _add_healthz(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")
