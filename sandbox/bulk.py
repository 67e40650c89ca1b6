"""Magento's async bulk API in the sandbox: submissions become operations that a background consumer runs.

`POST /rest/<store>/async/bulk/V1/...` takes an array of the bodies the matching `/V1/...` route takes (path
parameters ride in each body: `PUT .../V1/products/bySku` with `[{"sku": ..., "product": {...}}]`) and answers
202 with `bulk_uuid` and one `request_items` entry per body. Bodies that fail the schema are rejected (status 5)
at once; the others stay open (4) until the consumer runs them: complete (1), failed (3) for a 4xx answer,
failed-retryable (2) for a server error. Switch the consumer off to see what happens when Magento's
`async.operations.all` consumer is not running. `GET /V1/bulk/{bulkUuid}/status` and `.../detailed-status`
answer how a bulk's operations went, like Magento_AsynchronousOperations.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from typing import Any

from sandbox import seed
from sandbox.errors import MagentoHttpError, render_message
from sandbox.routing import ACL_BULK, ROUTER, Answer, Call, Route
from sandbox.schema import BodySchemas
from sandbox.state import Bulk, Operation, SandboxState

log = logging.getLogger(__name__)

STATUS_COMPLETE = 1
STATUS_FAILED_RETRYABLE = 2
STATUS_FAILED = 3
STATUS_OPEN = 4
STATUS_REJECTED = 5
#: Seconds the consumer sleeps when there is nothing to run.
IDLE_WAIT_S = 0.02


def topic_name(method: str, template: str) -> str:
    """A queue topic name for the operation, in the spirit of Magento's `async.<service>.<method>` names."""
    return (
        "async."
        + template.strip("/").lower().replace("/", ".").replace("{", "").replace("}", "")
        + "."
        + method.lower()
    )


def submit(
    state: SandboxState,
    schemas: BodySchemas | None,
    route: Route,
    store: str,
    body: Any,
    raw_path: str,
) -> Answer:
    """Record a bulk submission; the 202 answer. Caller holds the state lock."""
    if not isinstance(body, list):
        raise MagentoHttpError(400, "The request body must be an array of entities.")
    topic = topic_name(route.method, route.template)
    items, operations = [], []
    for index, element in enumerate(body):
        problem = None
        params: dict[str, str] = {}
        inner = element
        if not isinstance(element, dict):
            problem = "Each entity must be a JSON object."
        else:
            for name in route.placeholders:
                if element.get(name) in (None, ""):
                    problem = render_message('"%fieldName" is required. Enter and try again.', {"fieldName": name})
                params[name] = str(element.get(name))
            inner = {key: value for key, value in element.items() if key not in route.placeholders}
            if schemas is not None and problem is None:
                report = schemas.validate(route.method, route.template, inner)
                where = f"{route.method} {raw_path} [{index}]"
                if report.warnings:
                    state.warnings.append(
                        {
                            "request": where,
                            "template": route.template,
                            "warnings": [w.as_dict() for w in report.warnings],
                        }
                    )
                if report.errors:
                    state.violations.append(
                        {"request": where, "template": route.template, "errors": [e.as_dict() for e in report.errors]}
                    )
                    first = report.errors[0]
                    problem = render_message(first.magento_message, first.parameters)
        data_hash = hashlib.sha256(json.dumps(element, sort_keys=True).encode()).hexdigest()
        operation = Operation(index, route.method, route.template, store, params, inner, topic)
        operation.handler = route.handler
        if problem:
            operation.status, operation.result_message = STATUS_REJECTED, problem
            items.append({"id": index, "data_hash": data_hash, "status": "rejected", "error_message": problem})
        else:
            items.append({"id": index, "data_hash": data_hash, "status": "accepted"})
            state.open_operations.append(operation)
        operations.append(operation)
    bulk = Bulk(str(uuid.uuid4()), f"Topic {topic}", seed.now(), operations)
    state.bulks[bulk.uuid] = bulk
    return Answer(
        202,
        {"bulk_uuid": bulk.uuid, "request_items": items, "errors": any(item["status"] == "rejected" for item in items)},
    )


class Consumer(threading.Thread):
    """Runs open bulk operations one at a time, like Magento's `async.operations.all` consumer."""

    def __init__(self, state: SandboxState):
        super().__init__(name="sandbox-bulk-consumer", daemon=True)
        self.state = state
        self.stopping = threading.Event()

    def stop(self) -> None:
        """Finish the current operation and stop."""
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            operation = self._next()
            if operation is None:
                self.stopping.wait(IDLE_WAIT_S)
                continue
            self.stopping.wait(self.state.config.bulk_operation_delay_s)
            self._run(operation)

    def _next(self) -> Operation | None:
        with self.state.lock:
            if not self.state.config.consumer_running:
                return None
            queue = self.state.open_operations
            while queue and queue[0].status != STATUS_OPEN:
                queue.popleft()
            return queue.popleft() if queue else None

    def _run(self, operation: Operation) -> None:
        with self.state.lock:
            if operation.status != STATUS_OPEN or not self.state.config.consumer_running:
                return
            call = Call(operation.method, operation.template, operation.store, operation.params, {}, operation.body)
            try:
                operation.result = operation.handler(self.state, call)
                operation.status = STATUS_COMPLETE
            except MagentoHttpError as exc:
                operation.status = STATUS_FAILED_RETRYABLE if exc.status >= 500 else STATUS_FAILED
                operation.result_message = render_message(exc.message, exc.parameters)
                operation.error_code = exc.status
            except Exception as exc:  # a sandbox bug must show as a failed operation, not kill the consumer
                log.exception("bulk operation failed")
                operation.status = STATUS_FAILED_RETRYABLE
                operation.result_message = f"Internal error: {exc}"
                operation.error_code = 500


# --- bulk status -------------------------------------------------------------------------------------


def _bulk(state: SandboxState, uuid: str) -> Bulk:
    bulk = state.bulks.get(uuid)
    if bulk is None:
        raise MagentoHttpError(404, "Bulk uuid %bulkUuid not exist", {"bulkUuid": uuid})
    return bulk


def _bulk_answer(bulk: Bulk, detailed: bool) -> dict:
    operations = []
    for op in bulk.operations:
        operation = {"id": op.id, "status": op.status, "result_message": op.result_message, "error_code": op.error_code}
        if detailed:
            operation.update(
                bulk_uuid=bulk.uuid,
                topic_name=op.topic_name,
                serialized_data=json.dumps({"entity_id": None, "entity_link": "", "meta_information": op.body}),
                result_serialized_data=json.dumps(op.result) if op.result is not None else None,
            )
        operations.append(operation)
    return {
        "operations_list": operations,
        "user_type": 1,
        "bulk_id": bulk.uuid,
        "description": bulk.description,
        "start_time": bulk.start_time,
        "user_id": 1,
        "operation_count": len(bulk.operations),
    }


@ROUTER.route("GET", "/V1/bulk/{bulkUuid}/status", ACL_BULK)
def bulk_status(state: SandboxState, call: Call):
    return _bulk_answer(_bulk(state, call.params["bulkUuid"]), detailed=False)


@ROUTER.route("GET", "/V1/bulk/{bulkUuid}/detailed-status", ACL_BULK)
def bulk_detailed_status(state: SandboxState, call: Call):
    return _bulk_answer(_bulk(state, call.params["bulkUuid"]), detailed=True)
