"""A Magento 2.4 store in a box, for tests and `make run`: `python -m sandbox --port 8081`.

A real HTTP server with in-memory state that answers the REST routes the service uses the way Magento 2.4.8
does: OAuth 1.0a (or, when allowed, bearer) authentication, ACL refusals, `{"message", "parameters"}` errors,
searchCriteria, the async bulk API with a background consumer, and Magento's known traps. With a schema
(`--schema`), every request body is checked against Adobe's published REST schema. `/_sandbox/...` holds the
test controls (see `control`); `SandboxControl` drives them over HTTP.

It is its own program beside the service and imports nothing of it. Its modules follow Magento's: `catalog/`
(products, media, configurable, attributes, categories, prices), `inventory`, `customers`, `sales`, `store`,
`bulk` and `auth`; `server` dispatches each request through `routing` to them, with `state` (the store's
memory), `schema` (body validation), `search` (searchCriteria), `seed` (what a fresh store holds) and `errors`.
"""

from __future__ import annotations

from sandbox.remote import SandboxControl
from sandbox.server import Sandbox
from sandbox.state import Config

__all__ = ["Config", "Sandbox", "SandboxControl"]
