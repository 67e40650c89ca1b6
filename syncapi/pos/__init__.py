"""The reference POS database and the gateway through which the service reads and writes a POS.

Jobs get this process's gateway with `current_gateway()`; see `syncapi.pos.gateway` for the interface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syncapi.pos.gateway import PosGateway
    from syncapi.services import Services

#: The name under which a process's `Services` keeps its POS gateway.
SERVICES_KEY = "pos_gateway"


def gateway_for(svc: Services) -> PosGateway:
    """The POS gateway over `svc`'s POS database, at its `POS_LOCATION_CODE`."""
    from syncapi.pos.sql import SqlPosGateway

    return SqlPosGateway(svc.pos_engine, svc.settings.pos_location_code)


def current_gateway() -> PosGateway:
    """This process's POS gateway, built once per process from its settings."""
    from syncapi import services

    return services.current().extra(SERVICES_KEY, gateway_for)  # noqa: S610  (not Django: Services.extra)
