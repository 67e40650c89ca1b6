"""Product push: POS products (variants as configurable products), their dynamic attributes and images.

A run reads the POS products asked for (or changed since the last run) in batches, and per batch:

1. looks up what Magento needs: the attribute set by name and its attributes (once per run), option ids of
   select values (creating missing options once), the Magento ids of the products' categories (pushing
   categories Magento lacks first), and, for SKUs the service has not pushed yet, whether Magento already has
   them (one search per page of SKUs);
2. maps each product to the body of the fields the POS owns (see `mapping.product_body`); a product whose
   body hashes as it did when Magento last accepted it is left alone;
3. saves the rest (`writer`: async bulk or concurrent PUTs), stores their hashes, then for each configurable
   product adds its options and links its variants, and for every product new to Magento sends its images,
   prices and stock;

then sends the images that changed since the last run. Products that are not internet-active are not sent
(PUSH_INACTIVE_PRODUCTS off; one already in Magento is disabled, never deleted), or sent disabled (on).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from syncapi.magento import configurable, products
from syncapi.magento.client import batches
from syncapi.magento.errors import MagentoPermanentError
from syncapi.magento.search import SearchCriteria
from syncapi.outbound import images as product_images
from syncapi.outbound import mapping
from syncapi.outbound import prices as price_push
from syncapi.outbound import stock as stock_push
from syncapi.outbound.attributes import CatalogAttributes, UnknownAttributeSetError
from syncapi.outbound.categories import CategoryPush
from syncapi.outbound.common import NOT_IN_POS
from syncapi.outbound.context import READ_BATCH, Outcome, PushContext, outcome_of
from syncapi.outbound.delta import (
    HASH_CONFIGURABLES,
    HASH_PRODUCT_ATTRIBUTES,
    HASH_PRODUCTS,
    Reader,
    Watermark,
    hash_of,
    known_products,
    load_watermark,
    save_watermark,
)
from syncapi.outbound.mapping import AttributeInfo, ProductFields
from syncapi.outbound.writer import Writer
from syncapi.pos.gateway import SERVICE_SKUS, Cursor, Product
from syncapi.state import LINK_FAILED, LINK_SYNCED, delete_hashes, get_hashes, put_hashes, record_links
from syncapi.textcheck import record_problem

log = logging.getLogger(__name__)

KIND = "products"
#: Products read from the POS per batch. Larger than other kinds' batches: reading a whole catalogue costs the
#: POS one sort of every changed row per batch (on SQLite the change time of a product is computed, so no index
#: serves it), and 100,000 products read 500 at a time took 90 s where 2,000 at a time take 24 s.
PRODUCT_READ_BATCH = 2000
#: The hash of a product the service only disabled (internet-active turned off).
DISABLED = hash_of({"v": mapping.MAPPING_VERSION, "disabled": True})
#: The links entity of a Magento product (its POS record is the SKU).
LINK_PRODUCT = "product"
#: Magento's answer when a variant is linked twice (harmless: the link is there).
ALREADY_ATTACHED = "already attached"


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


def push_products(ctx: PushContext, *, full: bool = False, keys: list[str] | None = None) -> None:
    """One product run: the SKUs (or style codes) asked for, or what changed since the last run."""
    ProductPush(ctx).run(full=full, keys=keys)


class ProductPush:
    """The product push of one run."""

    def __init__(self, ctx: PushContext):
        self.ctx = ctx
        self.settings = ctx.settings
        self.tally = ctx.tally
        self.tally.defer_unchanged = True
        self.writer = Writer(ctx)
        self.attributes = CatalogAttributes(ctx.client)
        self.categories = CategoryPush(ctx, None)
        self.create_only, refused = mapping.create_only_codes(self.settings.product_create_only_fields)
        if refused:
            ctx.report_once(
                "create-only-refused",
                f"PRODUCT_CREATE_ONLY_FIELDS: {', '.join(refused)} cannot be create-only (they say which product "
                "it is and whether it is on sale); they are sent on every change",
            )
        #: SKUs whose images this run already brought in line.
        self.images_done: set[str] = set()
        #: SKUs and style codes the run read (for runs limited to keys).
        self.seen: set[str] = set()

    # --- the run -----------------------------------------------------------------------------------------

    def run(self, *, full: bool, keys: list[str] | None) -> None:
        """Push the products, then the images, then store where the run got to."""
        watermark = load_watermark(self.ctx.state_engine, KIND)
        reader = Reader(
            self.ctx.gateway.changed_products,
            self._read_keys,
            after=None if full else watermark.cursor(),
            keys=keys,
            retry=[] if full or keys is not None else watermark.retry,
            batch_size=PRODUCT_READ_BATCH,
            count=self.ctx.gateway.count_products,
            key_of=lambda product: product.sku,
            noun="products",
            refuse=lambda product, problem: self.tally.refused(product.sku, problem),
        )
        for records in reader.batches():
            self.push_batch(records)
        for key in keys or ():
            if key not in self.seen and not self.tally.counted(key):
                self.tally.failed(key, NOT_IN_POS)
        images_cursor = self._push_changed_images(full, keys, watermark)
        self.tally.finish()
        if keys is None:
            cursors = {"cursor": reader.checkpoint, "images": images_cursor}
            save_watermark(self.ctx.state_engine, KIND, cursors, self.tally.failed_keys)

    def _read_keys(self, keys: list[str]) -> list[Product]:
        """The products with these SKUs and the variants of styles with these codes."""
        found = {product.sku: product for product in self.ctx.gateway.get_products(keys)}
        for product in self.ctx.gateway.get_style(keys):
            found.setdefault(product.sku, product)
        return [found[sku] for sku in sorted(found)]

    def push_batch(self, records: list[Product]) -> None:
        """Push one batch of POS products (the variants of their styles with them)."""
        gateway, engine = self.ctx.gateway, self.ctx.state_engine
        read = {product.sku for product in records}
        self.seen.update(read)
        self.seen.update(product.parent_sku for product in records if product.parent_sku)
        style_codes = sorted({product.parent_sku for product in records if product.parent_sku})
        by_sku = {product.sku: product for product in records}
        for member in gateway.get_style(style_codes) if style_codes else ():
            if member.sku in by_sku:
                continue
            problem = record_problem(member)
            if problem is not None:
                self.tally.refused(member.sku, problem)
                continue
            by_sku[member.sku] = member
        styles: dict[str, list[Product]] = {code: [] for code in style_codes}
        for product in sorted(by_sku.values(), key=lambda p: p.sku):
            if product.parent_sku in styles:
                styles[product.parent_sku].append(product)

        stored = get_hashes(engine, HASH_PRODUCTS, by_sku)
        stored_styles = get_hashes(engine, HASH_CONFIGURABLES, style_codes)
        unknown = [sku for sku in by_sku if sku not in stored] + [c for c in style_codes if c not in stored_styles]
        found = self._find_in_magento(unknown)
        category_ids = {p.category_id for p in by_sku.values() if p.category_id is not None}
        magento_categories = self.categories.magento_ids(category_ids) if category_ids else {}

        plans: list[Plan] = []
        for product in by_sku.values():
            if product.parent_sku is None:
                self._add_plan(plans, product, product.sku in read, stored, found, magento_categories, None)
        style_list = [
            self._plan_style(code, members, read, stored, stored_styles, found, magento_categories, plans)
            for code, members in styles.items()
        ]
        self._add_cleared_attributes(plans)

        outcomes = self.writer.save_products([plan.body for plan in plans])
        saved = self._after_save(plans, outcomes)
        live_styles = [style for style in style_list if style is not None]
        self._link_styles(live_styles, stored, found, saved)
        newly_known = [plan for plan in plans if plan.sku in saved and plan.sku not in stored and plan.simple]
        self._send_new_products(newly_known, found)
        fresh_parents = {s.parent_sku for s in live_styles if s.plan is not None and s.plan.creating} - set(found)
        failed = self.tally.failed_keys
        bases = {s.parent_sku: s.base_sku for s in live_styles if s.base_sku and s.parent_sku not in failed}
        self._push_parent_images(bases, fresh_parents)

    # --- planning ------------------------------------------------------------------------------------------

    def _add_plan(
        self,
        plans: list[Plan],
        product: Product,
        counted: bool,
        stored: dict,
        found: dict[str, str],
        magento_categories: dict,
        style: tuple[dict[str, AttributeInfo], dict[str, str]] | None,
    ) -> Plan | None:
        """Plan `product` (a plain product, or a variant with `style` = its option attributes and ids)."""
        try:
            plan = self._plan(product, counted, stored, found, magento_categories, style)
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
        stored: dict,
        found: dict[str, str],
        magento_categories: dict,
        style: tuple[dict[str, AttributeInfo], dict[str, str]] | None,
    ) -> Plan | None:
        sku = product.sku
        previous = stored.get(sku)
        exists = previous is not None or sku in found
        magento_id = previous[1] if previous is not None else found.get(sku)
        if not self._pushable(product):
            if not exists or (previous is not None and previous[0] == DISABLED and not self.ctx.force):
                if counted:
                    self.tally.unchanged(sku)
                return None
            return Plan(sku, mapping.disable_body(sku), DISABLED, False, magento_id, counted)
        fields, attributes, set_codes = self._fields(product, magento_categories, style)
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

    def _plan_style(
        self,
        code: str,
        members: list[Product],
        read: set[str],
        stored: dict,
        stored_styles: dict,
        found: dict[str, str],
        magento_categories: dict,
        plans: list[Plan],
    ) -> Style | None:
        """Plan a configurable product and its variants; None when nothing of it goes to Magento."""
        eligible = self._eligible(members)
        previous = stored_styles.get(code)
        parent_exists = previous is not None or code in found
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
                self._add_plan(plans, member, member.sku in read, stored, found, magento_categories, None)
                continue
            try:
                member_values = self._variant_values(code, member, option_info)
            except ProductError as exc:
                self.tally.failed(member.sku, str(exc))
                continue
            values[member.sku] = member_values
            self._add_plan(
                plans, member, member.sku in read, stored, found, magento_categories, (option_info, member_values)
            )
        magento_id = previous[1] if previous else found.get(code)
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
        base = _base_variant(eligible)
        style.base_sku = base.sku
        try:
            fields, _dynamic, _codes = self._fields(
                _as_parent(base, code, any(m.internet_active for m in eligible)),
                magento_categories,
                None,
                type_id=products.TYPE_CONFIGURABLE,
                sku=code,
            )
        except ProductError as exc:
            self.tally.failed(code, str(exc))
            return None
        update_body = mapping.product_body(fields, creating=False, create_only=self.create_only)
        style.base_body = update_body
        known = set(stored) | set(found) | {plan.sku for plan in plans}
        predicted = self._style_hash(style, [sku for sku in values if sku in known])
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

    def _style_hash(self, style: Style, children: Iterable[str]) -> str:
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

    # --- after the saves -----------------------------------------------------------------------------------

    def _after_save(self, plans: list[Plan], outcomes: list[Outcome]) -> set[str]:
        """Store the hashes of what Magento accepted and count each product; the SKUs saved."""
        engine = self.ctx.state_engine
        accepted: dict[str, tuple[str, str | None]] = {}
        attributes: dict[str, tuple[str, None]] = {}
        cleared: list[str] = []
        saved: set[str] = set()
        #: Where each Magento product came from in the POS (`GET /api/v1/links/product/<magento id>`), for
        #: every product whose Magento id is known: the SKU (or style code) it is, and how its save went.
        links: list[tuple[str, str, str, str | None]] = []
        for plan, outcome in zip(plans, outcomes, strict=True):
            if not outcome.ok:
                self.tally.failed(plan.sku, outcome.error or "not saved")
                if plan.magento_id is not None:
                    links.append((plan.magento_id, LINK_FAILED, plan.sku, outcome.error or "not saved"))
                continue
            saved.add(plan.sku)
            result_id = outcome.result.get("id") if isinstance(outcome.result, dict) else None
            plan.magento_id = str(result_id) if result_id is not None else plan.magento_id
            if plan.magento_id is not None:
                links.append((plan.magento_id, LINK_SYNCED, plan.sku, None))
            if plan.simple:
                accepted[plan.sku] = (plan.hash, plan.magento_id)
                attributes.update(
                    {f"{plan.sku}/{code}": (hash_of(value), None) for code, value in plan.attributes.items()}
                )
                cleared.extend(f"{plan.sku}/{code}" for code in plan.cleared)
            if plan.simple:
                (self.tally.created if plan.creating else self.tally.updated)(plan.sku)
        if accepted:
            put_hashes(engine, HASH_PRODUCTS, accepted)
        if attributes:
            put_hashes(engine, HASH_PRODUCT_ATTRIBUTES, attributes)
        if cleared:
            delete_hashes(engine, HASH_PRODUCT_ATTRIBUTES, cleared)
        record_links(engine, LINK_PRODUCT, links)
        return saved

    def _link_styles(self, styles: list[Style], stored: dict, found: dict[str, str], saved: set[str]) -> None:
        """Give each configurable product its options and variants, and store its hash once all is in place."""
        work: list[tuple[Style, list[str], str, bool]] = []
        accepted: dict[str, tuple[str, str | None]] = {}
        for style in styles:
            if style.plan is not None:
                if style.parent_sku not in saved:
                    continue  # the parent's save failed (already counted)
                style.magento_id = style.plan.magento_id or style.magento_id
                if style.plan.hash == DISABLED:
                    accepted[style.parent_sku] = (DISABLED, style.magento_id)
                    continue
            if style.base_body is None:
                continue
            children = [sku for sku in style.values if sku in saved or sku in stored or sku in found]
            value = self._style_hash(style, children)
            if style.stored_hash == value and not self.ctx.force:
                continue
            work.append((style, children, value, style.plan is not None and style.plan.creating))
        results = self.ctx.map(lambda item: self._link(item[0], item[1], item[3]), work)
        self.ctx.check_transient(outcome for outcomes in results for outcome in outcomes.values())
        for (style, _children, value, _created), outcomes in zip(work, results, strict=True):
            failures = {key: outcome for key, outcome in outcomes.items() if not outcome.ok}
            for key, outcome in failures.items():
                self.tally.failed(key, outcome.error or "not linked")
            if not failures:
                accepted[style.parent_sku] = (value, style.magento_id)
        if accepted:
            put_hashes(self.ctx.state_engine, HASH_CONFIGURABLES, accepted)

    def _link(self, style: Style, children: list[str], created: bool) -> dict[str, Outcome]:
        """Add the style's missing options and child links; outcomes by key (the parent SKU or a variant's)."""
        client, parent = self.ctx.client, style.parent_sku
        outcomes: dict[str, Outcome] = {}
        present_options: set[str] = set()
        present_children: set[str] = set()
        if not created:
            read = outcome_of(f"read the options of {parent}", lambda: configurable.options(client, parent))
            linked = outcome_of(f"read the variants of {parent}", lambda: configurable.children(client, parent))
            for outcome in (read, linked):
                if not outcome.ok:
                    return {parent: outcome}
            present_options = {str(option.get("attribute_id")) for option in read.result}
            present_children = {str(child.get("sku")) for child in linked.result}
        for position, (attribute, info) in enumerate(style.options.items()):
            if str(info.attribute_id) in present_options:
                continue
            ids = sorted({style.values[sku][attribute] for sku in children}, key=str)
            outcome = outcome_of(
                f"add option {attribute} to {parent}",
                lambda info=info, ids=ids, position=position: configurable.add_option(
                    client, parent, info.attribute_id, info.label, ids, position=position
                ),
            )
            if not outcome.ok:
                return {parent: outcome}
        for sku in children:
            if sku in present_children:
                continue
            outcome = outcome_of(f"link {sku} to {parent}", lambda sku=sku: configurable.add_child(client, parent, sku))
            if not outcome.ok and ALREADY_ATTACHED not in (outcome.error or ""):
                outcomes[sku] = outcome
        return outcomes

    def _send_new_products(self, plans: list[Plan], found: dict[str, str]) -> None:
        """Images, prices and stock of products new to Magento (earlier runs' watermarks may have passed them)."""
        skus = [plan.sku for plan in plans]
        if not skus:
            return
        fresh = {plan.sku for plan in plans if plan.creating and plan.sku not in found}
        self._push_images(skus, fresh)
        price_push.push_new_products(self.ctx, skus)
        stock_push.push_new_products(self.ctx, skus)

    # --- images -----------------------------------------------------------------------------------------

    def _push_images(self, skus: list[str], fresh: set[str]) -> None:
        for chunk in batches(skus, READ_BATCH):
            result = product_images.sync_images(self.ctx, self.writer, chunk, fresh=fresh)
            self.images_done.update(chunk)
            for sku in result.changed:
                if sku not in result.failed:
                    self.tally.updated(sku)
            for sku, message in result.failed.items():
                self.tally.failed(sku, message)

    def _push_parent_images(self, bases: dict[str, str], fresh: set[str]) -> None:
        """Give configurable products (parent SKU -> first variant) their first variant's images."""
        known = {code for code in get_hashes(self.ctx.state_engine, HASH_CONFIGURABLES, bases)}
        targets = sorted(code for code in bases if code in known and code not in self.images_done)
        if not targets:
            return
        result = product_images.sync_images(
            self.ctx, self.writer, targets, fresh=fresh, sources={code: bases[code] for code in targets}
        )
        self.images_done.update(targets)
        for code, message in result.failed.items():
            self.tally.failed(code, message)

    def _parents_of(self, skus: list[str]) -> dict[str, str]:
        """For the variants among `skus`: their styles' parent SKU -> the variant whose images the parent shows."""
        styles = sorted({p.parent_sku for p in self.ctx.gateway.get_products(skus) if p.parent_sku})
        members: dict[str, list[Product]] = {}
        for product in self.ctx.gateway.get_style(styles) if styles else ():
            members.setdefault(product.parent_sku, []).append(product)
        bases = {}
        for code, variants in members.items():
            eligible = self._eligible(sorted(variants, key=lambda p: p.sku))
            if eligible:
                bases[code] = _base_variant(eligible).sku
        return bases

    def _pushable(self, product: Product) -> bool:
        # A service product the sales write (gift wrapping) is the POS's own: never created in Magento.
        return product.internet_active or (self.settings.push_inactive_products and product.sku not in SERVICE_SKUS)

    def _eligible(self, members: list[Product]) -> list[Product]:
        return [m for m in members if self._pushable(m)]

    def _push_changed_images(self, full: bool, keys: list[str] | None, watermark: Watermark) -> Cursor | None:
        """Images of products in Magento that changed since the last run (or of the keys asked for)."""
        gateway = self.ctx.gateway
        if keys is not None:
            wanted = sorted(self.seen - self.images_done)
            self._push_images(sorted(known_products(self.ctx.state_engine, wanted)), set())
            self._push_parent_images(self._parents_of(wanted), set())
            return None
        retry = [] if full else [sku for sku in watermark.retry if sku not in self.images_done]
        if retry:
            self._push_images(sorted(known_products(self.ctx.state_engine, retry)), set())
            self._push_parent_images(self._parents_of(retry), set())
        reader = Reader(
            gateway.changed_images,
            lambda _keys: [],
            after=None if full else watermark.cursor("images"),
            keys=None,
            retry=[],
            batch_size=READ_BATCH,
            count=gateway.count_images,
            key_of=lambda image: image.id,
            noun="product images",
            refuse=lambda image, problem: self.tally.refused(image.sku, f"image {image.filename!r}: {problem}"),
        )
        for batch in reader.batches():
            skus = sorted({image.sku for image in batch} - self.images_done)
            if skus:
                self._push_images(sorted(known_products(self.ctx.state_engine, skus)), set())
                self._push_parent_images(self._parents_of(skus), set())
        return reader.checkpoint

    # --- Magento lookups ---------------------------------------------------------------------------------

    def _find_in_magento(self, skus: list[str]) -> dict[str, str]:
        """The Magento ids of those of `skus` Magento already has (pushed before the service kept hashes, or
        created there): one search per page of SKUs."""
        if not skus:
            return {}
        client = self.ctx.client
        # A comma inside a SKU would split an `in` filter: such SKUs are looked up one by one.
        plain = [sku for sku in skus if "," not in sku]
        chunks = [
            SearchCriteria().where("sku", chunk, "in").page(len(chunk))
            for chunk in batches(plain, self.settings.magento_page_size)
        ]
        chunks += [SearchCriteria().where("sku", sku).page(1) for sku in skus if "," in sku]
        answers = self.ctx.map(lambda criteria: products.search(client, criteria), chunks)
        wanted = set(skus)
        return {
            str(item["sku"]): str(item["id"])
            for answer in answers
            for item in (answer or {}).get("items") or []
            if str(item.get("sku")) in wanted
        }


def _base_variant(eligible: list[Product]) -> Product:
    """The variant a configurable product takes its data and images from: the first internet-active one."""
    return next((m for m in eligible if m.internet_active), eligible[0])


def _as_parent(base: Product, parent_sku: str, active: bool) -> Product:
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
