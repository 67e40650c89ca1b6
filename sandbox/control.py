"""Test controls under `/_sandbox/...` (no authentication; the sandbox binds to 127.0.0.1 by default).

- `POST /_sandbox/reset`: back to a fresh store; switches as at start-up; logs, faults and violations cleared.
- `POST /_sandbox/seed`: add Magento-side records, lists under `customers`, `orders`, `invoices`, `creditmemos`,
  `categories`, `products`, `attribute_sets`, `attributes`, `websites`, `store_views` (a store view names its
  `website_id`; an order's `store_id` names its store view), `sources` (MSI sources: `source_code`, `name`),
  `source_items` (`sku`, `source_code`, `quantity`; stored as given). Orders may be full records (`items`) or built from
  `lines` (see `seed.order`); invoices and credit memos from an `order_id`.
- `POST /_sandbox/seed/demo`: add `seed.demo_sales()` (customers, orders, invoices, a credit memo).
- `GET /_sandbox/state[?section=...]`: what the store holds: products with values per scope, media with
  content hashes, source items, prices, categories, customers, sales, attributes, bulks, config, faults.
- `GET`/`DELETE /_sandbox/requests`: the request log (method, path, store, template, status, body);
  DELETE returns it and clears it.
- `GET`/`DELETE /_sandbox/violations`: schema violations and warnings; DELETE returns and clears them.
- `GET`/`POST`/`DELETE /_sandbox/faults`: list, add (`path_prefix`, `methods`, `status_codes`, `error_rate`,
  `fail_next`, `retry_after_s`, `latency_ms`), clear injected faults.
- `GET`/`POST /_sandbox/config`: read or change switches: `allow_bearer`, `bulk_enabled`,
  `consumer_running`, `bulk_operation_delay_s`, `latency_ms`, `denied_resources`, credentials.
"""

from __future__ import annotations

import dataclasses
import logging
from http import HTTPStatus
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from sandbox import customers, seed
from sandbox.catalog import categories, products
from sandbox.errors import MagentoHttpError, render_message
from sandbox.routing import Call
from sandbox.state import Config, Fault, SandboxState, attribute_record

log = logging.getLogger(__name__)

bp = Blueprint("sandbox_controls", __name__, url_prefix="/_sandbox")

SECTIONS = (
    "products",
    "categories",
    "sources",
    "source_items",
    "base_prices",
    "special_prices",
    "tier_prices",
    "customer_groups",
    "customers",
    "shipments",
    "orders",
    "invoices",
    "creditmemos",
    "attributes",
    "attribute_sets",
    "bulks",
    "config",
    "faults",
)


class ControlError(Exception):
    """A control request the sandbox cannot act on."""


def error_response(status: int, message: str):
    """A JSON error answer: `{"error": <HTTP phrase>, "message": ...}`, as the service answers its own errors."""
    response = jsonify(error=HTTPStatus(status).phrase, message=message)
    response.status_code = status
    return response


