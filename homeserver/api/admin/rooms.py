"""Room admin API endpoints at Synapse's paths (``docs/admin_api/rooms.md``
and ``purge_history_api.md``): list, details, members, state, delete (v1 and
v2 with status), block, make room admin and purge history."""

from __future__ import annotations

from typing import Any

from homeserver.api.admin.room_bodies import (
    BlockRoomBody,
    DeleteRoomBody,
    JoinRoomBody,
    MakeRoomAdminBody,
    PurgeHistoryBody,
)
from homeserver.api.http.auth import admin_of
from homeserver.api.http.request import ApiRequest
from homeserver.errors import InvalidParam
from homeserver.services.accounts.auth import Auth
from homeserver.services.rooms.history_purge import HistoryPurge
from homeserver.services.rooms.room_admin import ORDER_BY, RoomAdmin, RoomQuery
from homeserver.services.rooms.room_shutdown import RoomShutdown
from homeserver.types import JsonDict

ADMIN_V1 = "/_synapse/admin/v1"
ADMIN_V2 = "/_synapse/admin/v2"


def _optional_bool(request: ApiRequest, name: str) -> bool | None:
    return None if request.query_str(name) is None else request.query_bool(name)


def room_query(request: ApiRequest) -> RoomQuery:
    """The filters, order and page of GET /_synapse/admin/v1/rooms."""
    start = request.query_int("from", 0) or 0
    limit = request.query_int("limit", 100)
    if start < 0:
        raise InvalidParam(
            "Query parameter from must be a string representing a positive integer."
        )
    if limit is None or limit < 0:
        raise InvalidParam(
            "Query parameter limit must be a string representing a positive integer."
        )
    order_by = request.query_str("order_by", "name") or "name"
    if order_by not in ORDER_BY:
        raise InvalidParam(f"Unknown value for order_by: {order_by}")
    direction = request.query_str("dir", "f")
    if direction not in ("f", "b"):
        raise InvalidParam("Unknown direction: " + str(direction))
    return RoomQuery(
        start=start,
        limit=limit,
        order_by=order_by,
        backwards=direction == "b",
        search_term=request.query_str("search_term") or None,
        public_rooms=_optional_bool(request, "public_rooms"),
        empty_rooms=_optional_bool(request, "empty_rooms"),
    )


class _Rooms:
    def __init__(self, auth: Auth, rooms: RoomAdmin) -> None:
        self.auth = auth
        self.rooms = rooms


class RoomsEndpoint(_Rooms):
    """GET /_synapse/admin/v1/rooms."""

    PATTERNS = [f"{ADMIN_V1}/rooms"]

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.rooms.list_rooms(room_query(request))


class AdminRoomMembersEndpoint(_Rooms):
    """GET /_synapse/admin/v1/rooms/{roomId}/members."""

    PATTERNS = [f"{ADMIN_V1}/rooms/{{room_id}}/members"]

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.rooms.members(room_id)


class AdminRoomStateEndpoint(_Rooms):
    """GET /_synapse/admin/v1/rooms/{roomId}/state."""

    PATTERNS = [f"{ADMIN_V1}/rooms/{{room_id}}/state"]

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.rooms.state(room_id)


