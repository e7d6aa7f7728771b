"""Profile endpoints.

Spec: client-server API, "Profiles".
"""

from __future__ import annotations

from typing import Any

from homeserver.api.client.bodies.accounts import PROFILE_FIELD_BODIES
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.errors import Codes, MatrixError
from homeserver.services.accounts.auth import Auth, Requester
from homeserver.services.accounts.profile import ProfileService
from homeserver.types import JsonDict


def _field_value(request: ApiRequest, key: str) -> Any:
    """The value a PUT /profile/{userId}/{keyName} body gives ``key``: checked
    against the field's model, or any JSON value for a custom field."""
    model = PROFILE_FIELD_BODIES.get(key)
    if model is not None:
        return getattr(request.parse(model), key)
    body = request.json()
    if key not in body:
        raise MatrixError(400, f"{key}: missing required field", Codes.MISSING_PARAM)
    return body[key]


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
        requester = await _requester(self.auth, request, key)
        value = _field_value(request, key)
        return await self.profiles.set_field(requester, user_id, key, value)

    async def on_DELETE(self, request: ApiRequest, user_id: str, key: str) -> JsonDict:
        requester = await _requester(self.auth, request, key)
        return await self.profiles.delete_field(requester, user_id, key)


async def _requester(auth: Auth, request: ApiRequest, key: str) -> Requester:
    """The requester; guests may change their display name only (spec,
    "Guest Access")."""
    return await requester_of(auth, request, allow_guest=key == "displayname")
