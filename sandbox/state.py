"""The sandbox store's memory: catalog, stock, prices, customers, sales, bulks, plus what tests inspect
(request log, schema violations) and control (faults, switches). One `RLock` guards all of it."""

from __future__ import annotations

import copy
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox import seed

#: Most request-log entries kept (oldest dropped first), so a long `make run` does not grow without bound.
MAX_LOGGED_REQUESTS = 5000
#: The integration's credentials when none are given: public on purpose, they are what the service's development
#: defaults name (see docs/deployment-checks.md), so `make run` connects with no set-up.
CONSUMER_KEY = "sandbox-consumer-key"
CONSUMER_SECRET = "sandbox-consumer-secret"  # noqa: S105
ACCESS_TOKEN = "sandbox-access-token"  # noqa: S105
ACCESS_TOKEN_SECRET = "sandbox-access-token-secret"  # noqa: S105


@dataclass
class Config:
    """The switches a test flips; `reset` restores the ones the sandbox started with."""

    consumer_key: str = CONSUMER_KEY
    consumer_secret: str = CONSUMER_SECRET
    access_token: str = ACCESS_TOKEN
    access_token_secret: str = ACCESS_TOKEN_SECRET
    #: Magento 2.4.4+ accepts an integration's access token as a bearer token only when the store allows it.
    allow_bearer: bool = False
    #: False: the async bulk routes answer 404, as on a store without Magento_WebapiAsync.
    bulk_enabled: bool = True
    #: False: bulk operations stay open, as when the `async.operations.all` consumer is not running.
    consumer_running: bool = True
    #: Seconds the consumer spends on each bulk operation.
    bulk_operation_delay_s: float = 0.01
    #: Milliseconds added to every REST request.
    latency_ms: int = 0
    #: True: a new name saved at a store view without a `url_key` gets the view a URL key made from the name
    #: alone, as magento2 #40055 reports of 2.4 stores (it then collides with another product's key in the view).
    url_key_from_store_name: bool = False
    #: ACL resources the integration was not granted (calls needing them answer 401 like Magento).
    denied_resources: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The switches as a dict, secrets masked."""
        data = asdict(self)
        for key in ("consumer_secret", "access_token", "access_token_secret"):
            data[key] = "***"
        return data


@dataclass
class Fault:
    """Trouble injected into REST requests whose path (after `/rest/<store>`) starts with `path_prefix`.

    The next `fail_next` matching requests fail, then each fails with probability `error_rate`; failures
    cycle through `status_codes` and carry `Retry-After: retry_after_s` when set. `latency_ms` delays every
    matching request (longer than the client's read timeout = a timeout).
    """

    path_prefix: str = ""
    methods: list[str] = field(default_factory=list)
    status_codes: list[int] = field(default_factory=lambda: [503])
    error_rate: float = 0.0
    fail_next: int = 0
    retry_after_s: float | None = None
    latency_ms: int = 0
    failures: int = 0

    def matches(self, method: str, route_path: str) -> bool:
        """True when this fault applies to `method route_path`."""
        if self.methods and method.upper() not in {m.upper() for m in self.methods}:
            return False
        return route_path.startswith(self.path_prefix)


class ScopedValues:
    """Values per scope, in `values`: `all` the global ones, a store code's its overrides (products, categories)."""

    values: dict[str, dict[str, Any]]

    def value(self, code: str, store: str = "all") -> Any:
        """The value of `code` as seen from `store` (its override, else the global value)."""
        if store != "all" and code in self.values.get(store, {}):
            return self.values[store][code]
        return self.values["all"].get(code)

    def effective(self, store: str = "all") -> dict[str, Any]:
        """Every value as seen from `store`."""
        merged = dict(self.values["all"])
        if store != "all":
            merged.update(self.values.get(store, {}))
        return merged


@dataclass
class Product(ScopedValues):
    """A product: attribute values per scope (`all` = global, else a store code's overrides) and the rest."""

    id: int
    sku: str
    type_id: str
    attribute_set_id: int
    created_at: str
    updated_at: str
    values: dict[str, dict[str, Any]] = field(default_factory=lambda: {"all": {}})
    media: list[dict] = field(default_factory=list)
    website_ids: list[int] = field(default_factory=lambda: [1])
    category_links: list[dict] = field(default_factory=list)
    stock_item: dict | None = None
    configurable_options: list[dict] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


@dataclass
class Category(ScopedValues):
    """A category: values per scope like products, plus its place in the tree."""

    id: int
    parent_id: int
    path: str
    level: int
    position: int
    created_at: str
    updated_at: str
    values: dict[str, dict[str, Any]] = field(default_factory=lambda: {"all": {}})


@dataclass
class Operation:
    """One body of an async bulk: what to run and what became of it."""

    id: int
    method: str
    template: str
    store: str
    params: dict[str, str]
    body: Any
    topic_name: str
    status: int = 4
    result_message: str | None = None
    error_code: int | None = None
    result: Any = None
    handler: Any = field(default=None, repr=False)


@dataclass
class Bulk:
    """An async bulk submission."""

    uuid: str
    description: str
    start_time: str
    operations: list[Operation]


class SandboxState:
    """Everything the sandbox store knows; callers hold `lock` while reading or changing it."""

    def __init__(self, config: Config | None = None, *, demo: bool = False):
        self.lock = threading.RLock()
        self.initial_config = copy.deepcopy(config or Config())
        self.demo = demo
        self.reset()

    def reset(self) -> None:
        """Back to a fresh store: seeded catalog set-up, nothing else; switches as at start-up; logs empty."""
        with self.lock:
            self.config = copy.deepcopy(self.initial_config)
            self.faults: list[Fault] = []
            self.requests: list[dict] = []
            self.violations: list[dict] = []
            self.warnings: list[dict] = []
            self.nonces: set[tuple[str, str, str]] = set()
            self.store_views = copy.deepcopy(seed.STORE_VIEWS)
            self.websites = copy.deepcopy(seed.WEBSITES)
            #: MSI sources by code, as `GET /V1/inventory/sources` lists them.
            self.sources: dict[str, dict] = {code: seed.source(code) for code in seed.SOURCES}
            self.products: dict[str, Product] = {}
            self.source_items: dict[tuple[str, str], dict] = {}
            self.base_prices: dict[tuple[str, int], float] = {}
            self.special_prices: list[dict] = []
            self.tier_prices: list[dict] = []
            self.customer_groups: dict[int, dict] = {
                group_id: {"id": group_id, "code": code, "tax_class_id": 3, "tax_class_name": "Retail Customer"}
                for group_id, code in enumerate(seed.CUSTOMER_GROUPS)
            }
            self.media_files: set[str] = set()
            self.customers: dict[int, dict] = {}
            self.orders: dict[int, dict] = {}
            self.invoices: dict[int, dict] = {}
            self.creditmemos: dict[int, dict] = {}
            self.shipments: dict[int, dict] = {}
            self.bulks: dict[str, Bulk] = {}
            #: Bulk operations waiting for the consumer, oldest first (a large catalog makes thousands of them).
            self.open_operations: deque[Operation] = deque()
            #: Which product holds each URL key, by (store, key): a save checks uniqueness without a full scan.
            self.url_keys: dict[tuple[str, str], str] = {}
            self.counters = {
                "product": 0,
                "media": 0,
                "category": seed.DEFAULT_CATEGORY_ID,
                "option": seed.FIRST_NEW_OPTION_ID - 1,
                "configurable_option": 0,
                "customer": 0,
                "order": 0,
                "invoice": 0,
                "creditmemo": 0,
                "shipment": 0,
                "shipment_track": 0,
                "attribute": 1000,
                "attribute_set": 100,
            }
            self.attributes: dict[str, dict] = {}
            for row in seed.ATTRIBUTES:
                self.attributes[row.code] = attribute_record(row)
            self.attribute_sets: dict[int, dict] = {
                set_id: {
                    "attribute_set_id": set_id,
                    "attribute_set_name": name,
                    "sort_order": 0,
                    "entity_type_id": 4,
                    "attributes": list(codes),
                }
                for set_id, name, codes in seed.ATTRIBUTE_SETS
            }
            self.categories: dict[int, Category] = {}
            for record in seed.CATEGORIES:
                stamp = seed.now()
                category = Category(
                    record["id"], record["parent_id"], record["path"], record["level"], record["position"], stamp, stamp
                )
                category.values["all"] = {"name": record["name"], "is_active": True, "include_in_menu": True}
                self.categories[record["id"]] = category
            if self.demo:
                self.add_sales(seed.demo_sales())

    def add_sales(self, records: dict[str, list[dict]]) -> None:
        """Store full customer, order, invoice and credit-memo records (as `seed` builds them) by their ids."""
        with self.lock:
            for record in records.get("customers", []):
                self.customers[int(record["id"])] = record
                self.bump("customer", record["id"])
            for kind, name in (("order", "orders"), ("invoice", "invoices"), ("creditmemo", "creditmemos")):
                for record in records.get(name, []):
                    getattr(self, name)[int(record["entity_id"])] = record
                    self.bump(kind, record["entity_id"])

    #: What a seed request may change, so a refused one can be undone whole.
    SEEDED = (
        "store_views",
        "websites",
        "products",
        "categories",
        "customers",
        "orders",
        "invoices",
        "creditmemos",
        "shipments",
        "attributes",
        "attribute_sets",
        "counters",
        "media_files",
        "url_keys",
        "sources",
        "source_items",
    )

    def snapshot(self) -> dict:
        """A deep copy of the seedable state."""
        return {name: copy.deepcopy(getattr(self, name)) for name in self.SEEDED}

    def restore(self, snapshot: dict) -> None:
        """Put back what `snapshot` copied."""
        for name, value in snapshot.items():
            setattr(self, name, value)

    def next_id(self, kind: str) -> int:
        """The next id of `kind` (`product`, `media`, `category`, ...)."""
        self.counters[kind] += 1
        return self.counters[kind]

    def bump(self, kind: str, used: int) -> None:
        """Make sure ids handed out later for `kind` are above `used` (after seeding explicit ids)."""
        self.counters[kind] = max(self.counters[kind], int(used))

    def product_by_id(self, product_id: int) -> Product | None:
        """The product with entity id `product_id`."""
        return next((p for p in self.products.values() if p.id == product_id), None)

    def log_request(self, entry: dict) -> None:
        """Add one request to the log."""
        self.requests.append(entry)
        if len(self.requests) > MAX_LOGGED_REQUESTS:
            del self.requests[: len(self.requests) - MAX_LOGGED_REQUESTS]


def attribute_record(row: seed.AttributeRow) -> dict:
    """A product attribute as `GET /V1/products/attributes/{code}` answers (the fields the service reads)."""
    attribute_id, code, label, frontend_input, scope, user_defined, required, options = row
    return {
        "attribute_id": attribute_id,
        "attribute_code": code,
        "frontend_input": frontend_input,
        "entity_type_id": "4",
        "is_required": required,
        "is_user_defined": user_defined,
        "default_frontend_label": label,
        "frontend_labels": [],
        "scope": scope,
        "is_unique": "0",
        "backend_type": {"select": "int", "multiselect": "varchar", "price": "decimal", "weight": "decimal"}.get(
            frontend_input, "varchar"
        ),
        "is_filterable": frontend_input in ("select", "multiselect"),
        "is_visible": True,
        "options": [{"label": option_label, "value": str(option_id)} for option_id, option_label in options],
    }
