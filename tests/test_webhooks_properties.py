"""Property tests: whatever a sender posts, the intake answers 2xx or 4xx, never 5xx, and queues only what the
body really names."""

from __future__ import annotations

import json
import math
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncapi.webhooks.events import EVENTS, KNOWN_EVENTS
from syncapi.webhooks.parsing import STYLE_ADOBE, Delivery, Ignored, WebhookRejectedError, parse_delivery
from tests.fixtures_webhooks import WEBHOOK_URL, encode, inbound_jobs, post_signed

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)

# Values an entity id might take, right and wrong.
id_values = (
    st.integers(min_value=-5, max_value=2**64)
    | st.from_regex(r"[0-9]{1,22}", fullmatch=True)
    | st.sampled_from(["", "12a", " 7", "0", "-1", "1e3", "1_000", "١٢", True, False, 1.0, 2.5])
    | json_values
)
entities = (
    st.dictionaries(st.sampled_from(["entity_id", "id", "increment_id", "name", "value"]), id_values, max_size=4)
    | json_values
)
event_types = (
    st.sampled_from(KNOWN_EVENTS)
    | st.sampled_from([f"com.adobe.commerce.{event}" for event in KNOWN_EVENTS if event.startswith("observer.")])
    | st.sampled_from(["com.adobe.commerce.observer.nothing", "com.adobe.commerce.", "sales.order", ""])
    | json_values
)
good_ids = st.integers(min_value=1, max_value=2**63 - 1) | st.from_regex(r"[0-9]{1,18}", fullmatch=True).filter(
    lambda text: int(text) > 0
)


@st.composite
def likely_deliveries(draw):
    """A delivery of a known event in one of the three styles, with one part now and then replaced by anything."""
    event = draw(st.sampled_from(KNOWN_EVENTS))
    route = EVENTS[event]
    entity = draw(st.dictionaries(st.sampled_from(["name", "state", "email"]), json_scalars, max_size=2))
    entity[draw(st.sampled_from(route.id_keys))] = draw(good_ids)
    style = draw(st.sampled_from(["cloudevents", "adobe", "plain"]))
    if style == "plain":
        body = {"data": entity}
    elif style == "adobe":
        body = {
            "specversion": "1.0",
            "id": draw(st.text(max_size=20)),
            "source": "urn:x",
            "type": f"com.adobe.commerce.{event}",
            "data": {"value": entity},
        }
    else:
        body = {"specversion": "1.0", "id": draw(st.text(max_size=20)), "source": "s", "type": event, "data": entity}
    if draw(st.booleans()):  # now and then one part holds anything
        if draw(st.booleans()):
            body[draw(st.sampled_from(sorted(body)))] = draw(id_values)
        else:
            entity[draw(st.sampled_from(route.id_keys))] = draw(id_values)
    return body


# Bodies with any subset of the envelope's keys, holding anything.
any_envelopes = st.fixed_dictionaries(
    {},
    optional={
        "specversion": st.just("1.0") | json_values,
        "type": event_types,
        "id": st.text(max_size=40) | json_values,
        "source": st.text(max_size=20) | json_values,
        "datacontenttype": st.just("application/json") | json_values,
        "data": entities | st.fixed_dictionaries({"value": entities}) | json_values,
        "extra": json_values,
    },
)
envelopes = likely_deliveries() | any_envelopes
path_events = (
    st.none() | st.sampled_from(KNOWN_EVENTS) | st.text(string.ascii_letters + string.digits + "._-", min_size=1)
)


def check_outcome(document_bytes: bytes, path_event: str | None) -> Delivery | Ignored | WebhookRejectedError:
    """Parse, and check the answer is a delivery consistent with the body, an ignored event or a 400/422."""
    try:
        delivery = parse_delivery(document_bytes, path_event)
    except WebhookRejectedError as exc:
        assert exc.status in (400, 422)
        assert exc.message
        return exc
    if isinstance(delivery, Ignored):
        assert delivery.event not in EVENTS
        return delivery
    assert delivery.route is EVENTS[delivery.event]
    assert isinstance(delivery.entity_id, int) and not isinstance(delivery.entity_id, bool)
    assert 1 <= delivery.entity_id < 2**63
    document = json.loads(document_bytes)
    entity = document["data"]["value"] if delivery.style == STYLE_ADOBE else document["data"]
    present = [entity[key] for key in delivery.route.id_keys if entity.get(key) is not None]
    assert present and str(present[0]).lstrip("0") == str(delivery.entity_id)
    if path_event and "type" in document:
        assert document["type"].removeprefix("com.adobe.commerce.") == path_event.removeprefix("com.adobe.commerce.")
    return delivery


@settings(max_examples=500, deadline=None)
@given(envelopes, path_events)
def test_any_envelope_is_a_delivery_or_a_4xx(document, path_event):
    check_outcome(encode(document), path_event)


@settings(max_examples=300, deadline=None)
@given(json_values, path_events)
def test_any_json_is_a_delivery_or_a_4xx(document, path_event):
    check_outcome(encode(document), path_event)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), path_events)
def test_any_bytes_are_a_delivery_or_a_4xx(raw, path_event):
    check_outcome(raw, path_event)


@pytest.mark.parametrize("style", ["envelope", "any-json"])
def test_any_signed_post_is_answered_2xx_or_4xx(client, redis, style):
    """Through the whole app and the real queue: never a 5xx, and a 202 only with its job in the queue."""

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(envelopes if style == "envelope" else json_values, path_events)
    def post_anything(document, path_event):
        path = WEBHOOK_URL if path_event is None else f"{WEBHOOK_URL}/{path_event}"
        response = post_signed(client, document, path=path)
        assert response.status_code in (200, 202, 400, 422), response.get_data(as_text=True)
        body = response.get_json()
        if response.status_code == 200:
            assert body["status"] == "ignored"
        elif response.status_code == 202:
            assert body["status"] in ("queued", "duplicate")
            assert body["job_id"] in {job.id for job in inbound_jobs(redis)}
        else:
            assert set(body) == {"error", "message"}

    post_anything()


def is_entity_id(value) -> bool:
    """The id rule, stated independently: a whole number from 1 to 2**63-1, or up to 19 ASCII digits naming one."""
    if type(value) is int:
        return 1 <= value < 2**63
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return 1 <= int(value) < 2**63
    return False


def breaks_json_limits(value) -> bool:
    """True when `value` holds what the service's JSON reader refuses before any field is looked at: NaN or an
    infinity (written `NaN`/`Infinity`, which is not JSON), or a number literal over 40 characters."""
    if isinstance(value, float):
        return not math.isfinite(value) or len(repr(value)) > 40
    if isinstance(value, int) and not isinstance(value, bool):
        return len(str(value)) > 40
    if isinstance(value, dict):
        return any(breaks_json_limits(item) for item in value.values())
    if isinstance(value, list):
        return any(breaks_json_limits(item) for item in value)
    return False


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(KNOWN_EVENTS), id_values | good_ids)
def test_entity_id_is_accepted_exactly_when_it_is_a_positive_whole_number(event, value):
    route = EVENTS[event]
    outcome = check_outcome(encode({"data": {route.id_keys[0]: value, "name": "x"}}), event)
    if is_entity_id(value):
        assert isinstance(outcome, Delivery)
        assert outcome.entity_id == int(value)
    else:
        assert isinstance(outcome, WebhookRejectedError)
        assert outcome.status == 400
        if breaks_json_limits(value):
            assert outcome.message.startswith("the body is not JSON this service reads"), outcome.message
        else:
            assert f"data.{route.id_keys[0]}" in outcome.message
