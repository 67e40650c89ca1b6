"""The sandbox server: a WSGI app answering Magento's REST routes, served by werkzeug's threaded server.

    sandbox = Sandbox(schema_path=...)       # in a test: port 0 picks a free port
    base_url = sandbox.start()               # serves in a background thread
    ...
    sandbox.stop()

Every REST request goes through `dispatch`: latency and injected faults, routing on the raw path, OAuth or
bearer authentication, the integration's ACL, JSON decoding, schema validation (with a schema), the handler
under the state lock, and a request-log entry.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from sandbox import bulk, control, seed
from sandbox import catalog as _catalog  # noqa: F401 - registers the catalog routes
from sandbox import customer_groups as _customer_groups  # noqa: F401 - registers the customer-group routes
from sandbox import customers as _customers  # noqa: F401 - registers the customer routes
from sandbox import inventory as _inventory  # noqa: F401 - registers the source-item routes
from sandbox import order_actions as _order_actions  # noqa: F401 - registers cancel, hold and unhold
from sandbox import sales as _sales  # noqa: F401 - registers the sales routes
from sandbox import shipments as _shipments  # noqa: F401 - registers the shipment routes
from sandbox import store as _store  # noqa: F401 - registers the store routes
from sandbox.auth import Authenticator
from sandbox.errors import MagentoHttpError
from sandbox.routing import ROUTER, Answer, Call
from sandbox.schema import BodySchemas
from sandbox.state import Config, SandboxState

log = logging.getLogger(__name__)

NO_ROUTE = "Request does not match any route."
UNAUTHORIZED = "The consumer isn't authorized to access %resources."


def _fault_message(status: int) -> str:
    if status == 429:
        return "Too many requests. Try again later."
    if status == 503:
        return "Service Unavailable: the store is in maintenance mode or overloaded."
    if status >= 500:
        return f"Internal Error. Details are available in Magento log file. Report ID: webapi-{secrets.token_hex(6)}"
    return "Injected fault."


class Sandbox:
    """An in-memory Magento 2.4 store behind a real HTTP server."""

    def __init__(
        self,
        *,
        schema_path: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        config: Config | None = None,
        demo: bool = False,
        quiet: bool = True,
    ):
        self.state = SandboxState(config, demo=demo)
        self.schemas = BodySchemas.load(schema_path) if schema_path else None
        self.authenticator = Authenticator()
        self.host, self.port, self.quiet = host, port, quiet
        self.app = create_app(self)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._consumer: bulk.Consumer | None = None

    @property
    def base_url(self) -> str:
        """`http://host:port` of the running server (the Magento base URL to give the client)."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> str:
        """Serve in a background thread (and start the bulk consumer); the base URL."""
        handler = _QuietHandler if self.quiet else WSGIRequestHandler
        self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=handler)
        self._consumer = bulk.Consumer(self.state)
        self._consumer.start()
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-http", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and stop the bulk consumer."""
        if self._consumer is not None:
            self._consumer.stop()
            self._consumer.join(timeout=5)
            self._consumer = None
        if self._server is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- REST ----------------------------------------------------------------------------------------

    def dispatch(self, environ: dict, body_bytes: bytes, headers: dict) -> Response:
        """Answer one REST request the way Magento would."""
        incoming = _Incoming.parse(environ, body_bytes, headers)
        entry: dict[str, Any] = {
            "time": seed.now(),
            "method": incoming.method,
            "path": incoming.raw_path,
            "query": incoming.raw_query,
            "store": incoming.store,
            "route": incoming.route_path,
            "template": None,
            "body": incoming.body,
        }
        response_headers: dict[str, str] = {}
        try:
            self._delay(incoming.method, incoming.route_path)
            with self.state.lock:
                self._inject_fault(incoming.method, incoming.route_path)
            status, payload = self._answer(incoming, entry)
        except MagentoHttpError as exc:
            status, payload, response_headers = exc.status, exc.body(), exc.headers
        except Exception:
            log.exception("sandbox handler failed")
            status, payload = 500, {"message": _fault_message(500)}
        entry["status"] = status
        with self.state.lock:
            self.state.log_request(entry)
        response = Response(json.dumps(payload), status=status, content_type="application/json; charset=utf-8")
        for key, value in response_headers.items():
            response.headers[key] = value
        return response

    def _delay(self, method: str, route_path: str) -> None:
        with self.state.lock:
            delay_ms = self.state.config.latency_ms + sum(
                f.latency_ms for f in self.state.faults if f.matches(method, route_path)
            )
        if delay_ms:
            time.sleep(delay_ms / 1000)

    def _inject_fault(self, method: str, route_path: str) -> None:
        for fault in self.state.faults:
            if not fault.matches(method, route_path):
                continue
            fail = False
            if fault.fail_next > 0:
                fault.fail_next -= 1
                fail = True
            elif fault.error_rate and random.random() < fault.error_rate:  # noqa: S311 - test fault injection
                fail = True
            if fail:
                status = fault.status_codes[fault.failures % len(fault.status_codes)] if fault.status_codes else 503
                fault.failures += 1
                headers = {"Retry-After": f"{fault.retry_after_s:g}"} if fault.retry_after_s is not None else {}
                raise MagentoHttpError(status, _fault_message(status), headers=headers)

    def _answer(self, incoming: _Incoming, entry: dict) -> tuple[int, Any]:
        config = self.state.config
        if incoming.store not in seed.STORE_IDS and incoming.store not in {v["code"] for v in self.state.store_views}:
            raise MagentoHttpError(404, "The store that was requested wasn't found. Verify the store and try again.")
        store = "all" if incoming.store == "admin" else incoming.store
        matched = ROUTER.match(incoming.method, incoming.segments, bulk=incoming.bulk)
        if matched is None or (incoming.bulk and (incoming.method == "GET" or not config.bulk_enabled)):
            raise MagentoHttpError(404, NO_ROUTE)
        route, params = matched
        entry["template"] = route.template
        with self.state.lock:
            authenticated = self.authenticator.authenticated(
                config, self.state.nonces, incoming.uri, incoming.method, incoming.headers, incoming.body_text
            )
            denied = route.acl in config.denied_resources
        if not authenticated or denied:
            raise MagentoHttpError(401, UNAUTHORIZED, {"resources": route.acl})
        if incoming.body_error:
            raise MagentoHttpError(400, incoming.body_error)
        if incoming.bulk:
            with self.state.lock:
                answer = bulk.submit(self.state, self.schemas, route, store, incoming.body, incoming.raw_path)
            return answer.status, answer.payload
        self._validate(incoming.method, incoming.raw_path, route.template, incoming.body)
        query = dict(parse_qsl(incoming.raw_query, keep_blank_values=True))
        call = Call(incoming.method, route.template, store, params, query, incoming.body)
        with self.state.lock:
            result = route.handler(self.state, call)
        if isinstance(result, Answer):
            return result.status, result.payload
        return 200, result

    def _validate(self, method: str, raw_path: str, template: str, body: Any) -> None:
        if self.schemas is None or not self.schemas.has_body(method, template):
            return
        report = self.schemas.validate(method, template, body)
        where = f"{method} {raw_path}"
        with self.state.lock:
            if report.warnings:
                self.state.warnings.append(
                    {"request": where, "template": template, "warnings": [w.as_dict() for w in report.warnings]}
                )
            if report.errors:
                self.state.violations.append(
                    {"request": where, "template": template, "errors": [e.as_dict() for e in report.errors]}
                )
        if report.errors:
            first = report.errors[0]
            raise MagentoHttpError(
                400,
                first.magento_message,
                first.parameters,
                errors=[
                    {"message": e.magento_message, "parameters": e.parameters, "where": e.where}
                    for e in report.errors[1:]
                ]
                or None,
            )


