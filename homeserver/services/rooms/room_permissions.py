"""Questions about what a local user may do in a room, answered from current state.

Used where the server checks a permission before doing something that is not
itself one event (publishing a room, deleting an alias, upgrading a room); for
events, the auth rules in ``EventCreationService.send`` decide.
"""

from __future__ import annotations

from collections.abc import Iterable

from homeserver.events.auth_rules import (
    AuthError,
    get_required_power_level,
    get_user_power_level,
)
from homeserver.events.model import Event, EventTypes, Membership, StateKey
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore

CREATE_KEY: StateKey = (EventTypes.CREATE, "")
POWER_LEVELS_KEY: StateKey = (EventTypes.POWER_LEVELS, "")
HISTORY_VISIBILITY_KEY: StateKey = (EventTypes.HISTORY_VISIBILITY, "")


class RoomPermissions:
    """Membership and power-level checks against a room's current state."""

    def __init__(self, room_state: RoomStateStore, events: EventStore) -> None:
        self.room_state = room_state
        self.events = events

    async def room_exists(self, room_id: str) -> bool:
        """Whether we know the room."""
        return await self.room_state.get_room_version(room_id) is not None

    async def state_events(
        self, room_id: str, keys: Iterable[StateKey]
    ) -> dict[StateKey, Event]:
        """Some entries of the room's current state, as events."""
        ids: dict[StateKey, str] = {}
        for event_type, state_key in keys:
            event_id = await self.room_state.get_current_state_event_id(
                room_id, event_type, state_key
            )
            if event_id is not None:
                ids[(event_type, state_key)] = event_id
        found = await self.events.get_events(list(ids.values()))
        return {key: found[eid] for key, eid in ids.items() if eid in found}

    async def is_joined(self, room_id: str, user_id: str) -> bool:
        """Whether the user's current membership is ``join``."""
        current = await self.room_state.get_membership(room_id, user_id)
        return current is not None and current[0] == Membership.JOIN

    async def may_send_state(self, room_id: str, user_id: str, event_type: str) -> bool:
        """Whether a joined user has the power to send a state event of a type.

        This is the check Synapse makes for "moderator" actions outside events
        (``check_can_change_room_list``): the user is joined and their power
        level reaches the level required for ``event_type``.
        """
        member_key = (EventTypes.MEMBER, user_id)
        state = await self.state_events(
            room_id, [CREATE_KEY, POWER_LEVELS_KEY, member_key]
        )
        member = state.get(member_key)
        if member is None or member.membership != Membership.JOIN:
            return False
        try:
            level = get_user_power_level(user_id, state)
            return level >= get_required_power_level(event_type, "", state)
        except AuthError:  # malformed power levels: fail closed
            return False

    async def is_world_readable(self, room_id: str) -> bool:
        """Whether the room's history visibility is ``world_readable``."""
        state = await self.state_events(room_id, [HISTORY_VISIBILITY_KEY])
        event = state.get(HISTORY_VISIBILITY_KEY)
        return (
            event is not None
            and event.content.get("history_visibility") == "world_readable"
        )
