"""`SandboxControl`: the sandbox's `/_sandbox/...` test controls over HTTP, for tests and scripts."""

from __future__ import annotations

from typing import Any

import requests

#: Seconds a control call may take.
CONTROL_TIMEOUT_S = 10


class SandboxControl:
    """Drives a running sandbox at `base_url` (`http://127.0.0.1:8081`)."""

    def __init__(self, base_url: str, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()

    def _call(self, method: str, path: str, json: Any = None, params: dict | None = None) -> Any:
        response = self.session.request(
            method, f"{self.base_url}/_sandbox{path}", json=json, params=params, timeout=CONTROL_TIMEOUT_S
        )
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox control {method} {path} answered {response.status_code}: {response.text}")
        return response.json()

    def reset(self) -> None:
        """Back to a fresh store, switches as at start-up."""
        self._call("POST", "/reset")

    def seed(self, **records: list[dict]) -> dict:
        """Add Magento-side records (`customers=[...]`, `orders=[...]`, ...); their ids by kind."""
        return self._call("POST", "/seed", json=records)

    def seed_demo(self) -> dict:
        """Add the demo customers, orders, invoices and credit memo."""
        return self._call("POST", "/seed/demo")

    def state(self, section: str | None = None) -> Any:
        """What the store holds (one section: `products`, `source_items`, `customers`, ...)."""
        return self._call("GET", "/state", params={"section": section} if section else None)

    def product(self, sku: str) -> dict | None:
        """One product as stored: values per scope (`values["all"]`, `values["default"]`), media, links."""
        return self.state("products").get(sku)

    def requests(self, clear: bool = False) -> list[dict]:
        """The request log (method, path, store, template, status, body)."""
        return self._call("DELETE" if clear else "GET", "/requests")

    def violations(self, clear: bool = False) -> dict:
        """`{"violations": [...], "warnings": [...]}` found by schema validation."""
        return self._call("DELETE" if clear else "GET", "/violations")

    def add_fault(self, **fault: Any) -> dict:
        """Inject a fault (`path_prefix`, `status_codes`, `fail_next`, `error_rate`, `retry_after_s`, `latency_ms`)."""
        return self._call("POST", "/faults", json=fault)

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._call("DELETE", "/faults")

    def configure(self, **switches: Any) -> dict:
        """Change switches (`allow_bearer`, `consumer_running`, `bulk_enabled`, `denied_resources`, ...)."""
        return self._call("POST", "/config", json=switches)

    def add_customer_group(self, code: str) -> dict:
        """Add a customer group with this code, as an administrator would."""
        return self._call("POST", "/customer-groups", json={"code": code})

    def add_store_view(self, code: str, name: str | None = None) -> dict:
        """Add a store view to the main website, as an administrator would."""
        return self._call("POST", "/store-views", json={"code": code, "name": name or code})
