"""Product push: POS products (variants as configurable products), their dynamic attributes and images.

A run reads the POS products asked for (or changed since the last run) in batches, and per batch:

1. looks up what Magento needs: the attribute set by name and its attributes (once per run), option ids of
   select values (creating missing options once), the Magento ids of the products' categories (pushing
   categories Magento lacks first), and, for SKUs the service has not pushed yet, whether Magento already has
   them (one search per page of SKUs);
2. plans the batch (`product_plan`): maps each product to the body of the fields the POS owns (see
   `mapping.product_body`); a product whose body hashes as it did when Magento last accepted it is left alone;
3. saves the rest (`syncapi.magento.writes.BulkWriter`: async bulk or concurrent PUTs), stores their hashes,
   then for each configurable product adds its options and links its variants, and for every product new to
   Magento sends its images, prices and stock;

then sends the images that changed since the last run. Products that are not internet-active are not sent
(PUSH_INACTIVE_PRODUCTS off; one already in Magento is disabled, never deleted), or sent disabled (on).
"""

from __future__ import annotations

import logging

from syncapi.magento import configurable, products
from syncapi.magento.client import batches
from syncapi.magento.writes import Batching, BulkWriter, Outcome, outcome_of
from syncapi.outbound import images as product_images
from syncapi.outbound import mapping
from syncapi.outbound import prices as price_push
from syncapi.outbound import stock as stock_push
from syncapi.outbound.categories import CategoryPush
from syncapi.outbound.common import NOT_IN_POS
from syncapi.outbound.context import READ_BATCH, PushContext
from syncapi.outbound.delta import (
    HASH_CONFIGURABLES,
    HASH_PRODUCT_ATTRIBUTES,
    HASH_PRODUCTS,
    PosRecords,
    Reader,
    Watermark,
    hash_of,
    known_products,
    load_watermark,
    save_watermark,
)
from syncapi.outbound.product_plan import DISABLED, Known, Plan, ProductPlanner, Style, base_variant
from syncapi.outbound.translations import push_translations
from syncapi.pos.gateway import Cursor, Product
from syncapi.state import LINK_FAILED, LINK_SYNCED, delete_hashes, get_hashes, put_hashes, record_links
from syncapi.textcheck import record_problem

log = logging.getLogger(__name__)

KIND = "products"
#: Products read from the POS per batch. Larger than other kinds' batches: reading a whole catalogue costs the
#: POS one sort of every changed row per batch (on SQLite the change time of a product is computed, so no index
#: serves it), and 100,000 products read 500 at a time took 90 s where 2,000 at a time take 24 s.
PRODUCT_READ_BATCH = 2000
#: The links entity of a Magento product (its POS record is the SKU).
LINK_PRODUCT = "product"
#: Magento's answer when a variant is linked twice (harmless: the link is there).
ALREADY_ATTACHED = "already attached"


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
        self.writer = BulkWriter(ctx.client, ctx.batching, use_bulk=ctx.settings.magento_use_bulk)
        self.categories = CategoryPush(ctx, None)
        create_only, refused = mapping.create_only_codes(self.settings.product_create_only_fields)
        self.planner = ProductPlanner(ctx, self.categories, create_only)
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
        catalogue = PosRecords(
            self.ctx.gateway.changed_products,
            self._read_keys,
            key_of=lambda product: product.sku,
            count=self.ctx.gateway.count_products,
            noun="products",
        )
        reader = Reader(
            catalogue,
            after=None if full else watermark.cursor(),
            keys=keys,
            retry=[] if full or keys is not None else watermark.retry,
            batch_size=PRODUCT_READ_BATCH,
            refuse=lambda product, problem: self.tally.refused(product.sku, problem),
        )
        for batch in reader.batches():
            self.push_batch(batch)
        for key in keys or ():
            if key not in self.seen and not self.tally.counted(key):
                self.tally.failed(key, NOT_IN_POS)
        images_cursor = self._push_changed_images(full, keys, watermark)
        # Store-view values last: a translation needs its product in Magento.
        push_translations(self.ctx, self.writer, None if keys is None else sorted(self.seen))
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

        known = Known(read, stored, stored_styles, found, magento_categories)
        plans, style_list = self.planner.plan(by_sku, styles, known)

        outcomes = products.save_all(self.writer, [plan.body for plan in plans])
        saved = self._after_save(plans, outcomes)
        live_styles = [style for style in style_list if style is not None]
        self._link_styles(live_styles, stored, found, saved)
        newly_known = [plan for plan in plans if plan.sku in saved and plan.sku not in stored and plan.simple]
        self._send_new_products(newly_known, found)
        fresh_parents = {s.parent_sku for s in live_styles if s.plan is not None and s.plan.creating} - set(found)
        failed = self.tally.failed_keys
        bases = {s.parent_sku: s.base_sku for s in live_styles if s.base_sku and s.parent_sku not in failed}
        self._push_parent_images(bases, fresh_parents)

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
            value = self.planner.style_hash(style, children)
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
            eligible = self.planner.eligible(sorted(variants, key=lambda p: p.sku))
            if eligible:
                bases[code] = base_variant(eligible).sku
        return bases

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
        images = PosRecords(
            gateway.changed_images,
            lambda _keys: [],
            key_of=lambda image: image.id,
            count=gateway.count_images,
            noun="product images",
        )
        reader = Reader(
            images,
            after=None if full else watermark.cursor("images"),
            keys=None,
            retry=[],
            batch_size=READ_BATCH,
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
        batching = Batching(self.settings.magento_page_size, self.ctx.map)
        return products.ids_by_sku(self.ctx.client, skus, batching)
