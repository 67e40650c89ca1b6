"""The operator API: `/api/v1/*` behind `Authorization: Bearer <API_TOKEN>`, with its OpenAPI document at
`/api/openapi.json` and a browsable page at `/api/docs` (both public).

    POST /api/v1/sync/<kind>                    start a push or pull
    GET  /api/v1/runs/<run_id>, /api/v1/runs    follow runs
    POST /api/v1/pos/changes                    the POS announces changed records
    GET  /api/v1/links/<entity>/<magento_id>    where a Magento record went in the POS
    GET  /api/v1/jobs/failed, POST /api/v1/jobs/failed/<job_id>/retry, POST /api/v1/jobs/failed/retry
    GET  /api/v1/attention, POST /api/v1/attention/<id>/retry, POST /api/v1/attention/retry,
    POST /api/v1/attention/<id>/dismiss         what needs an operator, and acting on it
"""

from __future__ import annotations

from flask import Blueprint, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from syncapi import errors
from syncapi.api import attention, common, jobs, links, runs, sync
from syncapi.api.schemas import ErrorSchema, SchemaExtrasPlugin

#: Swagger UI's files, served by the service itself from the pinned swagger-ui-bundle package: the page works
#: without internet access and loads nothing from elsewhere.
SWAGGER_UI_URL = "/api/docs/static/"
#: Seconds a browser may keep them (they change only with the package version).
SWAGGER_UI_MAX_AGE_S = 86400

swagger_ui_files = Blueprint("swagger_ui_files", __name__)


@swagger_ui_files.get(SWAGGER_UI_URL + "<path:filename>")
def swagger_ui_file(filename: str):
    """One of Swagger UI's files (its script, style sheet, icons)."""
    response = send_from_directory(swagger_ui_path, filename, max_age=SWAGGER_UI_MAX_AGE_S)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


class ServiceApi(Api):
    """flask-smorest's Api answering errors in the service's shape `{"error", "message"}`."""

    ERROR_SCHEMA = ErrorSchema
    # No catch-all "default" answer: each operation lists the statuses it can give, so the document cannot hide one.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error):
        """Answer an HTTP error as every other error of the service: JSON `{"error", "message"}`."""
        data = getattr(error, "data", None)
        if isinstance(data, dict) and "messages" in data:
            # A webargs validation error: say which fields are wrong and why.
            message = "invalid request: " + _flatten(data["messages"])
            return errors.error_response(error.code, message, data.get("headers"))
        return errors.http_error_response(error)


def _flatten(messages, prefix: str = "") -> str:
    if isinstance(messages, dict):
        parts = []
        for key, value in messages.items():
            # webargs nests the messages under the location ("json", "query"): not a field name.
            name = prefix if key in ("json", "query", "form", "headers") and not prefix else f"{prefix}{key}"
            parts.append(_flatten(value, f"{name}." if name else ""))
        return "; ".join(parts)
    if isinstance(messages, list | tuple):
        field = prefix.rstrip(".") or "body"
        if all(isinstance(item, str) for item in messages):
            return f"{field}: {' '.join(messages)}"
        return "; ".join(_flatten(item, prefix) for item in messages)
    return f"{prefix.rstrip('.') or 'body'}: {messages}"


def init_app(app) -> ServiceApi:
    """Mount the operator API and its documentation on `app`."""
    app.config.update(
        API_TITLE="syncapi operator API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_URL,
        API_SPEC_OPTIONS={
            "info": {"description": __doc__.split("\n\n")[0]},
            "security": [{common.SECURITY_SCHEME: []}],
            "components": {
                "securitySchemes": {common.SECURITY_SCHEME: {"type": "http", "scheme": "bearer"}},
            },
        },
    )
    app.register_blueprint(swagger_ui_files)
    api = ServiceApi(app, spec_kwargs={"extra_plugins": [SchemaExtrasPlugin()]})
    for blp in (sync.blp, runs.blp, links.blp, jobs.blp, attention.blp):
        api.register_blueprint(blp)
    app.extensions["api"] = api
    return api
