"""Every error answer is JSON: `{"error": "<HTTP phrase>", "message": "<what to fix>"}`."""

from __future__ import annotations

import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def error_response(status: int, message: str, headers: dict | None = None):
    """A JSON error answer with the HTTP phrase of `status` and `message`."""
    from http import HTTPStatus

    response = jsonify(error=HTTPStatus(status).phrase, message=message)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def http_error_response(exc: HTTPException):
    """The JSON answer to an HTTP error (the operator API's flask-smorest handler answers with it too)."""
    message = exc.description or exc.name
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
