"""Membership handshake endpoints: make/send join, leave, knock; invite.

Spec: server-server-api.md "Joining Rooms", "Leaving Rooms (Rejecting
Invites)", "Knocking upon a room", "Inviting to a room"
(data/api/server-server/joins-v1.yaml, joins-v2.yaml, leaving-v*.yaml,
knocks.yaml, invites-v2.yaml).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from homeserver.api.federation.bodies import InviteBody
from homeserver.api.http.request import ApiRequest
from homeserver.events.model import Event, Membership, StateKey
from homeserver.federation.handshakes.invites import InviteReceiver
from homeserver.federation.handshakes.resident import ResidentMembership
from homeserver.types import JsonDict

FED = "/_matrix/federation"


class Authenticator(Protocol):
    """Checks a request's X-Matrix signature; returns the origin server."""

    async def authenticate(self, request: ApiRequest) -> str:
        """The origin of a validly signed request, else raises 401/403."""
        ...

    async def authenticate_in_room(self, request: ApiRequest, room_id: str) -> str:
        """``authenticate``, then 403 if the room's server ACL denies the
        origin: the first thing every room-scoped endpoint does."""
        ...


class _Endpoint:
    def __init__(
        self, authenticator: Authenticator, service: ResidentMembership
    ) -> None:
        self.authenticator = authenticator
        self.service = service


class _MakeEndpoint(_Endpoint):
    """GET make_{membership}/{roomId}/{userId}: a template to sign."""

    MEMBERSHIP: str
    # make_join and make_knock take the asker's room versions in ``ver``.
    TAKES_VERSIONS = True

    async def on_GET(self, request: ApiRequest, room_id: str, user_id: str) -> JsonDict:
        origin = await self.authenticator.authenticate_in_room(request, room_id)
        versions = None
        if self.TAKES_VERSIONS:
            # Without ver the asking server only supports version 1 (spec).
            versions = request.query.get("ver") or ["1"]
        return await self.service.make_membership(
            origin, room_id, user_id, self.MEMBERSHIP, versions
        )


class _SendEndpoint(_Endpoint):
    """PUT send_{membership}/{roomId}/{eventId}: the signed event back."""

    MEMBERSHIP: str

    async def on_PUT(self, request: ApiRequest, room_id: str, event_id: str) -> Any:
        origin = await self.authenticator.authenticate_in_room(request, room_id)
        event, state = await self.service.send_membership(
            origin, room_id, event_id, request.json(), self.MEMBERSHIP
        )
        return await self.answer(event, state)

    async def answer(self, event: Event, state: Mapping[StateKey, str]) -> Any:
        """The response body (or ``(status, body)``) for an accepted event."""
        return {}


class MakeJoinEndpoint(_MakeEndpoint):
    """GET /_matrix/federation/v1/make_join/{roomId}/{userId}?ver=..."""

    PATTERNS = [f"{FED}/v1/make_join/{{room_id}}/{{user_id}}"]
    MEMBERSHIP = Membership.JOIN


class SendJoinV2Endpoint(_SendEndpoint):
    """PUT /_matrix/federation/v2/send_join/{roomId}/{eventId}."""

    PATTERNS = [f"{FED}/v2/send_join/{{room_id}}/{{event_id}}"]
    MEMBERSHIP = Membership.JOIN

    async def answer(self, event: Event, state: Mapping[StateKey, str]) -> Any:
        """The state before the join and its auth chain."""
        return await self.service.join_answer(event, state)


class SendJoinV1Endpoint(_SendEndpoint):
    """PUT /_matrix/federation/v1/send_join/{roomId}/{eventId} (the
    ``[200, {...}]`` answer of older servers)."""

    PATTERNS = [f"{FED}/v1/send_join/{{room_id}}/{{event_id}}"]
    MEMBERSHIP = Membership.JOIN

    async def answer(self, event: Event, state: Mapping[StateKey, str]) -> Any:
        """The v2 answer without its newer keys, wrapped as v1 wraps it."""
        answer = await self.service.join_answer(event, state)
        return 200, [
            200,
            {k: answer[k] for k in ("origin", "auth_chain", "state", "event")},
        ]


