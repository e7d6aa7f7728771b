"""Reading rooms: events, state, members, /messages, /context, timestamp lookup.

Spec: client-server API, "Getting events for a room", "Room membership"
(GET /members, /joined_members), "Pagination" and "Filtering".
"""

from __future__ import annotations

from homeserver.api.client.paging import limit_param, room_token_param
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.errors import InvalidParam, MissingParam
from homeserver.services.accounts.auth import Auth
from homeserver.services.reading.filters import RoomEventFilter, parse_filter_param
from homeserver.services.reading.pagination import MessagesRequest, PaginationService
from homeserver.services.reading.room_reads import MembersRequest, RoomReadService
from homeserver.streams.tokens import Direction
from homeserver.types import JsonDict


def _filter(request: ApiRequest) -> RoomEventFilter | None:
    return parse_filter_param(RoomEventFilter, request.query_str("filter"))


def _direction(request: ApiRequest) -> Direction:
    value = request.query_str("dir")
    if value is None:
        raise MissingParam("dir")
    return Direction.parse(value)


class RoomEventEndpoint:
    """GET /rooms/{roomId}/event/{eventId}."""

    PATTERNS = client_patterns("/rooms/{room_id}/event/{event_id}")

    def __init__(self, auth: Auth, reads: RoomReadService) -> None:
        self.auth = auth
        self.reads = reads

    async def on_GET(
        self, request: ApiRequest, room_id: str, event_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        return await self.reads.get_event(requester, room_id, event_id)


class RoomStateEndpoint:
    """GET /rooms/{roomId}/state."""

    PATTERNS = client_patterns("/rooms/{room_id}/state")

    def __init__(self, auth: Auth, reads: RoomReadService) -> None:
        self.auth = auth
        self.reads = reads

    async def on_GET(self, request: ApiRequest, room_id: str) -> list[JsonDict]:
        requester = await requester_of(self.auth, request, allow_guest=True)
        return await self.reads.get_state(requester, room_id)


class RoomStateEventEndpoint:
    """GET /rooms/{roomId}/state/{eventType}[/{stateKey}] (PUT is SetStateEndpoint)."""

    PATTERNS = (
        client_patterns("/rooms/{room_id}/state/{event_type}")
        + client_patterns("/rooms/{room_id}/state/{event_type}/")
        + client_patterns("/rooms/{room_id}/state/{event_type}/{state_key}")
    )

    def __init__(self, auth: Auth, reads: RoomReadService) -> None:
        self.auth = auth
        self.reads = reads

    async def on_GET(
        self, request: ApiRequest, room_id: str, event_type: str, state_key: str = ""
    ) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        event_format = request.query_str("format", "content")
        if event_format not in ("content", "event"):
            raise InvalidParam("format must be 'content' or 'event'")
        return await self.reads.get_state_event(
            requester, room_id, event_type, state_key, event_format == "event"
        )


class RoomMembersEndpoint:
    """GET /rooms/{roomId}/members."""

    PATTERNS = client_patterns("/rooms/{room_id}/members")

    def __init__(self, auth: Auth, reads: RoomReadService) -> None:
        self.auth = auth
        self.reads = reads

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        members_request = MembersRequest(
            at=room_token_param(request, "at"),
            membership=request.query_str("membership"),
            not_membership=request.query_str("not_membership"),
        )
        return await self.reads.get_members(requester, room_id, members_request)


class JoinedMembersEndpoint:
    """GET /rooms/{roomId}/joined_members."""

    PATTERNS = client_patterns("/rooms/{room_id}/joined_members")

    def __init__(self, auth: Auth, reads: RoomReadService) -> None:
        self.auth = auth
        self.reads = reads

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.reads.get_joined_members(requester, room_id)


class MessagesEndpoint:
    """GET /rooms/{roomId}/messages."""

    PATTERNS = client_patterns("/rooms/{room_id}/messages")

    def __init__(self, auth: Auth, pagination: PaginationService) -> None:
        self.auth = auth
        self.pagination = pagination

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        messages_request = MessagesRequest(
            direction=_direction(request),
            from_token=room_token_param(request, "from"),
            to_token=room_token_param(request, "to"),
            limit=limit_param(request),
            event_filter=_filter(request),
        )
        return await self.pagination.get_messages(requester, room_id, messages_request)


class ContextEndpoint:
    """GET /rooms/{roomId}/context/{eventId}."""

    PATTERNS = client_patterns("/rooms/{room_id}/context/{event_id}")

    def __init__(self, auth: Auth, pagination: PaginationService) -> None:
        self.auth = auth
        self.pagination = pagination

    async def on_GET(
        self, request: ApiRequest, room_id: str, event_id: str
    ) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        return await self.pagination.get_context(
            requester, room_id, event_id, limit_param(request), _filter(request)
        )


class TimestampToEventEndpoint:
    """GET /_matrix/client/v1/rooms/{roomId}/timestamp_to_event."""

    PATTERNS = client_patterns(
        "/rooms/{room_id}/timestamp_to_event", r0=False, v3=False, v1=True
    )

    def __init__(self, auth: Auth, reads: RoomReadService) -> None:
        self.auth = auth
        self.reads = reads

    async def on_GET(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        ts = request.query_int("ts")
        if ts is None:
            raise MissingParam("ts")
        return await self.reads.timestamp_to_event(
            requester, room_id, ts, _direction(request)
        )
