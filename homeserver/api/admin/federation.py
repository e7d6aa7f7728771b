"""Admin API of the outbound federation queues, at Synapse's paths.

``GET /_synapse/admin/v1/federation/destinations`` (``from``, ``limit``),
``GET .../destinations/{destination}``, ``GET
.../destinations/{destination}/rooms`` (``from``, ``limit``, ``dir``) and
``POST .../destinations/{destination}/reset_connection``.
"""

from __future__ import annotations

from typing import Any

from homeserver.api.http.auth import admin_of
from homeserver.api.http.request import ApiRequest
from homeserver.errors import InvalidParam
from homeserver.federation.sender.admin import DestinationAdmin
from homeserver.services.accounts.auth import Auth
from homeserver.types import JsonDict

DESTINATIONS = "/_synapse/admin/v1/federation/destinations"


class DestinationsEndpoint:
    """GET /_synapse/admin/v1/federation/destinations."""

    PATTERNS = [DESTINATIONS]

    def __init__(self, auth: Auth, admin: DestinationAdmin) -> None:
        self.auth = auth
        self.admin = admin

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.admin.list_destinations(
            request.query_int("from", 0) or 0, request.query_int("limit", 100) or 100
        )


class DestinationEndpoint:
    """GET /_synapse/admin/v1/federation/destinations/{destination}."""

    PATTERNS = [f"{DESTINATIONS}/{{destination}}"]

    def __init__(self, auth: Auth, admin: DestinationAdmin) -> None:
        self.auth = auth
        self.admin = admin

    async def on_GET(self, request: ApiRequest, destination: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.admin.get_destination(destination)


class DestinationRoomsEndpoint:
    """GET .../destinations/{destination}/rooms (synapse-admin's
    "destination rooms")."""

    PATTERNS = [f"{DESTINATIONS}/{{destination}}/rooms"]

    def __init__(self, auth: Auth, admin: DestinationAdmin) -> None:
        self.auth = auth
        self.admin = admin

    async def on_GET(self, request: ApiRequest, destination: str) -> JsonDict:
        await admin_of(self.auth, request)
        direction = request.query_str("dir") or "f"
        if direction not in ("f", "b"):
            raise InvalidParam("Unknown direction: dir must be 'f' or 'b'")
        return await self.admin.destination_rooms(
            destination,
            request.query_int("from", 0) or 0,
            request.query_int("limit", 100) or 100,
            direction == "b",
        )


class ResetConnectionEndpoint:
    """POST .../destinations/{destination}/reset_connection."""

    PATTERNS = [f"{DESTINATIONS}/{{destination}}/reset_connection"]

    def __init__(self, auth: Auth, admin: DestinationAdmin) -> None:
        self.auth = auth
        self.admin = admin

    async def on_POST(self, request: ApiRequest, destination: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.admin.reset_connection(destination)


def destination_endpoints(auth: Auth, admin: DestinationAdmin) -> list[Any]:
    """Every endpoint of this module."""
    return [
        DestinationsEndpoint(auth, admin),
        DestinationEndpoint(auth, admin),
        DestinationRoomsEndpoint(auth, admin),
        ResetConnectionEndpoint(auth, admin),
    ]
