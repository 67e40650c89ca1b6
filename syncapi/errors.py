"""Every error answer is JSON: `{"error": "<HTTP phrase>", "message": "<what to fix>"}`."""

from __future__ import annotations

import logging

from flask import current_app, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

log = logging.getLogger(__name__)


def error_response(status: int, message: str, headers: dict | None = None):
    """A JSON error answer with the HTTP phrase of `status` and `message`."""
    from http import HTTPStatus

    response = jsonify(error=HTTPStatus(status).phrase, message=message)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def too_large_message(limit: int) -> str:
    """What a 413 says: the limit in bytes (and in MiB when whole)."""
    return f"the body is over the limit of {limit} bytes" + (f" ({limit // 2**20} MiB)" if limit % 2**20 == 0 else "")


def http_error_response(exc: HTTPException):
    """The JSON answer to an HTTP error (the operator API's flask-smorest handler answers with it too)."""
    message = exc.description or exc.name
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if isinstance(exc, RequestEntityTooLarge) and limit:
        # Werkzeug's own text names no number; say what the limit is.
        message = too_large_message(limit)
    data = getattr(exc, "data", None)
    if isinstance(data, dict) and "messages" in data:
        # webargs/flask-smorest validation errors carry the field messages.
        message = f"{message}: {data['messages']}"
    response = error_response(exc.code or 500, message)
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return http_error_response(exc)
    log.exception("unhandled error")
    return error_response(500, InternalServerError.description)


def init_app(app) -> None:
    """Register the JSON error handlers on `app`."""
    app.register_error_handler(HTTPException, http_error_response)
    app.register_error_handler(Exception, _handle_unexpected)
