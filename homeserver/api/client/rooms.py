"""Room creation and membership endpoints.

Spec: client-server API, "Creation", "Room membership".
"""

from __future__ import annotations

from homeserver.api.client.bodies.rooms import (
    CreateRoomBody,
    JoinBody,
    MembershipBody,
    MembershipChangeBody,
    ThirdPartyInviteBody,
)
from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.rooms.membership import MembershipService
from homeserver.services.rooms.room_creation import RoomCreationService
from homeserver.services.rooms.third_party_invites import ThirdPartyInviteService
from homeserver.types import JsonDict


def via_servers(request: ApiRequest) -> list[str]:
    """The servers to join through: ``via`` (v1.12+) and ``server_name``."""
    return [*request.query.get("via", []), *request.query.get("server_name", [])]


class CreateRoomEndpoint:
    """POST /createRoom."""

    PATTERNS = client_patterns("/createRoom")

    def __init__(self, auth: Auth, rooms: RoomCreationService) -> None:
        self.auth = auth
        self.rooms = rooms

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(CreateRoomBody, allow_empty=True)
        return await self.rooms.create_room(requester, body)


class JoinedRoomsEndpoint:
    """GET /joined_rooms."""

    PATTERNS = client_patterns("/joined_rooms")

    def __init__(self, auth: Auth, membership: MembershipService) -> None:
        self.auth = auth
        self.membership = membership

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        return await self.membership.joined_rooms(requester)


class JoinEndpoint:
    """POST /join/{roomIdOrAlias} and POST /rooms/{roomId}/join."""

    PATTERNS = client_patterns("/join/{room}") + client_patterns("/rooms/{room}/join")

    def __init__(
        self,
        auth: Auth,
        membership: MembershipService,
        third_party: ThirdPartyInviteService,
    ) -> None:
        self.auth = auth
        self.membership = membership
        self.third_party = third_party

    async def on_POST(self, request: ApiRequest, room: str) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        body = request.parse(JoinBody, allow_empty=True)
        signed = body.third_party_signed()
        if signed is not None:
            # A third-party invite becomes the user's invite first (as
            # Synapse), then the join below uses it.
            await self.third_party.join_with_signed(requester, room, signed)
        room_id = await self.membership.join(
            requester,
            room,
            body.reason,
            via_servers(request),
            content=body.extra_content(),
        )
        return {"room_id": room_id}


class KnockEndpoint:
    """POST /knock/{roomIdOrAlias}."""

    PATTERNS = client_patterns("/knock/{room}", r0=False)

    def __init__(self, auth: Auth, membership: MembershipService) -> None:
        self.auth = auth
        self.membership = membership

    async def on_POST(self, request: ApiRequest, room: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(MembershipBody, allow_empty=True)
        room_id = await self.membership.knock(
            requester, room, body.reason, via_servers(request)
        )
        return {"room_id": room_id}


class LeaveEndpoint:
    """POST /rooms/{roomId}/leave."""

    PATTERNS = client_patterns("/rooms/{room_id}/leave")

    def __init__(self, auth: Auth, membership: MembershipService) -> None:
        self.auth = auth
        self.membership = membership

    async def on_POST(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        body = request.parse(MembershipBody, allow_empty=True)
        await self.membership.leave(requester, room_id, body.reason)
        return {}


class MembershipChangeEndpoint:
    """POST /rooms/{roomId}/(invite|kick|ban|unban)."""

    PATTERNS = [
        pattern
        for action in ("invite", "kick", "ban", "unban")
        for pattern in client_patterns(f"/rooms/{{room_id}}/{action}")
    ]

    def __init__(
        self,
        auth: Auth,
        membership: MembershipService,
        third_party: ThirdPartyInviteService,
    ) -> None:
        self.auth = auth
        self.membership = membership
        self.third_party = third_party

    async def on_POST(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        action = request.path.rsplit("/", 1)[1]
        raw = request.json()
        if action == "invite" and "medium" in raw and "address" in raw:
            # An invite by email: looked up on the identity server (as Synapse,
            # medium and address together decide; user_id is then ignored).
            tp = request.parse(ThirdPartyInviteBody)
            await self.third_party.invite(
                requester,
                room_id,
                tp.id_server,
                tp.id_access_token,
                tp.medium,
                tp.address,
            )
            return {}
        body = request.parse(MembershipChangeBody)
        await self.membership.change_other(
            requester,
            room_id,
            action,
            body.user_id,
            body.reason,
            is_direct=body.is_direct is True,
        )
        return {}


class ForgetEndpoint:
    """POST /rooms/{roomId}/forget."""

    PATTERNS = client_patterns("/rooms/{room_id}/forget")

    def __init__(self, auth: Auth, membership: MembershipService) -> None:
        self.auth = auth
        self.membership = membership

    async def on_POST(self, request: ApiRequest, room_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        await self.membership.forget(requester, room_id)
        return {}