@dataclass
class _Incoming:
    """A REST request as the sandbox reads it: the raw target, the store code, the decoded body."""

    method: str
    raw_path: str
    raw_query: str
    uri: str
    store: str
    bulk: bool
    segments: list[str]
    headers: dict
    body_text: str
    body: Any
    body_error: str | None

    @property
    def route_path(self) -> str:
        """The path after `/rest/<store>` (`/V1/products`, `/async/bulk/V1/products`): what faults match."""
        return ("/async/bulk/" if self.bulk else "/") + "/".join(self.segments)

    @classmethod
    def parse(cls, environ: dict, body_bytes: bytes, headers: dict) -> _Incoming:
        """Read `environ`: `/rest/<store>/V1/...`, `/rest/V1/...` (default store view) or `.../async/bulk/V1/...`."""
        raw_path, raw_query = _raw_target(environ)
        segments = raw_path.split("/")[2:]
        store = "default"
        if segments and segments[0] not in ("V1", "async"):
            store = segments.pop(0)
        bulk = segments[:2] == ["async", "bulk"]
        if bulk:
            segments = segments[2:]
        # The URL exactly as the client signed it: OAuth signatures cover scheme, host, path and query.
        uri = f"{environ.get('wsgi.url_scheme', 'http')}://{headers.get('Host', '')}{raw_path}"
        if raw_query:
            uri += "?" + raw_query
        body, body_error = _decode_body(body_bytes, headers)
        return cls(
            environ["REQUEST_METHOD"].upper(),
            raw_path,
            raw_query,
            uri,
            store,
            bulk,
            segments,
            headers,
            body_bytes.decode("utf-8", "replace"),
            body,
            body_error,
        )


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without one log line per request (tests make thousands)."""

    def log_request(self, *args, **kwargs) -> None:
        pass


def _raw_target(environ: dict) -> tuple[str, str]:
    """The request path and query exactly as the client sent them (still percent-encoded)."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if not raw:
        raw = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
        if environ.get("QUERY_STRING"):
            raw += "?" + environ["QUERY_STRING"]
    if raw.startswith(("http://", "https://")):
        parts = urlsplit(raw)
        raw = parts.path + ("?" + parts.query if parts.query else "")
    path, _, query = raw.partition("?")
    return path, query


