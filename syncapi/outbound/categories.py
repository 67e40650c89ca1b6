"""Category push: the POS category tree into Magento, parents before children, Magento ids stored back.

A POS category without a Magento id is created under its parent's Magento category (a top-level one under the
store's root category, "Default Category") and its new id is written back to the POS with
`set_category_magento_id`. One with a Magento id is read first: when Magento already has the POS's name
nothing is written (a category imported from Magento costs no write), else the name is updated. A category
deleted in Magento is created again. Moves are not pushed (Magento moves categories with a separate call
that rewrites every URL below them): a category the POS moved is reported, to be moved in Magento by hand.

The product push calls `magento_ids()` for the categories its products use, so categories reach Magento before
the products that link to them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from syncapi.magento import categories as magento_categories
from syncapi.magento import stores
from syncapi.magento.errors import (
    MagentoAuthError,
    MagentoNotFoundError,
    MagentoPermanentError,
    MagentoTransientError,
)
from syncapi.magento.writes import Outcome, outcome_of, refused
from syncapi.outbound import mapping
from syncapi.outbound.context import PushContext, Tally, push_lock
from syncapi.outbound.delta import HASH_CATEGORIES, PosRecords, hash_of
from syncapi.outbound.records import pos_ids, push_records
from syncapi.pos.errors import PosError
from syncapi.pos.gateway import Category
from syncapi.state import LINK_SYNCED, get_hashes, put_hashes, record_links

log = logging.getLogger(__name__)

KIND = "categories"
#: The links entity of a pushed record (its POS record is the POS id).
LINK_CATEGORY = "category"
#: Deepest category tree walked up from a category to its top (guards against a cycle in the POS data).
MAX_DEPTH = 50


def push_categories(ctx: PushContext, *, full: bool = False, keys: list[str] | None = None) -> None:
    """One category run: the ids asked for, or what changed since the last run (everything with `full`)."""
    pusher = CategoryPush(ctx, ctx.tally)
    records = PosRecords(
        ctx.gateway.changed_categories,
        lambda chunk: ctx.gateway.get_categories([int(key) for key in chunk]),
        key_of=lambda category: str(category.id),
        count=ctx.gateway.count_categories,
        noun=KIND,
        missing="no such category in the POS",
    )
    push_records(ctx, KIND, records, pusher.push, full=full, keys=pos_ids(ctx, keys, "category"), retry_ok=str.isdigit)


def stored_hash(name: str, parent_magento_id: int, magento_id: int) -> str:
    """What `sync_hashes` keeps for a pushed category: the hash of its body bound to the Magento id it was written
    to, so a category whose Magento id changed in the POS is checked again. The id itself lives in the POS alone
    (`categories.magento_id`); state revision 0003 moved the ids hashes kept before into this form."""
    return hash_of(
        {"body": hash_of(mapping.category_hash_input(name, parent_magento_id)), "magento_id": str(magento_id)}
    )


class CategoryPush:
    """Pushes categories; `tally` None when working for another kind's run (then failures are its errors)."""

    def __init__(self, ctx: PushContext, tally: Tally | None):
        self.ctx = ctx
        self.tally = tally
        self._root_id: int | None = None
        #: Magento ids known in this run, by POS id (from the POS, or just created).
        self._magento_ids: dict[int, int] = {}
        self._failed: dict[int, str] = {}

    # --- for the product push ------------------------------------------------------------------------

    def magento_ids(self, pos_ids: Iterable[int]) -> dict[int, int | None]:
        """The Magento category id of each POS category, pushing those not in Magento yet (None: could not)."""
        wanted = sorted(set(pos_ids))
        missing = [pos_id for pos_id in wanted if pos_id not in self._magento_ids and pos_id not in self._failed]
        if missing:
            found = self.ctx.gateway.get_categories(missing)
            for category in found:
                if category.magento_id is not None:
                    self._magento_ids[category.id] = category.magento_id
            to_push = [category for category in found if category.magento_id is None]
            if to_push:
                with push_lock(self.ctx.svc, KIND):
                    self.push(to_push)
            for pos_id in set(missing) - {category.id for category in found}:
                self._failed[pos_id] = f"category {pos_id} is not in the POS"
        return {pos_id: self._magento_ids.get(pos_id) for pos_id in wanted}

    def failure(self, pos_id: int) -> str:
        """Why category `pos_id` is not in Magento."""
        return self._failed.get(pos_id, f"category {pos_id} could not be pushed to Magento")

    # --- pushing ---------------------------------------------------------------------------------------

    def root_id(self) -> int:
        """The store's root category (its top-level categories go under it), read once."""
        if self._root_id is None:
            views = [v for v in stores.store_views(self.ctx.client) if int(v.get("id", 0)) != 0]
            code = next((v["code"] for v in views if v.get("is_active", 1)), views[0]["code"] if views else "default")
            self._root_id = int(magento_categories.tree(self.ctx.client, depth=0, store=code)["id"])
        return self._root_id

    def push(self, records: list[Category]) -> None:
        """Create or update `records` in Magento, their ancestors that are not there yet first."""
        tree = {category.id: category for category in records}
        in_run = set(tree)
        self._load_ancestors(tree, in_run)
        stored = get_hashes(self.ctx.state_engine, HASH_CATEGORIES, [str(pos_id) for pos_id in tree])
        for level in self._levels(tree):
            todo: list[tuple[Category, int]] = []
            for category in level:
                parent_id = self._parent_magento_id(category, tree)
                if parent_id is None:
                    self._fail(category.id, f"its parent category {category.parent_id} is not in Magento")
                    continue
                if category.id not in in_run and category.magento_id is not None:
                    self._magento_ids[category.id] = category.magento_id
                    continue  # an ancestor already in Magento: only its id was needed
                todo.append((category, parent_id))
            outcomes = self.ctx.map(lambda item: self._push_one(item[0], item[1], stored), todo)
            self.ctx.check_transient(outcome for outcome, _change in outcomes)
            accepted: dict[str, tuple[str, None]] = {}
            links = []
            for (category, parent_id), (outcome, change) in zip(todo, outcomes, strict=True):
                if not outcome.ok:
                    self._fail(category.id, outcome.error or "not written")
                    continue
                magento_id = int(outcome.result)
                self._magento_ids[category.id] = magento_id
                accepted[str(category.id)] = (stored_hash(category.name, parent_id, magento_id), None)
                links.append((magento_id, LINK_SYNCED, str(category.id), None))
                if self.tally is not None and category.id in in_run:
                    getattr(self.tally, change)(str(category.id))
            if accepted:
                put_hashes(self.ctx.state_engine, HASH_CATEGORIES, accepted)
                # The link answers "where did this Magento category go in the POS" for categories made by a push.
                record_links(self.ctx.state_engine, LINK_CATEGORY, links)

    def _push_one(self, category: Category, parent_id: int, stored: dict) -> tuple[Outcome, str]:
        """Write one category; `(outcome with the Magento id as result, "created"|"updated"|"unchanged")`."""
        previous = stored.get(str(category.id))
        if category.magento_id is not None:
            unchanged = previous is not None and previous[0] == stored_hash(
                category.name, parent_id, category.magento_id
            )
            if unchanged and not self.ctx.force:
                return Outcome(True, category.magento_id), "unchanged"
            updated = self._update(category, parent_id)
            if updated is not None:
                return updated
        return self._create(category, parent_id), "created"

    def _update(self, category: Category, parent_id: int) -> tuple[Outcome, str] | None:
        """Bring an existing Magento category in line; None when Magento no longer has it (create it again)."""
        client, magento_id = self.ctx.client, category.magento_id
        action = f"update category {category.id} ({category.name})"
        try:
            current = magento_categories.get(client, magento_id)
        except MagentoNotFoundError:
            log.info("category deleted in Magento; creating it again", extra={"category_id": category.id})
            return None
        except MagentoAuthError:
            raise
        except MagentoPermanentError as exc:
            return Outcome(False, error=refused(action, exc)), "updated"
        except MagentoTransientError as exc:
            return Outcome(False, error=f"{action}: {exc.message}", transient=True), "updated"
        if int(current.get("parent_id") or 0) != parent_id:
            self.ctx.report_once(
                f"category-moved-{category.id}",
                f"category {category.id} ({category.name}) has another parent in the POS than in Magento; "
                "moves are not pushed: move it in Magento",
                key=str(category.id),
            )
        if current.get("name") == category.name and not self.ctx.force:
            return Outcome(True, magento_id), "unchanged"
        body = {"name": category.name}
        outcome = outcome_of(action, lambda: magento_categories.update(client, magento_id, body))
        return Outcome(outcome.ok, magento_id, outcome.error, outcome.transient), "updated"

    def _create(self, category: Category, parent_id: int) -> Outcome:
        client = self.ctx.client
        body = mapping.category_body(category.name, parent_id, creating=True)
        outcome = outcome_of(
            f"create category {category.id} ({category.name})", lambda: magento_categories.create(client, body)
        )
        if not outcome.ok:
            return outcome
        magento_id = int(outcome.result["id"])
        try:
            self.ctx.gateway.set_category_magento_id(category.id, magento_id)
        except PosError as exc:
            return Outcome(
                False, error=f"created as Magento category {magento_id}, but the POS refused the link: {exc}"
            )
        return Outcome(True, magento_id)

    def _fail(self, pos_id: int, message: str) -> None:
        self._failed[pos_id] = message
        if self.tally is not None:
            self.tally.failed(str(pos_id), message)
        else:
            self.ctx.report_once(f"category-{pos_id}", f"category {pos_id}: {message}", key=f"category {pos_id}")

    def _parent_magento_id(self, category: Category, tree: dict[int, Category]) -> int | None:
        if category.parent_id is None:
            return self.root_id()
        if category.parent_id in self._magento_ids:
            return self._magento_ids[category.parent_id]
        parent = tree.get(category.parent_id)
        return parent.magento_id if parent is not None and parent.id not in self._failed else None

    def _load_ancestors(self, tree: dict[int, Category], in_run: set[int]) -> None:
        """Add to `tree` the ancestors its categories need: up to the first one already in Magento."""
        for _ in range(MAX_DEPTH):
            wanted = {
                c.parent_id
                for c in tree.values()
                if c.parent_id is not None
                and (c.id in in_run or c.magento_id is None)
                and c.parent_id not in tree
                and c.parent_id not in self._magento_ids
                and c.parent_id not in self._failed
            }
            if not wanted:
                return
            for parent in self.ctx.gateway.get_categories(sorted(wanted)):
                tree[parent.id] = parent
            for missing in wanted - set(tree):
                self._failed[missing] = f"category {missing} is not in the POS"

    def _levels(self, tree: dict[int, Category]) -> list[list[Category]]:
        """`tree`'s categories grouped by depth, parents first (a cycle is cut where it closes)."""
        depths: dict[int, int] = {}

        def depth(category: Category) -> int:
            seen: list[int] = []
            current: Category | None = category
            while current is not None and current.id not in depths and current.id not in seen:
                seen.append(current.id)
                current = tree.get(current.parent_id) if current.parent_id is not None else None
            base = depths.get(current.id, -1) if current is not None and current.id in depths else -1
            for offset, pos_id in enumerate(reversed(seen)):
                depths[pos_id] = base + 1 + offset
            return depths[category.id]

        levels: dict[int, list[Category]] = {}
        for category in sorted(tree.values(), key=lambda c: c.id):
            levels.setdefault(depth(category), []).append(category)
        return [levels[level] for level in sorted(levels)]