class MakeLeaveEndpoint(_MakeEndpoint):
    """GET /_matrix/federation/v1/make_leave/{roomId}/{userId}."""

    PATTERNS = [f"{FED}/v1/make_leave/{{room_id}}/{{user_id}}"]
    MEMBERSHIP = Membership.LEAVE
    TAKES_VERSIONS = False


class SendLeaveV2Endpoint(_SendEndpoint):
    """PUT /_matrix/federation/v2/send_leave/{roomId}/{eventId}."""

    PATTERNS = [f"{FED}/v2/send_leave/{{room_id}}/{{event_id}}"]
    MEMBERSHIP = Membership.LEAVE


class SendLeaveV1Endpoint(_SendEndpoint):
    """PUT /_matrix/federation/v1/send_leave/{roomId}/{eventId}."""

    PATTERNS = [f"{FED}/v1/send_leave/{{room_id}}/{{event_id}}"]
    MEMBERSHIP = Membership.LEAVE

    async def answer(self, event: Event, state: Mapping[StateKey, str]) -> Any:
        """An empty answer, wrapped as v1 wraps it."""
        return 200, [200, {}]


class MakeKnockEndpoint(_MakeEndpoint):
    """GET /_matrix/federation/v1/make_knock/{roomId}/{userId}?ver=..."""

    PATTERNS = [f"{FED}/v1/make_knock/{{room_id}}/{{user_id}}"]
    MEMBERSHIP = Membership.KNOCK


class SendKnockEndpoint(_SendEndpoint):
    """PUT /_matrix/federation/v1/send_knock/{roomId}/{eventId}."""

    PATTERNS = [f"{FED}/v1/send_knock/{{room_id}}/{{event_id}}"]
    MEMBERSHIP = Membership.KNOCK

    async def answer(self, event: Event, state: Mapping[StateKey, str]) -> Any:
        """The room's stripped state, for the knocking user's client."""
        return await self.service.knock_answer(state)


class InviteV2Endpoint:
    """PUT /_matrix/federation/v2/invite/{roomId}/{eventId}."""

    PATTERNS = [f"{FED}/v2/invite/{{room_id}}/{{event_id}}"]

    def __init__(self, authenticator: Authenticator, invites: InviteReceiver) -> None:
        self.authenticator = authenticator
        self.invites = invites

    async def on_PUT(
        self, request: ApiRequest, room_id: str, event_id: str
    ) -> JsonDict:
        origin = await self.authenticator.authenticate_in_room(request, room_id)
        body = request.parse(InviteBody)
        return await self.invites.on_invite(
            origin,
            room_id,
            event_id,
            body.room_version,
            body.event,
            body.invite_room_state,
        )


class InviteV1Endpoint(InviteV2Endpoint):
    """PUT /_matrix/federation/v1/invite/{roomId}/{eventId}: the body is the
    event itself (rooms v1 and v2 only); answered as ``[200, {"event": ...}]``."""

    PATTERNS = [f"{FED}/v1/invite/{{room_id}}/{{event_id}}"]

    async def on_PUT(  # type: ignore[override]
        self, request: ApiRequest, room_id: str, event_id: str
    ) -> tuple[int, Any]:
        origin = await self.authenticator.authenticate_in_room(request, room_id)
        event = request.json()
        version = await self.invites.known_room_version(room_id) or "1"
        # The room's state comes in the event's unsigned section, if at all.
        answer = await self.invites.on_invite(
            origin, room_id, event_id, version, event, None
        )
        return 200, [200, answer]


def membership_endpoints(
    authenticator: Authenticator,
    service: ResidentMembership,
    invites: InviteReceiver,
) -> list[Any]:
    """Every membership handshake endpoint."""
    return [
        cls(authenticator, service)
        for cls in (
            MakeJoinEndpoint,
            SendJoinV2Endpoint,
            SendJoinV1Endpoint,
            MakeLeaveEndpoint,
            SendLeaveV2Endpoint,
            SendLeaveV1Endpoint,
            MakeKnockEndpoint,
            SendKnockEndpoint,
        )
    ] + [
        InviteV2Endpoint(authenticator, invites),
        InviteV1Endpoint(authenticator, invites),
    ]
