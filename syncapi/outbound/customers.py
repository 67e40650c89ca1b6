"""Customer push: POS customers created or updated in Magento, Magento ids stored back in the POS.

A POS customer without a Magento id is looked up by email first (the same person may have registered on the
web store) and linked; otherwise created, without a password (Magento's "set your password" mail does the rest)
and without an address. Magento's PUT replaces the whole customer, so an update reads the customer, sets the
fields the POS owns (email, first and last name; the phone on the default billing address when there is one)
and sends the result back: addresses and anything else only Magento holds stay as they were, and when
Magento already has what the POS has, nothing is written.

A POS customer's `customer_group` (a Magento customer group code) is sent as the customer's `group_id`, so
tier prices for that group reach them; codes are matched without regard to case against
`GET /V1/customerGroups/search` (read once per run). A code Magento does not have fails that customer, naming
the code; the group is never created. Without a code, the group Magento holds is left as it is.
"""

from __future__ import annotations

from syncapi.magento import customers as magento_customers
from syncapi.magento import stores
from syncapi.magento.errors import MagentoNotFoundError
from syncapi.magento.writes import Outcome, outcome_of
from syncapi.outbound import mapping
from syncapi.outbound.context import PushContext
from syncapi.outbound.delta import HASH_CUSTOMERS, PosRecords, changed_keys, hash_of
from syncapi.outbound.records import pos_ids, push_records
from syncapi.pos.errors import PosError
from syncapi.pos.gateway import Customer
from syncapi.state import LINK_SYNCED, put_hashes, record_links

KIND = "customers"
#: The links entity of a pushed record (its POS record is the POS id).
LINK_CUSTOMER = "customer"


def push_customers(ctx: PushContext, *, full: bool = False, keys: list[str] | None = None) -> None:
    """One customer run: the ids asked for, or what changed since the last run (everything with `full`)."""
    records = PosRecords(
        ctx.gateway.changed_customers,
        lambda chunk: ctx.gateway.get_customers([int(key) for key in chunk]),
        key_of=lambda customer: str(customer.id),
        count=ctx.gateway.count_customers,
        noun=KIND,
        missing="no such customer in the POS",
    )
    push = CustomerPush(ctx).push
    push_records(ctx, KIND, records, push, full=full, keys=pos_ids(ctx, keys, "customer"), retry_ok=str.isdigit)


class CustomerPush:
    """Pushes customers for one run."""

    def __init__(self, ctx: PushContext):
        self.ctx = ctx
        self._store: tuple[int | None, int | None] | None = None
        self._groups: dict[str, dict] | None = None

    def push(self, records: list[Customer]) -> None:
        """Create, link or update the customers that changed since Magento last accepted them."""
        tally = self.ctx.tally
        wanted = {str(c.id): hash_of(mapping.customer_hash_input(c)) for c in records}
        changed, _stored = changed_keys(self.ctx.state_engine, HASH_CUSTOMERS, wanted, force=self.ctx.force)
        for key in wanted.keys() - changed.keys():
            tally.unchanged(key)
        todo = [c for c in records if str(c.id) in changed]
        results = self.ctx.map(self._push_one, todo)
        self.ctx.check_transient(outcome for outcome, _change in results)
        accepted = {}
        for customer, (outcome, change) in zip(todo, results, strict=True):
            key = str(customer.id)
            if not outcome.ok:
                tally.failed(key, outcome.error or "not written")
                continue
            accepted[key] = (changed[key], outcome.result)
            getattr(tally, change)(key)
        if accepted:
            put_hashes(self.ctx.state_engine, HASH_CUSTOMERS, accepted)
            # The link answers "where did this Magento customer go in the POS" for customers made by a push.
            record_links(
                self.ctx.state_engine,
                LINK_CUSTOMER,
                [(magento_id, LINK_SYNCED, pos_id, None) for pos_id, (_hash, magento_id) in accepted.items()],
            )

    def _push_one(self, customer: Customer) -> tuple[Outcome, str]:
        """Write one customer; `(outcome with the Magento id as result, "created"|"updated"|"unchanged")`."""
        client = self.ctx.client
        label = f"customer {customer.id}"  # ids only: labels end up in logs and run errors (docs/personal-data.md)
        current: dict | None = None
        if customer.magento_id is not None:
            read = outcome_of(f"read {label}", lambda: _get_or_none(client, customer.magento_id))
            if not read.ok:
                return read, "updated"
            current = read.result
        if current is None:
            found = outcome_of(
                f"look up {label} by email", lambda: magento_customers.find_by_email(client, customer.email)
            )
            if not found.ok:
                return found, "updated"
            current = found.result
        group = self._group_id(customer)
        if not group.ok:
            return group, "updated"
        if current is None:
            return self._create(customer, label, group.result), "created"
        magento_id = int(current["id"])
        if customer.magento_id != magento_id:
            linked = self._link(customer, magento_id, label)
            if linked is not None:
                return linked, "updated"
        merged = mapping.merged_customer(current, customer, group.result)
        if _same(merged, current) and not self.ctx.force:
            return Outcome(True, magento_id), "unchanged"
        outcome = outcome_of(f"update {label}", lambda: magento_customers.update(client, magento_id, merged))
        return Outcome(outcome.ok, magento_id, outcome.error, outcome.transient), "updated"

    def _group_id(self, customer: Customer) -> Outcome:
        """The Magento id of the customer's group code (None without one), or why it has none."""
        code = (customer.customer_group or "").strip()
        if not code:
            return Outcome(True, None)
        if self._groups is None:
            read = outcome_of("read customer groups", lambda: magento_customers.group_codes(self.ctx.client))
            if not read.ok:
                return read
            self._groups = read.result
        group = self._groups.get(code.lower())
        if group is None:
            return Outcome(
                False, error=f"customer group {code!r} is not in Magento (create it there, or correct the POS's code)"
            )
        return Outcome(True, int(group["id"]))

    def _create(self, customer: Customer, label: str, group_id: int | None = None) -> Outcome:
        website_id, store_id = self._default_store()
        body = mapping.new_customer_body(customer, website_id=website_id, store_id=store_id, group_id=group_id)
        outcome = outcome_of(f"create {label}", lambda: magento_customers.create(self.ctx.client, body))
        if not outcome.ok:
            return outcome
        magento_id = int(outcome.result["id"])
        return self._link(customer, magento_id, label) or Outcome(True, magento_id)

    def _link(self, customer: Customer, magento_id: int, label: str) -> Outcome | None:
        try:
            self.ctx.gateway.set_customer_magento_id(customer.id, magento_id)
        except PosError as exc:
            return Outcome(
                False, error=f"{label} is Magento customer {magento_id}, but the POS refused the link: {exc}"
            )
        return None

    def _default_store(self) -> tuple[int | None, int | None]:
        """The website and store view new customers belong to: the first active store view's (read once)."""
        if self._store is None:
            views = [v for v in stores.store_views(self.ctx.client) if int(v.get("id", 0)) != 0]
            view = next((v for v in views if v.get("is_active", 1)), views[0] if views else None)
            self._store = (int(view["website_id"]), int(view["id"])) if view else (None, None)
        return self._store


def _get_or_none(client, customer_id: int) -> dict | None:
    try:
        return magento_customers.get(client, customer_id)
    except MagentoNotFoundError:
        return None  # deleted in Magento: found again by email, or created again


def _same(merged: dict, current: dict) -> bool:
    return all(current.get(key) == value for key, value in merged.items())
