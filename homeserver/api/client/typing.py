"""Typing notifications.

Spec: client-server API, "Typing Notifications".
"""

from __future__ import annotations

from homeserver.api.client.bodies.sync_data import TypingBody
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.sync_data.typing import TypingService
from homeserver.types import JsonDict


class TypingEndpoint:
    """PUT /rooms/{roomId}/typing/{userId}."""

    PATTERNS = client_patterns("/rooms/{room_id}/typing/{user_id}")

    def __init__(self, auth: Auth, typing: TypingService) -> None:
        self.auth = auth
        self.typing = typing

    async def on_PUT(self, request: ApiRequest, room_id: str, user_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(TypingBody)
        return await self.typing.set_typing(
            requester, room_id, user_id, body.typing, body.timeout
        )