def _http_error(exc: HTTPException):
    response = error_response(exc.code or 500, exc.description or exc.name)
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _unexpected_error(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.exception("sandbox control failed")
    return error_response(500, InternalServerError.description)


def init_app(app) -> None:
    """Answer every error of the controls app (unknown path, wrong method, a bug) in JSON."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _state() -> SandboxState:
    return current_app.extensions["sandbox"].state


def _json_object() -> dict:
    body = request.get_json(silent=True)
    if body is None and not request.get_data().strip():
        return {}
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


@bp.errorhandler(ControlError)
def _control_error(exc: ControlError):
    return error_response(400, str(exc))


@bp.errorhandler(MagentoHttpError)
def _magento_error(exc: MagentoHttpError):
    return error_response(400, f"seed record refused: {render_message(exc.message, exc.parameters)}")


@bp.post("/reset")
def reset():
    _state().reset()
    return jsonify(status="reset")


def _seed_customer(state: SandboxState, record: dict) -> dict:
    """Store a customer as given (timestamps included), defaults filled in from `seed.customer`."""
    customer_id = int(record.get("id") or state.counters["customer"] + 1)
    names = [str(record.get(key, "")) for key in ("email", "firstname", "lastname")]
    full = {**seed.customer(customer_id, *names, created_at=record.get("created_at")), **record, "id": customer_id}
    customers.check_customer(state, full, customer_id)
    state.customers[customer_id] = full
    state.bump("customer", customer_id)
    return full


def _seed_order(state: SandboxState, record: dict) -> dict:
    if "items" not in record:
        if "lines" not in record:
            raise ControlError("an order needs `items` (a full Magento order) or `lines` (to build one)")
        options = {k: v for k, v in record.items() if k not in ("lines", "entity_id", "customer_id")}
        customer_id = record.get("customer_id")
        if customer_id is not None:
            if customer_id not in state.customers:
                raise ControlError(f"order refers to unknown customer {customer_id}")
            options["customer_record"] = state.customers[customer_id]
        entity_id = record.get("entity_id") or state.counters["order"] + 1
        try:
            record = seed.order(entity_id, record["lines"], **options)
        except (TypeError, KeyError, ValueError, ArithmeticError) as exc:
            raise ControlError(f"cannot build an order from {sorted(record)}: {exc!r}") from None
    record = dict(record)
    if not any(view["id"] == record.get("store_id", 1) for view in state.store_views):
        # sales_order.store_id is a foreign key to the store table: Magento has no order of an unknown store.
        raise ControlError(f"order refers to unknown store view {record.get('store_id')!r}")
    record.setdefault("entity_id", state.counters["order"] + 1)
    record.setdefault("increment_id", f"{int(record['entity_id']):09d}")
    record.setdefault("created_at", seed.now())
    record.setdefault("updated_at", record["created_at"])
    return record


def _seed_document(state: SandboxState, record: dict, kind: str) -> dict:
    if "items" not in record:
        order = state.orders.get(record.get("order_id"))
        if order is None:
            raise ControlError(f"{kind} needs `items` or the `order_id` of a seeded order")
        entity_id = record.get("entity_id") or state.counters[kind] + 1
        dates = {k: record[k] for k in ("created_at", "updated_at") if k in record}
        if kind == "invoice":
            record = seed.invoice(entity_id, order, **dates)
        else:
            invoice = state.invoices.get(record.get("invoice_id"))
            record = seed.creditmemo(entity_id, order, invoice, **dates)
    record = dict(record)
    record.setdefault("entity_id", state.counters[kind] + 1)
    record.setdefault("created_at", seed.now())
    record.setdefault("updated_at", record["created_at"])
    return record


def _seed_attribute(state: SandboxState, record: dict) -> dict:
    code = record.get("attribute_code")
    if not code:
        raise ControlError("an attribute needs `attribute_code`")
    options = [(state.next_id("option"), str(label)) for label in record.get("options", [])]
    attribute = attribute_record(
        seed.AttributeRow(
            state.next_id("attribute"),
            code,
            record.get("label", code),
            record.get("frontend_input", "text"),
            record.get("scope", "global"),
            True,
            bool(record.get("is_required", False)),
            options,
        )
    )
    state.attributes[code] = attribute
    for set_id in record.get("attribute_sets", []):
        if set_id not in state.attribute_sets:
            raise ControlError(f"unknown attribute set {set_id}")
        if code not in state.attribute_sets[set_id]["attributes"]:
            state.attribute_sets[set_id]["attributes"].append(code)
    return attribute


def _seed_attribute_set(state: SandboxState, record: dict) -> dict:
    name = record.get("attribute_set_name")
    if not name:
        raise ControlError("an attribute set needs `attribute_set_name`")
    codes = list(record.get("attributes") or state.attribute_sets[seed.DEFAULT_ATTRIBUTE_SET_ID]["attributes"])
    unknown = [code for code in codes if code not in state.attributes]
    if unknown:
        raise ControlError(f"unknown attributes {unknown}")
    set_id = record.get("attribute_set_id") or state.next_id("attribute_set")
    state.bump("attribute_set", set_id)
    state.attribute_sets[set_id] = {
        "attribute_set_id": set_id,
        "attribute_set_name": name,
        "sort_order": int(record.get("sort_order", 0)),
        "entity_type_id": 4,
        "attributes": codes,
    }
    return state.attribute_sets[set_id]


@bp.post("/seed")
def seed_records():
    body = _json_object()
    unknown = set(body) - {
        "customers",
        "orders",
        "invoices",
        "creditmemos",
        "categories",
        "products",
        "attribute_sets",
        "attributes",
        "websites",
        "store_views",
        "sources",
        "source_items",
    }
    if unknown:
        raise ControlError(f"unknown record kinds {sorted(unknown)}")
    for kind, records in body.items():
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ControlError(f"`{kind}` must be a list of JSON objects")
    state = _state()
    with state.lock:
        before = state.snapshot()
        try:
            stored = _seed(state, body)
        except Exception:
            # A refused seed request changes nothing.
            state.restore(before)
            raise
    return jsonify(stored), 201


def _seed(state: SandboxState, body: dict) -> dict[str, list]:
    stored: dict[str, list] = {}
    _seed_stores(state, body, stored)
    for record in body.get("sources", []):
        code = record.get("source_code")
        if not isinstance(code, str) or not code:
            raise ControlError("a source needs a `source_code`")
        state.sources[code] = seed.source(code, record.get("name"))
        stored.setdefault("sources", []).append(code)
    for record in body.get("attributes", []):
        stored.setdefault("attributes", []).append(_seed_attribute(state, record)["attribute_code"])
    for record in body.get("attribute_sets", []):
        stored.setdefault("attribute_sets", []).append(_seed_attribute_set(state, record)["attribute_set_id"])
    for record in body.get("categories", []):
        saved = categories.create_category(state, Call("POST", "/V1/categories", "all", body={"category": record}))
        stored.setdefault("categories", []).append(saved["id"])
    for record in body.get("products", []):
        saved = products.save_product(state, Call("POST", "/V1/products", "all", body={"product": record}))
        stored.setdefault("products", []).append(saved["sku"])
    for record in body.get("source_items", []):
        key = (record.get("sku"), record.get("source_code"))
        if key[0] not in state.products or key[1] not in state.sources:
            raise ControlError(f"a source item needs a product and a source the store has, got {key}")
        quantity = record.get("quantity", 0)
        state.source_items[key] = {
            "sku": key[0],
            "source_code": key[1],
            "quantity": quantity,
            "status": int(quantity > 0),
        }
        stored.setdefault("source_items", []).append(f"{key[0]}/{key[1]}")
    for record in body.get("customers", []):
        saved = _seed_customer(state, record)
        stored.setdefault("customers", []).append(saved["id"])
    for kind, records, seeder in (
        ("order", "orders", _seed_order),
        ("invoice", "invoices", lambda s, r: _seed_document(s, r, "invoice")),
        ("creditmemo", "creditmemos", lambda s, r: _seed_document(s, r, "creditmemo")),
    ):
        target = getattr(state, records)
        for record in body.get(records, []):
            full = seeder(state, record)
            target[int(full["entity_id"])] = full
            state.bump(kind, full["entity_id"])
            stored.setdefault(records, []).append(full["entity_id"])
    return stored


def _seed_stores(state: SandboxState, body: dict, stored: dict[str, list]) -> None:
    """Websites, then store views in them, as Magento_Store keeps them (ids and codes unique)."""
    for record in body.get("websites", []):
        website = {"name": record.get("code"), "default_group_id": record.get("id"), **record}
        if not isinstance(website.get("id"), int) or not isinstance(website.get("code"), str):
            raise ControlError("a website needs an integer `id` and a `code`")
        if any(w["id"] == website["id"] or w["code"] == website["code"] for w in state.websites):
            raise ControlError(f"website {website['id']} or code {website['code']!r} exists already")
        state.websites.append(website)
        stored.setdefault("websites", []).append(website["id"])
    for record in body.get("store_views", []):
        view = {"name": record.get("code"), "store_group_id": record.get("website_id"), "is_active": 1, **record}
        if not isinstance(view.get("id"), int) or not isinstance(view.get("code"), str):
            raise ControlError("a store view needs an integer `id` and a `code`")
        if not any(w["id"] == view.get("website_id") for w in state.websites):
            raise ControlError(f"store view {view['id']}: no website {view.get('website_id')!r}")
        if any(v["id"] == view["id"] or v["code"] == view["code"] for v in state.store_views):
            raise ControlError(f"store view {view['id']} or code {view['code']!r} exists already")
        state.store_views.append(view)
        stored.setdefault("store_views", []).append(view["id"])


@bp.post("/store-views")
def add_store_view():
    """Add a store view (`{"code", "name"}`) to the main website, as an administrator would."""
    body = _json_object()
    code = str(body.get("code") or "").strip()
    if not code or not code.replace("_", "").isalnum() or code in seed.STORE_IDS:
        raise ControlError("a store view needs a new `code` of letters, digits and underscores")
    state = _state()
    with state.lock:
        if any(view["code"] == code for view in state.store_views):
            raise ControlError(f"store view {code!r} exists")
        view_id = max(view["id"] for view in state.store_views) + 1
        view = {
            "id": view_id,
            "code": code,
            "name": str(body.get("name") or code),
            "website_id": 1,
            "store_group_id": 1,
            "is_active": 1,
        }
        state.store_views.append(view)
        return jsonify(view), 201


@bp.post("/customer-groups")
def add_customer_group():
    """Add a customer group (`{"code": ...}`), as an administrator would; its id is the next one."""
    code = str(_json_object().get("code") or "").strip()
    if not code:
        raise ControlError("a customer group needs a `code`")
    state = _state()
    with state.lock:
        if any(g["code"].lower() == code.lower() for g in state.customer_groups.values()):
            raise ControlError(f"customer group {code!r} exists")
        group_id = max(state.customer_groups) + 1
        state.customer_groups[group_id] = {
            "id": group_id,
            "code": code,
            "tax_class_id": 3,
            "tax_class_name": "Retail Customer",
        }
        return jsonify(state.customer_groups[group_id]), 201


@bp.post("/seed/demo")
def seed_demo():
    demo = seed.demo_sales()
    _state().add_sales(demo)
    return jsonify({name: len(records) for name, records in demo.items()}), 201


def _section(state: SandboxState, name: str) -> Any:
    if name == "products":
        return {
            sku: {
                **{k: v for k, v in dataclasses.asdict(p).items() if k != "media"},
                "media": [dict(entry) for entry in p.media],
            }
            for sku, p in state.products.items()
        }
    if name == "categories":
        return {str(c.id): dataclasses.asdict(c) for c in state.categories.values()}
    if name == "sources":
        return list(state.sources.values())
    if name == "source_items":
        return list(state.source_items.values())
    if name == "base_prices":
        return [
            {"sku": sku, "store_id": store_id, "price": price} for (sku, store_id), price in state.base_prices.items()
        ]
    if name in ("special_prices", "tier_prices"):
        return list(getattr(state, name))
    if name == "customer_groups":
        return list(state.customer_groups.values())
    if name in ("customers", "orders", "invoices", "creditmemos", "shipments"):
        return list(getattr(state, name).values())
    if name == "attributes":
        return state.attributes
    if name == "attribute_sets":
        return {str(k): v for k, v in state.attribute_sets.items()}
    if name == "bulks":
        return {
            uuid: {
                "description": bulk.description,
                "start_time": bulk.start_time,
                "operations": [
                    {
                        "id": op.id,
                        "method": op.method,
                        "template": op.template,
                        "store": op.store,
                        "status": op.status,
                        "result_message": op.result_message,
                        "body": op.body,
                    }
                    for op in bulk.operations
                ],
            }
            for uuid, bulk in state.bulks.items()
        }
    if name == "config":
        return state.config.as_dict()
    if name == "faults":
        return [dataclasses.asdict(f) for f in state.faults]
    raise ControlError(f"unknown section {name!r}; one of {', '.join(SECTIONS)}")


@bp.get("/state")
def inspect_state():
    state = _state()
    wanted = request.args.get("section")
    with state.lock:
        if wanted:
            return jsonify(_section(state, wanted))
        return jsonify({name: _section(state, name) for name in SECTIONS})


@bp.route("/requests", methods=["GET", "DELETE"])
def requests_log():
    state = _state()
    with state.lock:
        entries = list(state.requests)
        if request.method == "DELETE":
            state.requests.clear()
    return jsonify(entries)


@bp.route("/violations", methods=["GET", "DELETE"])
def violations():
    state = _state()
    with state.lock:
        found = {"violations": list(state.violations), "warnings": list(state.warnings)}
        if request.method == "DELETE":
            state.violations.clear()
            state.warnings.clear()
    return jsonify(found)


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults():
    state = _state()
    if request.method == "POST":
        body = _json_object()
        names = {f.name for f in dataclasses.fields(Fault)} - {"failures"}
        unknown = set(body) - names
        if unknown:
            raise ControlError(f"unknown fault fields {sorted(unknown)}; known: {sorted(names)}")
        try:
            fault = Fault(**body)
        except TypeError as exc:
            raise ControlError(str(exc)) from None
        if not 0 <= float(fault.error_rate) <= 1:
            raise ControlError("error_rate must be between 0 and 1")
        with state.lock:
            state.faults.append(fault)
        return jsonify(dataclasses.asdict(fault)), 201
    with state.lock:
        listed = [dataclasses.asdict(f) for f in state.faults]
        if request.method == "DELETE":
            state.faults.clear()
    return jsonify(listed)


@bp.route("/config", methods=["GET", "POST"])
def config():
    state = _state()
    if request.method == "POST":
        body = _json_object()
        names = {f.name for f in dataclasses.fields(Config)}
        unknown = set(body) - names
        if unknown:
            raise ControlError(f"unknown switches {sorted(unknown)}; known: {sorted(names)}")
        with state.lock:
            state.config = dataclasses.replace(state.config, **body)
    with state.lock:
        return jsonify(state.config.as_dict())
