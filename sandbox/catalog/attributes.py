"""Product attributes, their options, and attribute sets."""

from __future__ import annotations

from sandbox import search
from sandbox.errors import MagentoHttpError, no_such_entity
from sandbox.routing import ACL_ATTRIBUTE_SETS, ACL_ATTRIBUTES, ROUTER, Call, int_or_none, required_object
from sandbox.state import SandboxState


def _attribute(state: SandboxState, code: str) -> dict:
    attribute = state.attributes.get(code)
    if attribute is None:
        raise MagentoHttpError(
            404,
            'The attribute with a "%1" attributeCode doesn\'t exist. Verify the attribute and try again.',
            [code],
        )
    return attribute


@ROUTER.route("GET", "/V1/products/attributes/{attributeCode}", ACL_ATTRIBUTES)
def get_attribute(state: SandboxState, call: Call):
    return dict(_attribute(state, call.params["attributeCode"]))


@ROUTER.route("GET", "/V1/products/attributes/{attributeCode}/options", ACL_ATTRIBUTES)
def list_attribute_options(state: SandboxState, call: Call):
    attribute = _attribute(state, call.params["attributeCode"])
    if attribute["frontend_input"] not in ("select", "multiselect", "boolean"):
        return []
    # Magento lists the empty option first.
    return [{"label": " ", "value": ""}, *(dict(o) for o in attribute["options"])]


@ROUTER.route("POST", "/V1/products/attributes/{attributeCode}/options", ACL_ATTRIBUTES)
def add_attribute_option(state: SandboxState, call: Call):
    attribute = _attribute(state, call.params["attributeCode"])
    option = required_object(call.body, "option")
    if attribute["frontend_input"] not in ("select", "multiselect"):
        raise MagentoHttpError(400, 'The "%1" attribute doesn\'t work with options.', [attribute["attribute_code"]])
    label = str(option.get("label") or "").strip()
    if not label:
        raise MagentoHttpError(400, "The attribute option label is empty. Enter the value and try again.")
    if any(existing["label"] == label for existing in attribute["options"]):
        raise MagentoHttpError(400, "Admin store attribute option label '%1' is already exists.", [label])
    option_id = state.next_id("option")
    attribute["options"].append({"label": label, "value": str(option_id)})
    return str(option_id)


@ROUTER.route("GET", "/V1/products/attribute-sets/sets/list", ACL_ATTRIBUTE_SETS)
def list_attribute_sets(state: SandboxState, call: Call):
    criteria = search.parse(call.query)
    sets = [{k: v for k, v in s.items() if k != "attributes"} for s in state.attribute_sets.values()]
    return search.apply(sets, criteria)


@ROUTER.route("GET", "/V1/products/attribute-sets/{attributeSetId}/attributes", ACL_ATTRIBUTE_SETS)
def list_set_attributes(state: SandboxState, call: Call):
    set_id = int_or_none(call.params["attributeSetId"])
    attribute_set = state.attribute_sets.get(set_id) if set_id is not None else None
    if attribute_set is None:
        raise no_such_entity("id", call.params["attributeSetId"])
    return [dict(state.attributes[code]) for code in attribute_set["attributes"] if code in state.attributes]
