"""What the rooms domain needs from other servers, and its null stand-ins.

Federation implements these Protocols (``federation/handshakes/remote.py``,
``federation/serving/queries.py``) and the composition root plugs them into
the rooms services' ``Port``s when federation is on. With federation off the
null implementations answer instead: a room this server is not in, or an
alias or directory of another server, is out of reach.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from homeserver.errors import Codes, MatrixError
from homeserver.events.model import Event
from homeserver.types import JsonDict

if TYPE_CHECKING:
    from homeserver.services.rooms.room_list import PublicRoomsQuery

NO_FEDERATION = "Federation is disabled on this server"


def federation_disabled() -> MatrixError:
    """The error of an action that needs another server."""
    return MatrixError(403, NO_FEDERATION, Codes.FORBIDDEN)


class RemoteMembershipPort(Protocol):
    """Membership changes that need another server's cooperation."""

    async def invite(self, event: Event, invite_room_state: list[JsonDict]) -> None:
        """Have the invitee's server sign ``event`` (adds its signature)."""
        ...

    async def join(
        self, user_id: str, room_id: str, servers: Sequence[str], content: JsonDict
    ) -> Event:
        """Join a room no local user is in, through one of ``servers``."""
        ...

    async def knock(
        self, user_id: str, room_id: str, servers: Sequence[str], content: JsonDict
    ) -> Event:
        """Knock on a room no local user is in."""
        ...

    async def leave(
        self,
        user_id: str,
        room_id: str,
        servers: Sequence[str],
        content: JsonDict,
        current_event_id: str | None = None,
    ) -> Event:
        """Leave (reject an invite to, withdraw a knock on) such a room."""
        ...


LeaveLocally = Callable[[str, str, JsonDict], Awaitable[Event]]
"""``(user_id, room_id, content)``: send the user's leave as a local event."""


class NoRemoteMembership:
    """Federation off. A room no local user is joined to can only be one of
    ours then, so a leave (rejecting an invite, withdrawing a knock) is sent
    here; joins, knocks and invites that need another server are refused with
    403 M_FORBIDDEN.

    Args:
        leave_locally: the membership service's own way to leave.
    """

    def __init__(self, leave_locally: LeaveLocally) -> None:
        self.leave_locally = leave_locally

    async def invite(self, event: Event, invite_room_state: list[JsonDict]) -> None:
        raise federation_disabled()

    async def join(
        self, user_id: str, room_id: str, servers: Sequence[str], content: JsonDict
    ) -> Event:
        raise federation_disabled()

    async def knock(
        self, user_id: str, room_id: str, servers: Sequence[str], content: JsonDict
    ) -> Event:
        raise federation_disabled()

    async def leave(
        self,
        user_id: str,
        room_id: str,
        servers: Sequence[str],
        content: JsonDict,
        current_event_id: str | None = None,
    ) -> Event:
        return await self.leave_locally(user_id, room_id, content)


class RemoteAliasPort(Protocol):
    """Resolves an alias of another server (federation query/directory)."""

    async def directory(self, room_alias: str) -> JsonDict:
        """``{room_id, servers}`` from the alias's server."""
        ...


class NoRemoteAliases:
    """Federation off: another server's alias cannot be resolved (502, as
    when its server cannot be reached)."""

    async def directory(self, room_alias: str) -> JsonDict:
        raise MatrixError(
            502,
            "Resolving room aliases on other servers is not supported yet",
            Codes.UNKNOWN,
        )


class RemotePublicRoomsPort(Protocol):
    """Another server's published room directory (federation publicRooms)."""

    async def public_rooms(self, server: str, query: PublicRoomsQuery) -> JsonDict:
        """One page of ``server``'s directory."""
        ...


class NoRemotePublicRooms:
    """Federation off: other servers' directories are out of reach (502)."""

    async def public_rooms(self, server: str, query: PublicRoomsQuery) -> JsonDict:
        raise MatrixError(
            502,
            "Fetching other servers' room directories is not supported",
            Codes.UNKNOWN,
        )


class RoomPolicy(Protocol):
    """Content and room-creation checks from outside the rooms domain (the
    plugin host, ``homeserver/plugins/policies.py``)."""

    async def check_local_event(
        self,
        room_id: str,
        sender: str,
        event_type: str,
        content: JsonDict,
        state_key: str | None,
        device_id: str | None,
    ) -> JsonDict:
        """The content to send instead of ``content`` (itself when allowed as
        it is); raise a MatrixError to refuse the event."""
        ...

    async def check_room_creation(self, creator: str, request: object) -> None:
        """Raise a MatrixError to refuse creating a room (``request``: the
        ``RoomCreationRequest``)."""
        ...


class NoRoomPolicy:
    """No plugins: every event and room the rules allow is allowed."""

    async def check_local_event(
        self,
        room_id: str,
        sender: str,
        event_type: str,
        content: JsonDict,
        state_key: str | None,
        device_id: str | None,
    ) -> JsonDict:
        return content

    async def check_room_creation(self, creator: str, request: object) -> None:
        return None


class RoomBlocks(Protocol):
    """Which rooms a server admin blocked (the room admin API plugs it in)."""

    async def is_blocked(self, room_id: str) -> bool:
        """Whether local users are kept out of the room."""


class NoRoomBlocks:
    """No room is blocked (the room admin API is not built)."""

    async def is_blocked(self, room_id: str) -> bool:
        """Never."""
        return False
