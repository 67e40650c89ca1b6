"""Customer groups, like Magento_Customer's group repository: read and searched, never written by the service.

A fresh store has Magento's four: NOT LOGGED IN (0), General (1), Wholesale (2), Retailer (3). Tests add more
with the control API (`POST /_sandbox/customer-groups`). Codes are unique without regard to case, as MySQL's
default collation compares them.
"""

from __future__ import annotations

from sandbox import search
from sandbox.errors import no_such_entity
from sandbox.routing import ROUTER, Call, int_or_none
from sandbox.state import SandboxState

#: What the tier-price API accepts (any case) for "every group"; stored and read back in lower case.
ALL_GROUPS = "all groups"
#: The ACL resource of the group repository's reads (Magento_Customer's webapi.xml).
ACL_GROUPS = "Magento_Customer::group"


def group_by_code(state: SandboxState, code: str) -> dict | None:
    """The group whose code is `code`, compared without case."""
    wanted = code.strip().lower()
    return next((g for g in state.customer_groups.values() if g["code"].lower() == wanted), None)


@ROUTER.route("GET", "/V1/customerGroups/search", ACL_GROUPS)
def search_groups(state: SandboxState, call: Call):
    return search.apply([dict(g) for g in state.customer_groups.values()], search.parse(call.query))


@ROUTER.route("GET", "/V1/customerGroups/{id}", ACL_GROUPS)
def get_group(state: SandboxState, call: Call):
    group = state.customer_groups.get(int_or_none(call.params["id"]))
    if group is None:
        raise no_such_entity("id", call.params["id"])
    return dict(group)
