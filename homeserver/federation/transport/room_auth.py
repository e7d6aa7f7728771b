"""Authenticating a room-scoped federation request: signature, then the ACL.

Spec: server-server-api.md "Server Access Control Lists (ACLs)": a server the
room's ACL denies gets 403 M_FORBIDDEN from every room-scoped endpoint. The
ACL is checked right after the X-Matrix signature and before anything else
the endpoint reads (its query, its body, the user or event it names), so a
denied server learns nothing from how its request would otherwise have been
answered (Synapse checks the ACL first too).
"""

from __future__ import annotations

from homeserver.api.http.request import ApiRequest
from homeserver.federation.acl import ServerAclChecker
from homeserver.federation.transport.inbound_auth import FederationAuthenticator


class RoomRequestAuthenticator:
    """The one authentication step of every federation endpoint.

    Args:
        authenticator: checks the X-Matrix signature.
        acl: the rooms' server ACLs.
    """

    def __init__(
        self, authenticator: FederationAuthenticator, acl: ServerAclChecker
    ) -> None:
        self.authenticator = authenticator
        self.acl = acl

    async def authenticate(self, request: ApiRequest) -> str:
        """The origin of a validly signed request (not room-scoped)."""
        return await self.authenticator.authenticate(request)

    async def authenticate_in_room(self, request: ApiRequest, room_id: str) -> str:
        """The origin of a validly signed request about ``room_id``, which
        the room's server ACL allows.

        Raises:
            MatrixError: 401/403 as ``authenticate``; 403 M_FORBIDDEN if the
                room's ACL denies the origin.
        """
        origin = await self.authenticator.authenticate(request)
        await self.acl.check(origin, room_id)
        return origin
