"""The baseline of bench/webhook_intake.py: a Flask app whose webhook endpoint only reads the body and answers 202.

Kept apart, importing nothing but Flask, so the gunicorn that serves it loads no more than a bare app would.
"""

from __future__ import annotations

from flask import Flask, jsonify, request

WEBHOOK_PATH = "/webhooks/magento"


def create_bare_app() -> Flask:
    """A Flask app answering `POST /webhooks/magento` with 202 and a small JSON body, and `GET /healthz`."""
    app = Flask("bare")

    @app.post(WEBHOOK_PATH)
    def accept():
        request.get_data()
        return jsonify(status="queued", job_id="order-0"), 202

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    return app
