"""Room aliases and the published room directory.

Spec: client-server API, "Room aliases" (directory.yaml) and "Published room
directory" (list_public_rooms.yaml).
"""

from __future__ import annotations

from homeserver.api.client.bodies.directory import (
    AliasBody,
    AppServiceDirectoryBody,
    DirectoryVisibilityBody,
    PublicRoomsBody,
)
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.rooms.directory import DirectoryService
from homeserver.services.rooms.room_list import PublicRoomsQuery, RoomListService
from homeserver.types import JsonDict


class RoomAliasEndpoint:
    """GET, PUT, DELETE /directory/room/{roomAlias}."""

    PATTERNS = client_patterns("/directory/room/{room_alias}")

    def __init__(self, auth: Auth, directory: DirectoryService) -> None:
        self.auth = auth
        self.directory = directory

    async def on_GET(self, request: ApiRequest, room_alias: str) -> JsonDict:
        # No access token needed: the spec gives this endpoint no security.
        return await self.directory.get_alias(room_alias)

    async def on_PUT(self, request: ApiRequest, room_alias: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(AliasBody)
        await self.directory.set_alias(requester, room_alias, body.room_id)
        return {}

    async def on_DELETE(self, request: ApiRequest, room_alias: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        await self.directory.delete_alias(requester, room_alias)
        return {}


class RoomAliasesEndpoint:
    """GET /rooms/{roomId}/aliases."""

    PATTERNS = client_patterns("/rooms/{room_id}/aliases")

    def __init__(self, auth: Auth, directory: DirectoryService) -> None:
        self.auth = auth
        self.directory = directory

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.directory.get_room_aliases(requester, room_id)


class DirectoryVisibilityEndpoint:
    """GET, PUT /directory/list/room/{roomId}."""

    PATTERNS = client_patterns("/directory/list/room/{room_id}")

    def __init__(self, auth: Auth, directory: DirectoryService) -> None:
        self.auth = auth
        self.directory = directory

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        # No access token needed: the spec gives this endpoint no security.
        return await self.directory.get_visibility(room_id)

    async def on_PUT(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(DirectoryVisibilityBody, allow_empty=True)
        await self.directory.set_visibility(requester, room_id, body.visibility)
        return {}


class AppServiceDirectoryEndpoint:
    """PUT /directory/list/appservice/{networkId}/{roomId} (application
    service API, "Published room directories")."""

    PATTERNS = client_patterns("/directory/list/appservice/{network_id}/{room_id}")

    def __init__(self, auth: Auth, directory: DirectoryService) -> None:
        self.auth = auth
        self.directory = directory

    async def on_PUT(
        self, request: ApiRequest, network_id: str, room_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(AppServiceDirectoryBody)
        await self.directory.set_appservice_visibility(
            requester, network_id, room_id, body.visibility == "public"
        )
        return {}


class PublicRoomsEndpoint:
    """GET, POST /publicRooms.

    Args:
        allow_without_auth: serve GET to clients without an access token
            (``room_directory.allow_public_rooms_without_auth``). A token that
            is given is always checked, and POST always needs one (spec).
    """

    PATTERNS = client_patterns("/publicRooms")

    def __init__(
        self, auth: Auth, room_list: RoomListService, allow_without_auth: bool
    ) -> None:
        self.auth = auth
        self.room_list = room_list
        self.allow_without_auth = allow_without_auth

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        if not (self.allow_without_auth and request.access_token() is None):
            await requester_of(self.auth, request, allow_guest=True)
        query = PublicRoomsQuery(
            limit=request.query_int("limit"),
            since=request.query_str("since"),
            server=request.query_str("server"),
            # Not in the spec's GET form; accepted as Synapse does.
            third_party_instance_id=request.query_str("third_party_instance_id"),
            include_all_networks=request.query_bool("include_all_networks"),
        )
        return await self.room_list.get_public_rooms(query)

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        await requester_of(self.auth, request, allow_guest=True)
        body = request.parse(PublicRoomsBody, allow_empty=True)
        query = body.query(request.query_str("server"))
        return await self.room_list.get_public_rooms(query)
