"""Third-party invite endpoints of the federation API.

Spec: server-server API "Third-party invites"
(data/api/server-server/third_party_invite.yaml):
``/3pid/onbind`` is called by identity servers, without an X-Matrix
signature (the identity server's signature on each invite is what counts);
``exchange_third_party_invite`` by the invitee's server, signed.
"""

from __future__ import annotations

from homeserver.api.federation.membership import FED, Authenticator
from homeserver.api.http.request import ApiRequest
from homeserver.errors import BadJson, Forbidden
from homeserver.events.model import EventTypes, Membership
from homeserver.services.rooms.third_party_invites import ThirdPartyInviteService
from homeserver.types import JsonDict


class OnBindEndpoint:
    """PUT (spec) or POST (Sydent, Synapse) /_matrix/federation/v1/3pid/onbind."""

    PATTERNS = [f"{FED}/v1/3pid/onbind"]

    def __init__(self, invites: ThirdPartyInviteService) -> None:
        self.invites = invites

    async def on_PUT(self, request: ApiRequest) -> JsonDict:
        await self.invites.on_bind(request.json())
        return {}

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        return await self.on_PUT(request)


class ExchangeThirdPartyInviteEndpoint:
    """PUT /_matrix/federation/v1/exchange_third_party_invite/{roomId}."""

    PATTERNS = [f"{FED}/v1/exchange_third_party_invite/{{room_id}}"]

    def __init__(
        self, authenticator: Authenticator, invites: ThirdPartyInviteService
    ) -> None:
        self.authenticator = authenticator
        self.invites = invites

    async def on_PUT(self, request: ApiRequest, room_id: str) -> JsonDict:
        await self.authenticator.authenticate_in_room(request, room_id)
        body = request.json()
        content = body.get("content")
        third_party = (
            content.get("third_party_invite") if isinstance(content, dict) else None
        )
        signed = third_party.get("signed") if isinstance(third_party, dict) else None
        sender, target = body.get("sender"), body.get("state_key")
        if (
            body.get("type") != EventTypes.MEMBER
            or not isinstance(content, dict)
            or content.get("membership") != Membership.INVITE
            or not isinstance(signed, dict)
            or not isinstance(sender, str)
            or not isinstance(target, str)
        ):
            raise BadJson(
                "Expected an m.room.member invite with third_party_invite.signed, "
                "sender and state_key"
            )
        if body.get("room_id") != room_id:
            raise Forbidden("room_id does not match the path")
        await self.invites.exchange(sender, target, room_id, signed, inbound=True)
        return {}
