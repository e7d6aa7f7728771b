"""Guests in rooms: ``m.room.guest_access``.

Spec: client-server API, "Guest Access", server behaviour: guests may join a
room only while its ``m.room.guest_access`` is ``can_join``, and when that
stops being so, the server sets its guests' membership to ``leave``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from homeserver.events.ids import has_domain
from homeserver.events.model import EventTypes, Membership
from homeserver.signals.payloads import NewEvent
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.users import UserStore

logger = logging.getLogger(__name__)

CAN_JOIN = "can_join"

LeaveSender = Callable[[str, str], Awaitable[Any]]
"""Sends ``user_id``'s own leave of ``room_id`` (the membership service's)."""


async def guest_can_join(
    room_state: RoomStateStore, events: EventStore, room_id: str
) -> bool:
    """Whether the room's current ``m.room.guest_access`` is ``can_join``
    (False for a room this server is not in)."""
    event_id = await room_state.get_current_state_event_id(
        room_id, EventTypes.GUEST_ACCESS, ""
    )
    event = await events.get_event(event_id) if event_id else None
    return event is not None and event.content.get("guest_access") == CAN_JOIN


class GuestMembership:
    """Takes local guests out of a room whose guest access is withdrawn."""

    def __init__(
        self,
        *,
        server_name: str,
        room_state: RoomStateStore,
        users: UserStore,
        leave: LeaveSender,
    ) -> None:
        self.server_name = server_name
        self.room_state = room_state
        self.users = users
        self.leave = leave

    async def on_new_event(self, payload: NewEvent) -> None:
        """Receiver of ``new_event``: a guest access change that shuts guests
        out makes every local guest member leave."""
        event = payload.event
        if event.type != EventTypes.GUEST_ACCESS or event.state_key != "":
            return
        if event.content.get("guest_access") == CAN_JOIN:
            return
        members = await self.room_state.get_members(event.room_id)
        local = [
            user_id
            for user_id, (membership, _) in members.items()
            if membership == Membership.JOIN and has_domain(user_id, self.server_name)
        ]
        for guest in sorted(await self.users.get_guests(local)):
            logger.info(
                "guest access withdrawn: the guest leaves",
                extra={"room_id": event.room_id, "target_user": guest},
            )
            await self.leave(event.room_id, guest)
