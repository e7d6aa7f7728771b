"""Upgrading a room to another room version.

Spec: client-server API, "Room Upgrades" (room_upgrades.yaml).
"""

from __future__ import annotations

from homeserver.api.client.bodies.rooms import RoomUpgradeBody
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.rooms.room_upgrade import RoomUpgradeService
from homeserver.types import JsonDict


class RoomUpgradeEndpoint:
    """POST /rooms/{roomId}/upgrade."""

    PATTERNS = client_patterns("/rooms/{room_id}/upgrade")

    def __init__(self, auth: Auth, upgrades: RoomUpgradeService) -> None:
        self.auth = auth
        self.upgrades = upgrades

    async def on_POST(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(RoomUpgradeBody)
        return await self.upgrades.upgrade_room(
            requester, room_id, body.new_version, body.additional_creators
        )
