"""The legacy initial sync: GET /initialSync and GET /rooms/{roomId}/initialSync.

Spec: client-server API, the deprecated "GET /initialSync" and
"GET /rooms/{roomId}/initialSync", which Synapse still serves.
"""

from __future__ import annotations

from homeserver.api.client.paging import limit_param
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.extras.initial_sync import InitialSyncService
from homeserver.types import JsonDict


class InitialSyncEndpoint:
    """GET /initialSync?limit=&archived=."""

    PATTERNS = client_patterns("/initialSync")

    def __init__(self, auth: Auth, service: InitialSyncService) -> None:
        self.auth = auth
        self.service = service

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.service.initial_sync(
            requester, limit_param(request), request.query_bool("archived", False)
        )


class RoomInitialSyncEndpoint:
    """GET /rooms/{roomId}/initialSync?limit=."""

    PATTERNS = client_patterns("/rooms/{room_id}/initialSync")

    def __init__(self, auth: Auth, service: InitialSyncService) -> None:
        self.auth = auth
        self.service = service

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        return await self.service.room_initial_sync(
            requester, room_id, limit_param(request)
        )
