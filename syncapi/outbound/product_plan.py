"""Planning one batch of a product push: which products changed since Magento last accepted them, and the body
each one sends.

A product is mapped to the fields the POS owns (`mapping.product_body`), its attribute values resolved to
Magento's option ids (options created as needed), its category to the Magento category id; its body is hashed
and compared with the hash stored when Magento last accepted it. A style's variants become one configurable
product: its options (colour and/or size), each variant's option values, and a parent that takes its data from
the first internet-active variant. Dynamic attributes sent before that the POS no longer has are emptied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from syncapi.config import Settings
from syncapi.magento import products
from syncapi.magento.errors import MagentoPermanentError
from syncapi.outbound import mapping
from syncapi.outbound.attributes import CatalogAttributes, UnknownAttributeSetError
from syncapi.outbound.categories import CategoryPush
from syncapi.outbound.context import PushContext
from syncapi.outbound.delta import HASH_PRODUCT_ATTRIBUTES, hash_of
from syncapi.outbound.mapping import AttributeInfo, ProductFields
from syncapi.pos.gateway import SERVICE_SKUS, Product
from syncapi.state import get_hashes

#: The hash of a product the service only disabled (internet-active turned off).
DISABLED = hash_of({"v": mapping.MAPPING_VERSION, "disabled": True})


class ProductError(Exception):
    """A product cannot be sent as the POS has it; the message says why (the product fails, the run goes on)."""


@dataclass
class Plan:
    """What one run sends for one Magento product."""

    sku: str
    body: dict
    hash: str
    creating: bool
    magento_id: str | None
    #: Whether the SKU is a record the run read (its outcome is counted); false for style members and parents.
    counted: bool
    #: Dynamic attributes sent (code -> value), tracked so one the POS drops is cleared later.
    attributes: dict[str, object] = field(default_factory=dict)
    set_codes: frozenset[str] = frozenset()
    cleared: list[str] = field(default_factory=list)
    simple: bool = True


@dataclass
class Style:
    """A configurable product: the parent's plan and what its options and links must become."""

    parent_sku: str
    plan: Plan | None
    members: list[Product]
    #: Option attributes by code, in order.
    options: dict[str, AttributeInfo]
    #: Variant SKU -> its option ids by code.
    values: dict[str, dict[str, str]]
    base_body: dict | None = None
    stored_hash: str | None = None
    magento_id: str | None = None
    #: The variant whose data (and images) the parent shows.
    base_sku: str | None = None


@dataclass(frozen=True)
class Known:
    """What planning a batch knows: the SKUs the run read (their outcomes are counted), the stored hashes of
    products and styles (`{key: (hash, magento_id)}`), what Magento has that the service never pushed, and the
    Magento ids of the products' categories."""

    read: set[str]
    stored: dict
    stored_styles: dict
    found: dict[str, str]
    categories: dict


