"""The reference POS database and the gateway through which the service reads and writes a POS.

A process's gateway is `Services.pos` (built by `gateway_for`); see `syncapi.pos.gateway` for the interface.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from syncapi.pos.gateway import PosGateway


def gateway_for(engine: Engine, location_code: str) -> PosGateway:
    """The POS gateway over the POS database behind `engine`, at location `location_code` (POS_LOCATION_CODE)."""
    from syncapi.pos.sql import SqlPosGateway  # the SQL gateway loads the POS models only when a POS is used

    return SqlPosGateway(engine, location_code)