def _decode_body(body_bytes: bytes, headers: dict) -> tuple[Any, str | None]:
    """The JSON body, or the 400 message Magento gives for a body it cannot read."""
    if not body_bytes.strip():
        return None, None
    content_type = headers.get("Content-Type", "")
    if "json" not in content_type:
        # A form body is what breaks OAuth signing (oauthlib #748); Magento reads JSON (or XML) only.
        return None, "Content-Type header is invalid."
    try:
        return json.loads(body_bytes), None
    except ValueError:
        return None, "Decoding error."


def create_app(sandbox: Sandbox):
    """The sandbox's WSGI app: `/rest/...` (Magento) and `/_sandbox/...` (test controls)."""
    controls_app = Flask("sandbox")
    controls_app.json.sort_keys = False
    controls_app.extensions["sandbox"] = sandbox
    control.init_app(controls_app)
    controls_app.register_blueprint(control.bp)

    @controls_app.get("/")
    def index():
        return {"service": "Magento sandbox", "rest": "/rest/<store>/V1/...", "controls": "/_sandbox/..."}

    def app(environ, start_response):
        # REST requests bypass Flask's router: it would decode `%2F` in a SKU and merge or redirect slashes.
        path = environ.get("PATH_INFO", "")
        if path == "/rest" or path.startswith("/rest/"):
            incoming = Request(environ)
            response = sandbox.dispatch(environ, incoming.get_data(), dict(incoming.headers))
            return response(environ, start_response)
        return controls_app(environ, start_response)

    app.controls = controls_app
    return app
