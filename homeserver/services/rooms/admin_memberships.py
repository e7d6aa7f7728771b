"""A user's rooms for the user admin API: their memberships, and leaving
every room when an admin deactivates them (Synapse's deactivation parts all
rooms and rejects pending invites and knocks)."""

from __future__ import annotations

import logging

from homeserver.errors import MatrixError
from homeserver.events.model import Membership
from homeserver.services.accounts.auth import Requester
from homeserver.services.rooms.membership import MembershipService
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import UserID

logger = logging.getLogger(__name__)


class AdminMemberships:
    """Reads and ends a user's memberships on an admin's behalf."""

    def __init__(self, membership: MembershipService, room_state: RoomStateStore):
        self.membership = membership
        self.room_state = room_state

    async def memberships(self, user_id: str) -> dict[str, str]:
        """Room ID -> the user's current membership, for every room this
        server knows the user in."""
        found: dict[str, str] = {}
        for membership in Membership.ALL:
            for room_id in await self.room_state.get_rooms_for_user(
                user_id, membership
            ):
                found[room_id] = membership
        return found

    async def joined_rooms(self, user_id: str) -> list[str]:
        """The rooms the user is joined to."""
        return await self.room_state.get_rooms_for_user(user_id)

    async def leave_all(self, user_id: str) -> int:
        """Leave every joined room, reject every invite and withdraw every
        knock; returns how many rooms were left. A room that refuses (its
        server unreachable) is logged and skipped."""
        acting = Requester(UserID.parse(user_id), "", "")
        left = 0
        for membership in (Membership.JOIN, Membership.INVITE, Membership.KNOCK):
            for room_id in await self.room_state.get_rooms_for_user(
                user_id, membership
            ):
                try:
                    await self.membership.leave(acting, room_id, None)
                    left += 1
                except MatrixError as exc:
                    logger.warning(
                        "deactivated user could not leave a room",
                        extra={"room_id": room_id, "error": exc.msg},
                    )
        return left
