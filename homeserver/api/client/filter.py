"""Filter endpoints.

Spec: client-server API, "Filtering" (POST/GET /user/{userId}/filter).
"""

from __future__ import annotations

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.sync.filter_service import FilterService
from homeserver.types import JsonDict


class CreateFilterEndpoint:
    """POST /user/{userId}/filter."""

    PATTERNS = client_patterns("/user/{user_id}/filter")

    def __init__(self, auth: Auth, filters: FilterService) -> None:
        self.auth = auth
        self.filters = filters

    async def on_POST(self, request: ApiRequest, user_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.filters.create(requester, user_id, request.json())


class GetFilterEndpoint:
    """GET /user/{userId}/filter/{filterId}."""

    PATTERNS = client_patterns("/user/{user_id}/filter/{filter_id}")

    def __init__(self, auth: Auth, filters: FilterService) -> None:
        self.auth = auth
        self.filters = filters

    async def on_GET(
        self, request: ApiRequest, user_id: str, filter_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.filters.get(requester, user_id, filter_id)
