"""Configurable products, like Magento_ConfigurableProduct: options on global dropdown attributes and children
with distinct combinations of their values."""

from __future__ import annotations

from typing import Any

from sandbox import seed
from sandbox.catalog.render import find_product, render_product
from sandbox.errors import MagentoHttpError, no_such_entity
from sandbox.routing import ACL_PRODUCTS, ROUTER, Call, int_or_none, required_object
from sandbox.state import Product, SandboxState


def _configurable_parent(state: SandboxState, sku: str) -> Product:
    product = find_product(state, sku)
    if product.type_id != "configurable":
        raise MagentoHttpError(400, 'The product with the "%1" SKU isn\'t a configurable product.', [sku])
    return product


def _attribute_by_id(state: SandboxState, attribute_id: Any) -> dict:
    attribute = next((a for a in state.attributes.values() if str(a["attribute_id"]) == str(attribute_id)), None)
    if attribute is None:
        raise no_such_entity("attribute_id", attribute_id)
    return attribute


def configurable_option(state: SandboxState, product: Product, option: dict) -> dict:
    """`option` checked (a global dropdown, known values) and stored as Magento shows it, or Magento's 400."""
    attribute = _attribute_by_id(state, option.get("attribute_id"))
    if attribute["scope"] != "global" or attribute["frontend_input"] != "select":
        raise MagentoHttpError(
            400,
            'The "%1" attribute can\'t be a configurable option: it must be a global-scope dropdown.',
            [attribute["attribute_code"]],
        )
    known = {option_value["value"] for option_value in attribute["options"]}
    values = []
    for value in option.get("values") or []:
        if str(value.get("value_index")) not in known:
            raise MagentoHttpError(
                400,
                'Invalid value of "%value" provided for the %fieldName field.',
                {"value": str(value.get("value_index")), "fieldName": attribute["attribute_code"]},
            )
        values.append({"value_index": int(value["value_index"])})
    return {
        "id": int_or_none(option.get("id")) or state.next_id("configurable_option"),
        "attribute_id": str(attribute["attribute_id"]),
        "label": option.get("label") or attribute["default_frontend_label"],
        "position": int(option.get("position") or 0),
        "values": values,
        "product_id": product.id,
    }


def _option_codes(state: SandboxState, parent: Product) -> list[str]:
    return [_attribute_by_id(state, o["attribute_id"])["attribute_code"] for o in parent.configurable_options]


def check_distinct_children(state: SandboxState, parent: Product, children: list[str]) -> None:
    """Children of one parent need distinct combinations of the option values (magento2 #39534)."""
    codes = _option_codes(state, parent)
    seen: dict[tuple, Product] = {}
    for sku in children:
        child = state.products[sku]
        for code in codes:
            if not child.value(code):
                raise MagentoHttpError(
                    400,
                    'The child product doesn\'t have the "%1" attribute value. Verify the value and try again.',
                    [code],
                )
        combination = tuple(str(child.value(code)) for code in codes)
        if combination in seen:
            raise MagentoHttpError(
                400,
                'Products "%1" and "%2" have the same set of attribute values.',
                [str(child.id), str(seen[combination].id)],
            )
        seen[combination] = child


@ROUTER.route("GET", "/V1/configurable-products/{sku}/options/all", ACL_PRODUCTS)
def list_configurable_options(state: SandboxState, call: Call):
    return [dict(o) for o in find_product(state, call.params["sku"]).configurable_options]


@ROUTER.route("POST", "/V1/configurable-products/{sku}/options", ACL_PRODUCTS)
def add_configurable_option(state: SandboxState, call: Call):
    parent = _configurable_parent(state, call.params["sku"])
    option = configurable_option(state, parent, required_object(call.body, "option"))
    if any(o["attribute_id"] == option["attribute_id"] for o in parent.configurable_options):
        raise MagentoHttpError(400, "Something went wrong while saving option.")
    parent.configurable_options.append(option)
    parent.updated_at = seed.now()
    return option["id"]


@ROUTER.route("GET", "/V1/configurable-products/{sku}/children", ACL_PRODUCTS)
def list_children(state: SandboxState, call: Call):
    parent = find_product(state, call.params["sku"])
    return [render_product(state, state.products[sku], call.store) for sku in parent.children if sku in state.products]


@ROUTER.route("POST", "/V1/configurable-products/{sku}/child", ACL_PRODUCTS)
def add_child(state: SandboxState, call: Call):
    if not isinstance(call.body, dict) or not isinstance(call.body.get("childSku"), str):
        raise MagentoHttpError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "childSku"})
    parent = find_product(state, call.params["sku"])
    child = find_product(state, call.body["childSku"])
    if child.sku in parent.children:
        raise MagentoHttpError(400, "The product is already attached.")
    if not parent.configurable_options:
        raise MagentoHttpError(400, "The parent product doesn't have configurable product options.")
    check_distinct_children(state, parent, [*parent.children, child.sku])
    parent.children.append(child.sku)
    parent.updated_at = seed.now()
    return True


@ROUTER.route("DELETE", "/V1/configurable-products/{sku}/children/{childSku}", ACL_PRODUCTS)
def remove_child(state: SandboxState, call: Call):
    parent = _configurable_parent(state, call.params["sku"])
    if call.params["childSku"] not in parent.children:
        raise MagentoHttpError(404, "The option that was requested doesn't exist. Verify the entity and try again.")
    parent.children.remove(call.params["childSku"])
    parent.updated_at = seed.now()
    return True
