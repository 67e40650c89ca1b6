"""What every operator API blueprint shares: bearer-token authentication, JSON-only bodies read within the
limits of `syncapi.jsonlimits`, and the answers to a dead Redis or state database."""

from __future__ import annotations

import hmac
import io
import json
import logging

import redis as redis_lib
from flask import current_app, request
from flask_smorest import Blueprint
from sqlalchemy.exc import OperationalError, ProgrammingError
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, abort, is_json_request

from syncapi import jsonlimits, services
from syncapi.errors import error_response, too_large_message
from syncapi.queues import QueueUnavailableError
from syncapi.state.migrate import current_revision, head_revision
from syncapi.textcheck import sku_problem

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
#: Seconds a client should wait before retrying when Redis or the database did not answer.
RETRY_AFTER_S = 10
#: The OpenAPI name of the bearer-token scheme.
SECURITY_SCHEME = "bearerAuth"
#: Body fields that list SKUs (`/sync/<kind>` and `/pos/changes`).
SKU_LIST_FIELDS = ("skus", "products", "stock", "prices")
#: Bytes read from a chunked request body at a time.
READ_CHUNK_BYTES = 64 * 1024


class LimitedJSONParser(FlaskParser):
    """webargs' Flask parser reading JSON bodies with `jsonlimits.loads`: a body over a limit is a 400 that names it."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        body = req.get_data(cache=True)
        try:
            text = body.decode("utf-8")  # strictly, as webargs reads it
        except UnicodeDecodeError as exc:
            # webargs answers a JSONDecodeError with a 400 (a non-empty `doc`: an empty one means "no body").
            raise json.JSONDecodeError(f"not UTF-8: {exc.reason}", doc=repr(body[:20]), pos=exc.start) from exc
        try:
            document = jsonlimits.loads(text)
        except jsonlimits.JSONLimitError as exc:
            abort(400, messages={"json": [str(exc)]})
        _refuse_unsafe_skus(document)
        return document


def _refuse_unsafe_skus(document) -> None:
    """A 400 for a SKU that could never go into a Magento path (`.`, `..`, `/`, control characters, NUL): hostile
    input, refused before the schema looks at the body, like the JSON limits. Other field errors stay 422."""
    if not isinstance(document, dict):
        return
    problems = {}
    for field in SKU_LIST_FIELDS:
        values = document.get(field)
        if not isinstance(values, list):
            continue
        for index, value in enumerate(values):
            problem = sku_problem(value) if isinstance(value, str) and value.strip() else None
            if problem:
                problems.setdefault(field, {})[index] = [problem]
    if problems:
        abort(400, messages={"json": problems})


class ApiBlueprint(Blueprint):
    """flask-smorest's blueprint with the limited JSON parser."""

    ARGUMENTS_PARSER = LimitedJSONParser()


def blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A blueprint under /api/v1 whose every view needs the bearer token."""
    blp = ApiBlueprint(name, import_name, url_prefix=PREFIX, description=description)
    blp.before_request(_authenticate)
    blp.register_error_handler(QueueUnavailableError, _queue_unavailable)
    blp.register_error_handler(redis_lib.RedisError, _queue_unavailable)
    blp.register_error_handler(OperationalError, _database_unavailable)
    blp.register_error_handler(ProgrammingError, _database_unavailable)
    return blp


def path_choice(name: str, values: tuple[str, ...], description: str) -> dict:
    """The OpenAPI description of a path parameter that takes one of `values` (any other is a 404)."""
    return {"in": "path", "name": name, "description": description, "schema": {"type": "string", "enum": list(values)}}


def _authenticate():
    """401 unless `Authorization: Bearer <API_TOKEN>`; then 415 for a body that is not JSON."""
    expected = services.of_app(current_app).settings.api_token
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not expected:
        return _unauthorized("send the header 'Authorization: Bearer <API_TOKEN>'")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        return _unauthorized("the bearer token is not the API_TOKEN")
    if request.method in ("POST", "PUT", "PATCH"):
        return _check_body()
    return None


def _check_body():
    """413 for a body over the limit, also a chunked one; then 415 for a body that is not JSON.

    Werkzeug cuts a chunked body (no Content-Length) at the limit without a word, so the JSON parser would see a
    truncated body (a 400), or worse a valid prefix followed by ignored bytes. Such a body is read here, up to
    one byte past the limit, and handed on with its length.
    """
    environ = request.environ
    length = request.content_length
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if length is None and chunked and environ.get("wsgi.input_terminated"):
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        body = _read_at_most(environ["wsgi.input"], limit + 1)
        if len(body) > limit:
            return error_response(413, too_large_message(limit))
        length = len(body)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(length)
    if length and not request.is_json:
        return error_response(415, "send the body as JSON with 'Content-Type: application/json'")
    return None


def _read_at_most(stream, size: int) -> bytes:
    chunks, received = [], 0
    while received < size:
        chunk = stream.read(min(READ_CHUNK_BYTES, size - received))
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


def _unauthorized(message: str):
    return error_response(401, message, headers={"WWW-Authenticate": 'Bearer realm="syncapi"'})


def _queue_unavailable(exc: Exception):
    log.warning("API answered 503: Redis did not answer", extra={"error": str(exc)})
    return error_response(
        503, f"the queue (Redis) did not answer, nothing was done; retry later: {exc}", {"Retry-After": RETRY_AFTER_S}
    )


def _database_unavailable(exc: Exception):
    log.warning("API answered 503: state database failed", extra={"error": str(exc).splitlines()[0]})
    try:
        revision = current_revision(services.of_app(current_app).state_engine)
    except Exception:
        revision = None  # the database does not answer at all
    else:
        if revision != head_revision():
            return error_response(
                503, "the service's own tables are missing or out of date: run 'flask --app app state init'"
            )
    return error_response(
        503, "the state database did not answer, nothing was done; retry later", {"Retry-After": RETRY_AFTER_S}
    )
