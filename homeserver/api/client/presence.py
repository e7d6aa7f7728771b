"""Presence endpoints.

Spec: client-server API, "Presence" (``/presence/{userId}/status``).
"""

from __future__ import annotations

from homeserver.api.client.bodies.sync_data import PresenceBody
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.presence.presence import PresenceService
from homeserver.types import JsonDict


class PresenceStatusEndpoint:
    """GET and PUT /presence/{userId}/status."""

    PATTERNS = client_patterns("/presence/{user_id}/status")

    def __init__(self, auth: Auth, presence: PresenceService) -> None:
        self.auth = auth
        self.presence = presence

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.presence.get_status(requester, user_id)

    async def on_PUT(self, request: ApiRequest, user_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(PresenceBody)
        await self.presence.set_status(
            requester, user_id, body.presence, body.status_msg
        )
        return {}
