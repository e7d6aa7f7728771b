"""Profile endpoints.

Spec: client-server API, "Profiles".
"""

from __future__ import annotations

from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.accounts.profile import ProfileService
from homeserver.types import JsonDict


class ProfileEndpoint:
    """GET /profile/{userId}."""

    PATTERNS = client_patterns("/profile/{user_id}")

    def __init__(self, profiles: ProfileService) -> None:
        self.profiles = profiles

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        return await self.profiles.get_profile(user_id)


class ProfileFieldEndpoint:
    """GET, PUT and DELETE /profile/{userId}/{keyName}."""

    PATTERNS = client_patterns("/profile/{user_id}/{key}")

    def __init__(self, auth: Auth, profiles: ProfileService) -> None:
        self.auth = auth
        self.profiles = profiles

    async def on_GET(self, request: ApiRequest, user_id: str, key: str) -> JsonDict:
        return await self.profiles.get_field(user_id, key)

    async def on_PUT(self, request: ApiRequest, user_id: str, key: str) -> JsonDict:
        requester = await self.auth.get_user_by_req(request)
        return await self.profiles.set_field(requester, user_id, key, request.json())

    async def on_DELETE(self, request: ApiRequest, user_id: str, key: str) -> JsonDict:
        requester = await self.auth.get_user_by_req(request)
        return await self.profiles.delete_field(requester, user_id, key)
