"""Store views and websites, like Magento_Store."""

from __future__ import annotations

from sandbox.routing import ACL_STORES, ROUTER, Call
from sandbox.state import SandboxState


@ROUTER.route("GET", "/V1/store/storeViews", ACL_STORES)
def store_views(state: SandboxState, call: Call):
    return [dict(view) for view in state.store_views]


@ROUTER.route("GET", "/V1/store/websites", ACL_STORES)
def websites(state: SandboxState, call: Call):
    return [dict(website) for website in state.websites]
