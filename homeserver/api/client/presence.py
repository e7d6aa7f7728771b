"""Presence endpoints.

Spec: client-server API, "Presence" (``/presence/{userId}/status``).
"""

from __future__ import annotations

import attrs

from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.presence.presence import PresenceService
from homeserver.types import JsonDict


@attrs.frozen(kw_only=True)
class SetPresenceBody:
    """The body of PUT /presence/{userId}/status.

    ``presence`` is checked against the spec's values by the service (400
    M_INVALID_PARAM); a missing or non-string field is 400 M_BAD_JSON here.
    """

    presence: str
    status_msg: str | None = None


class PresenceStatusEndpoint:
    """GET and PUT /presence/{userId}/status."""

    PATTERNS = client_patterns("/presence/{user_id}/status")

    def __init__(self, auth: Auth, presence: PresenceService) -> None:
        self.auth = auth
        self.presence = presence

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        requester = await self.auth.get_user_by_req(request)
        return await self.presence.get_status(requester, user_id)

    async def on_PUT(self, request: ApiRequest, user_id: str) -> JsonDict:
        requester = await self.auth.get_user_by_req(request)
        body = request.parse(SetPresenceBody)
        await self.presence.set_status(
            requester, user_id, body.presence, body.status_msg
        )
        return {}