class ProductPlanner:
    """Plans the products of one run, batch by batch."""

    def __init__(self, ctx: PushContext, categories: CategoryPush, create_only: frozenset[str]):
        self.ctx = ctx
        self.settings: Settings = ctx.settings
        self.tally = ctx.tally
        self.attributes = CatalogAttributes(ctx.client)
        self.categories = categories
        self.create_only = create_only

    def plan(
        self, by_sku: dict[str, Product], styles: dict[str, list[Product]], known: Known
    ) -> tuple[list[Plan], list[Style | None]]:
        """The plans of a batch (plain products, variants, configurable parents) and its styles (None for a
        style of which nothing goes to Magento)."""
        plans: list[Plan] = []
        for product in by_sku.values():
            if product.parent_sku is None:
                self._add_plan(plans, product, known, None)
        style_list = [self._plan_style(code, members, known, plans) for code, members in styles.items()]
        self._add_cleared_attributes(plans)
        return plans, style_list

    def _add_plan(
        self,
        plans: list[Plan],
        product: Product,
        known: Known,
        style: tuple[dict[str, AttributeInfo], dict[str, str]] | None,
    ) -> Plan | None:
        """Plan `product` (a plain product, or a variant with `style` = its option attributes and ids)."""
        try:
            plan = self._plan(product, product.sku in known.read, known, style)
        except ProductError as exc:
            self.tally.failed(product.sku, str(exc))
            return None
        if plan is not None:
            plans.append(plan)
        return plan

    def _plan(
        self,
        product: Product,
        counted: bool,
        known: Known,
        style: tuple[dict[str, AttributeInfo], dict[str, str]] | None,
    ) -> Plan | None:
        sku = product.sku
        previous = known.stored.get(sku)
        exists = previous is not None or sku in known.found
        magento_id = previous[1] if previous is not None else known.found.get(sku)
        if not self.pushable(product):
            if not exists or (previous is not None and previous[0] == DISABLED and not self.ctx.force):
                if counted:
                    self.tally.unchanged(sku)
                return None
            return Plan(sku, mapping.disable_body(sku), DISABLED, False, magento_id, counted)
        fields, attributes, set_codes = self._fields(product, known.categories, style)
        update_body = mapping.product_body(fields, creating=False, create_only=self.create_only)
        value = hash_of(mapping.product_hash_input(update_body))
        if exists and previous is not None and previous[0] == value and not self.ctx.force:
            if counted:
                self.tally.unchanged(sku)
            return None
        body = update_body if exists else mapping.product_body(fields, creating=True, create_only=self.create_only)
        tracked = {code: v for code, v in attributes.items() if code not in self.create_only}
        return Plan(sku, body, value, not exists, magento_id, counted, tracked, set_codes)

    def _fields(
        self,
        product: Product,
        magento_categories: dict,
        style: tuple[dict[str, AttributeInfo], dict[str, str]] | None,
        *,
        type_id: str = products.TYPE_SIMPLE,
        sku: str | None = None,
    ) -> tuple[ProductFields, dict[str, object], frozenset[str]]:
        """The resolved fields of `product`; also the dynamic attributes sent and the codes of its set."""
        try:
            set_id = self.attributes.set_id(product.attribute_set)
        except UnknownAttributeSetError as exc:
            raise ProductError(str(exc)) from None
        info = self.attributes.attributes(set_id)
        values: dict[str, object] = {}
        configurable_parent = type_id == products.TYPE_CONFIGURABLE
        for code, raw in mapping.pos_values(product).items():
            if code in mapping.CONFIGURABLE_CODES and (configurable_parent or style is not None):
                continue  # a variant's option values come from its style; a parent has none of its own
            if code not in info:
                if raw:
                    self._missing_attribute(code, product.attribute_set, f"the POS {code} values are not sent")
                continue
            values[code] = self._resolve(info[code], raw, product, required=False)
        if style is not None:
            values.update(style[1])
        dynamic: dict[str, object] = {}
        for code, raw in mapping.dynamic_values(product).items():
            if code not in info:
                self._missing_attribute(code, product.attribute_set, "its POS values are not sent")
                continue
            resolved = self._resolve(info[code], raw, product, required=False)
            if resolved is not None:
                dynamic[code] = resolved
        for code in product.attribute_values():
            if code in mapping.RESERVED_CODES:
                self.ctx.report_once(
                    f"reserved-{code}",
                    f"POS attribute {code!r} is not sent: Magento's {code} comes from the product's own fields",
                )
        values.update(dynamic)
        category_ids: tuple[int, ...] = ()
        if product.category_id is not None:
            magento_id = magento_categories.get(product.category_id)
            if magento_id is None:
                raise ProductError(
                    f"its category {product.category_id} is not in Magento: "
                    f"{self.categories.failure(product.category_id)}"
                )
            category_ids = (int(magento_id),)
        sku = sku or product.sku
        variant = style is not None
        fields = ProductFields(
            sku=sku,
            type_id=type_id,
            attribute_set_id=set_id,
            status=products.STATUS_ENABLED if product.internet_active else products.STATUS_DISABLED,
            visibility=products.VISIBILITY_NOT_VISIBLE if variant else products.VISIBILITY_CATALOG_SEARCH,
            values={code: value for code, value in values.items() if value is not None},
            category_ids=category_ids,
            price=None if configurable_parent else mapping.number(product.retail_price),
            url_key=mapping.url_key(product.name, sku),
        )
        return fields, dynamic, frozenset(info)

    def _missing_attribute(self, code: str, set_name: str, consequence: str) -> None:
        self.ctx.report_once(
            f"missing-attribute-{code}-{mapping.option_key(set_name)}",
            f"Magento has no attribute {code!r} in attribute set {set_name!r}; {consequence}",
            key=code,
        )

    def _resolve(self, info: AttributeInfo, raw: str | None, product: Product, *, required: bool) -> object:
        """The Magento value of POS value `raw` of `info` (option ids created as needed); None: not sent."""
        if raw is None or not raw.strip():
            return "" if not required else None
        option_ids: dict[str, str] = {}
        if info.takes_options:
            try:
                option_ids = self.attributes.option_ids(info.code, mapping.attribute_labels(info, raw))
            except MagentoPermanentError as exc:
                message = f"Magento refused a new option {raw!r} of {info.code}: {exc.message}"
                if required:
                    raise ProductError(message) from None
                self.ctx.report_once(f"option-{info.code}-{mapping.option_key(raw)}", message, key=info.code)
                return None
        value = mapping.attribute_value(info, raw, option_ids)
        if value is None:
            message = f"attribute {info.code}: {mapping.value_problem(info, raw)}; not sent"
            if required:
                raise ProductError(message)
            self.ctx.report_once(f"value-{info.code}-{mapping.option_key(raw)}", message, key=info.code)
        return value

    def _plan_style(self, code: str, members: list[Product], known: Known, plans: list[Plan]) -> Style | None:
        """Plan a configurable product and its variants; None when nothing of it goes to Magento."""
        eligible = self.eligible(members)
        previous = known.stored_styles.get(code)
        parent_exists = previous is not None or code in known.found
        try:
            option_info = self._style_options(code, members)
        except ProductError as exc:
            for member in members:
                self.tally.failed(member.sku, str(exc))
            self.tally.failed(code, str(exc))
            return None
        values: dict[str, dict[str, str]] = {}
        for member in members:
            if member not in eligible:
                # Not sent, or only disabled: no option values needed.
                self._add_plan(plans, member, known, None)
                continue
            try:
                member_values = self._variant_values(code, member, option_info)
            except ProductError as exc:
                self.tally.failed(member.sku, str(exc))
                continue
            values[member.sku] = member_values
            self._add_plan(plans, member, known, (option_info, member_values))
        magento_id = previous[1] if previous else known.found.get(code)
        style = Style(
            code,
            None,
            members,
            option_info,
            values,
            stored_hash=previous[0] if previous else None,
            magento_id=magento_id,
        )
        if not eligible:
            if parent_exists and (previous is None or previous[0] != DISABLED or self.ctx.force):
                style.plan = Plan(code, mapping.disable_body(code), DISABLED, False, magento_id, False, simple=False)
                plans.append(style.plan)
                return style
            return None
        base = base_variant(eligible)
        style.base_sku = base.sku
        try:
            fields, _dynamic, _codes = self._fields(
                as_parent(base, code, any(m.internet_active for m in eligible)),
                known.categories,
                None,
                type_id=products.TYPE_CONFIGURABLE,
                sku=code,
            )
        except ProductError as exc:
            self.tally.failed(code, str(exc))
            return None
        update_body = mapping.product_body(fields, creating=False, create_only=self.create_only)
        style.base_body = update_body
        in_magento = set(known.stored) | set(known.found) | {plan.sku for plan in plans}
        predicted = self.style_hash(style, [sku for sku in values if sku in in_magento])
        if parent_exists and previous is not None and previous[0] == predicted and not self.ctx.force:
            return style  # nothing to save; links are checked against the same hash after the saves
        body = (
            update_body if parent_exists else mapping.product_body(fields, creating=True, create_only=self.create_only)
        )
        style.plan = Plan(code, body, predicted, not parent_exists, magento_id, False, simple=False)
        plans.append(style.plan)
        return style

    def _style_options(self, code: str, members: list[Product]) -> dict[str, AttributeInfo]:
        """The option attributes of a style: `color` and/or `size`, whichever its variants have."""
        wanted = [
            attribute
            for attribute in mapping.CONFIGURABLE_CODES
            if any((mapping.pos_values(m).get(attribute) or "").strip() for m in members)
        ]
        if not wanted:
            raise ProductError(f"the variants of {code} have neither colour nor size; nothing tells them apart")
        set_names = {m.attribute_set for m in members}
        try:
            set_id = self.attributes.set_id(members[0].attribute_set)
        except UnknownAttributeSetError as exc:
            raise ProductError(str(exc)) from None
        info = self.attributes.attributes(set_id)
        lacking = [attribute for attribute in wanted if attribute not in info]
        if lacking:
            raise ProductError(
                f"attribute set {', '.join(sorted(set_names))!r} has no {' or '.join(lacking)} attribute in Magento, "
                f"so the variants of {code} cannot become one configurable product"
            )
        return {attribute: info[attribute] for attribute in wanted}

    def _variant_values(self, code: str, member: Product, options: dict[str, AttributeInfo]) -> dict[str, str]:
        values = {}
        for attribute, info in options.items():
            raw = (mapping.pos_values(member).get(attribute) or "").strip()
            if not raw:
                raise ProductError(f"variant of {code} without a {attribute} (the other variants have one)")
            values[attribute] = str(self._resolve(info, raw, member, required=True))
        return values

    def style_hash(self, style: Style, children: Iterable[str]) -> str:
        """The hash of a configurable product: its body, its options and the variants linked to it."""
        children = sorted(children)
        options = {
            attribute: sorted({style.values[sku][attribute] for sku in children}, key=str)
            for attribute in style.options
        }
        return hash_of(
            {"v": mapping.MAPPING_VERSION, "body": style.base_body, "options": options, "children": children}
        )

    def _add_cleared_attributes(self, plans: list[Plan]) -> None:
        """Empty the dynamic attributes sent before that the POS no longer has (updates only)."""
        updates = [plan for plan in plans if not plan.creating and plan.set_codes]
        candidates: dict[str, tuple[Plan, str]] = {}
        for plan in updates:
            for code in plan.set_codes - mapping.RESERVED_CODES - set(plan.attributes) - self.create_only:
                candidates[f"{plan.sku}/{code}"] = (plan, code)
        if not candidates:
            return
        for key in get_hashes(self.ctx.state_engine, HASH_PRODUCT_ATTRIBUTES, candidates):
            plan, code = candidates[key]
            plan.cleared.append(code)
        for plan in updates:
            if plan.cleared:
                custom = list(plan.body.get("custom_attributes", []))
                custom.extend({"attribute_code": code, "value": ""} for code in sorted(plan.cleared))
                plan.body["custom_attributes"] = sorted(custom, key=lambda item: item["attribute_code"])

    def pushable(self, product: Product) -> bool:
        """Whether `product` goes to Magento (enabled, or disabled with PUSH_INACTIVE_PRODUCTS)."""
        # A service product the sales write (gift wrapping) is the POS's own: never created in Magento.
        return product.internet_active or (self.settings.push_inactive_products and product.sku not in SERVICE_SKUS)

    def eligible(self, members: list[Product]) -> list[Product]:
        """The members of a style that go to Magento."""
        return [m for m in members if self.pushable(m)]


def base_variant(eligible: list[Product]) -> Product:
    """The variant a configurable product takes its data and images from: the first internet-active one."""
    return next((m for m in eligible if m.internet_active), eligible[0])


def as_parent(base: Product, parent_sku: str, active: bool) -> Product:
    """The POS data a configurable parent takes from its first variant: no colour, size or own SKU."""
    return Product(
        sku=parent_sku,
        parent_sku=None,
        name=base.name,
        description=base.description,
        long_description_html=base.long_description_html,
        category_id=base.category_id,
        colour=None,
        size=None,
        retail_price=base.retail_price,
        sale_price=None,
        attribute_set=base.attribute_set,
        internet_active=active,
        attributes=base.attributes,
        updated_at=base.updated_at,
    )