class ForwardExtremitiesEndpoint(_Rooms):
    """GET /_synapse/admin/v1/rooms/{roomIdOrAlias}/forward_extremities."""

    PATTERNS = [f"{ADMIN_V1}/rooms/{{room}}/forward_extremities"]

    async def on_GET(self, request: ApiRequest, room: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.rooms.forward_extremities(room)


class BlockRoomEndpoint(_Rooms):
    """GET and PUT /_synapse/admin/v1/rooms/{roomId}/block."""

    PATTERNS = [f"{ADMIN_V1}/rooms/{{room_id}}/block"]

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.rooms.block_status(room_id)

    async def on_PUT(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await admin_of(self.auth, request)
        body = request.parse(BlockRoomBody)
        return await self.rooms.set_block(requester, room_id, body.block)


class MakeRoomAdminEndpoint(_Rooms):
    """POST /_synapse/admin/v1/rooms/{roomId}/make_room_admin."""

    PATTERNS = [f"{ADMIN_V1}/rooms/{{room_id}}/make_room_admin"]

    async def on_POST(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await admin_of(self.auth, request)
        body = request.parse(MakeRoomAdminBody, allow_empty=True)
        return await self.rooms.make_room_admin(requester, room_id, body.user_id)


class JoinRoomEndpoint(_Rooms):
    """POST /_synapse/admin/v1/join/{roomIdOrAlias}."""

    PATTERNS = [f"{ADMIN_V1}/join/{{room}}"]

    async def on_POST(self, request: ApiRequest, room: str) -> JsonDict:
        requester = await admin_of(self.auth, request)
        body = request.parse(JoinRoomBody)
        return await self.rooms.join_user(requester, room, body.user_id)


class RoomV1Endpoint:
    """GET (details) and DELETE (delete now) /_synapse/admin/v1/rooms/{roomId}."""

    PATTERNS = [f"{ADMIN_V1}/rooms/{{room_id}}"]

    def __init__(self, auth: Auth, rooms: RoomAdmin, shutdown: RoomShutdown) -> None:
        self.auth = auth
        self.rooms = rooms
        self.shutdown = shutdown

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.rooms.room_details(room_id)

    async def on_DELETE(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await admin_of(self.auth, request)
        body = request.parse(DeleteRoomBody)
        return await self.shutdown.delete_now(requester, room_id, body)


class _Shutdown:
    def __init__(self, auth: Auth, shutdown: RoomShutdown) -> None:
        self.auth = auth
        self.shutdown = shutdown


class RoomV2Endpoint(_Shutdown):
    """DELETE /_synapse/admin/v2/rooms/{roomId}: delete in the background."""

    PATTERNS = [f"{ADMIN_V2}/rooms/{{room_id}}"]

    async def on_DELETE(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await admin_of(self.auth, request)
        body = request.parse(DeleteRoomBody)
        return await self.shutdown.delete_later(requester, room_id, body)


class DeleteStatusByRoomEndpoint(_Shutdown):
    """GET /_synapse/admin/v2/rooms/{roomId}/delete_status."""

    PATTERNS = [f"{ADMIN_V2}/rooms/{{room_id}}/delete_status"]

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.shutdown.status_by_room(room_id)


class DeleteStatusByIdEndpoint(_Shutdown):
    """GET /_synapse/admin/v2/rooms/delete_status/{deleteId}."""

    PATTERNS = [f"{ADMIN_V2}/rooms/delete_status/{{delete_id}}"]

    async def on_GET(self, request: ApiRequest, delete_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.shutdown.status_by_id(delete_id)


class PurgeHistoryEndpoint:
    """POST /_synapse/admin/v1/purge_history/{roomId}[/{eventId}]."""

    PATTERNS = [
        f"{ADMIN_V1}/purge_history/{{room_id}}",
        f"{ADMIN_V1}/purge_history/{{room_id}}/{{event_id}}",
    ]

    def __init__(self, auth: Auth, purges: HistoryPurge) -> None:
        self.auth = auth
        self.purges = purges

    async def on_POST(
        self, request: ApiRequest, room_id: str, event_id: str | None = None
    ) -> JsonDict:
        await admin_of(self.auth, request)
        body = request.parse(PurgeHistoryBody, allow_empty=True)
        return await self.purges.start(
            room_id,
            event_id or body.purge_up_to_event_id,
            body.purge_up_to_ts,
            body.delete_local_events,
        )


class PurgeHistoryStatusEndpoint:
    """GET /_synapse/admin/v1/purge_history_status/{purgeId}."""

    PATTERNS = [f"{ADMIN_V1}/purge_history_status/{{purge_id}}"]

    def __init__(self, auth: Auth, purges: HistoryPurge) -> None:
        self.auth = auth
        self.purges = purges

    async def on_GET(self, request: ApiRequest, purge_id: str) -> JsonDict:
        await admin_of(self.auth, request)
        return await self.purges.status(purge_id)


def room_admin_endpoints(
    auth: Auth, rooms: RoomAdmin, shutdown: RoomShutdown, purges: HistoryPurge
) -> list[Any]:
    """Every room admin endpoint."""
    return [
        RoomsEndpoint(auth, rooms),
        AdminRoomMembersEndpoint(auth, rooms),
        AdminRoomStateEndpoint(auth, rooms),
        ForwardExtremitiesEndpoint(auth, rooms),
        BlockRoomEndpoint(auth, rooms),
        MakeRoomAdminEndpoint(auth, rooms),
        JoinRoomEndpoint(auth, rooms),
        RoomV1Endpoint(auth, rooms, shutdown),
        RoomV2Endpoint(auth, shutdown),
        DeleteStatusByRoomEndpoint(auth, shutdown),
        DeleteStatusByIdEndpoint(auth, shutdown),
        PurgeHistoryEndpoint(auth, purges),
        PurgeHistoryStatusEndpoint(auth, purges),
    ]
