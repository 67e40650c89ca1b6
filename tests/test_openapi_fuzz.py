"""The operator API against its own OpenAPI document: schemathesis generates valid and invalid requests from
`/api/openapi.json` and sends them in-process (WSGI) with the bearer token, on real Redis and each database.

Every answer must be documented: no 5xx, a documented status code and content type, a body that matches the
schema of that status, valid requests accepted and invalid ones refused.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.generation import GenerationMode

from syncapi.state.run_history import KIND_SALES, KIND_STOCK, SKU_KINDS
from tests.conftest import TEST_API_TOKEN, base_settings

AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
#: An invalid request may also be refused for its size: a list of keys over 1 MiB is a 413.
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]}}}
)
#: Generated requests per operation and mode: enough to reach every documented answer, bounded in time.
MAX_EXAMPLES = 25

#: Every operation of the document, so that a new one cannot go untested (see the completeness test).
OPERATIONS = [
    ("POST", "/api/v1/sync/{kind}"),
    ("POST", "/api/v1/pos/changes"),
    ("GET", "/api/v1/runs/{run_id}"),
    ("GET", "/api/v1/runs"),
    ("GET", "/api/v1/links/{entity}/{magento_id}"),
    ("GET", "/api/v1/jobs/failed"),
    ("POST", "/api/v1/jobs/failed/{job_id}/retry"),
    ("POST", "/api/v1/jobs/failed/retry"),
    ("GET", "/api/v1/attention"),
    ("POST", "/api/v1/attention/{item_id}/retry"),
    ("POST", "/api/v1/attention/retry"),
    ("POST", "/api/v1/attention/{item_id}/dismiss"),
]
#: Operations whose body, query or path parameters have documented limits an invalid request can break
#: (the others take only free-form path strings, or nothing).
CONSTRAINED = {
    ("POST", "/api/v1/sync/{kind}"),
    ("POST", "/api/v1/pos/changes"),
    ("GET", "/api/v1/runs/{run_id}"),
    ("GET", "/api/v1/runs"),
    ("GET", "/api/v1/jobs/failed"),
    ("GET", "/api/v1/attention"),
    ("POST", "/api/v1/attention/retry"),
    ("POST", "/api/v1/attention/{item_id}/dismiss"),
}
#: (id, generation mode, whether the right token is sent): valid requests; invalid ones with the token, so
#: they reach validation; and any request with whatever Authorization header schemathesis makes up.
RUNS = (
    [pytest.param(op, GenerationMode.POSITIVE, True, id=f"{op[0]} {op[1]} valid") for op in OPERATIONS]
    + [
        pytest.param(op, GenerationMode.NEGATIVE, True, id=f"{op[0]} {op[1]} invalid")
        for op in OPERATIONS
        if op in CONSTRAINED
    ]
    + [pytest.param(op, GenerationMode.NEGATIVE, False, id=f"{op[0]} {op[1]} bad token") for op in OPERATIONS]
)


@pytest.fixture
def app_settings(tmp_path, database_url) -> dict:
    """The app on each database backend: the state tables live there, and PostgreSQL is the stricter one."""
    return base_settings(tmp_path, POS_DATABASE_URL=database_url)


def _sent_as_generated(case) -> bool:
    """False for a case whose query holds an empty list: it is sent as no parameter at all, so the request
    that arrives is not the (invalid) one generated."""
    return not any(value == [] for value in (case.query or {}).values())


def _within_rules_on_kind(case) -> bool:
    """False for a sync request breaking a rule that ties the body to the path's `kind`, which OpenAPI 3.0
    cannot state (the operation's description does; the API answers 422 and tests/test_api.py checks it)."""
    if case.operation.path != "/api/v1/sync/{kind}" or not isinstance(case.body, dict):
        return True
    kind = case.path_parameters["kind"]
    if "skus" in case.body and kind not in SKU_KINDS:
        return False
    if case.body.get("check") is True and kind != KIND_STOCK:
        return False
    return not (kind == KIND_SALES and case.body.get("force") is True)


def test_rules_on_kind_are_in_the_description(app_with_state):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app_with_state, config=CONFIG)
    description = schema.raw_schema["paths"]["/api/v1/sync/{kind}"]["post"]["description"]
    assert "`skus` (products, stock\nand prices only)" in description
    assert "`force` (not for sales)" in description
    assert "`check` (stock only" in description


def test_every_operation_is_fuzzed(app_with_state):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app_with_state, config=CONFIG)
    documented = {(method.upper(), path) for path, item in schema.raw_schema["paths"].items() for method in item}
    documented -= {("PARAMETERS", path) for _, path in documented}
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize(("operation", "mode", "with_token"), RUNS)
def test_api_answers_as_documented(app_with_state, operation, mode, with_token):
    method, path = operation
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app_with_state, config=CONFIG)
    cases = schema[path][method].as_strategy(generation_mode=mode, headers=AUTH if with_token else None)
    cases = cases.filter(_sent_as_generated)
    if mode is GenerationMode.POSITIVE:
        cases = cases.filter(_within_rules_on_kind)

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def answers_as_documented(case):
        case.call_and_validate()

    answers_as_documented()
