"""Which rooms a search covers.

The rooms the user is joined to, and the rooms they joined and have since
left or been banned from, unless they forgot them (history visibility then
shows them only what they could see up to their leave). A filter naming
``rooms`` also covers those rooms' predecessors (``m.room.create``
``predecessor``, followed back), as Synapse does, so that a search in an
upgraded room finds its earlier history, among the rooms the user may search.
"""

from __future__ import annotations

from homeserver.errors import MatrixError
from homeserver.events.model import EventTypes, Membership
from homeserver.services.reading.filters import RoomEventFilter
from homeserver.services.reading.visibility import VisibilityService
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore

# However long an upgrade chain, only this many predecessors are followed.
MAX_PREDECESSORS = 20


class SearchableRooms:
    """Decides the rooms one search covers."""

    def __init__(
        self,
        events: EventStore,
        room_state: RoomStateStore,
        visibility: VisibilityService,
    ) -> None:
        self.events = events
        self.room_state = room_state
        self.visibility = visibility

    async def rooms_for(
        self, user_id: str, event_filter: RoomEventFilter | None
    ) -> list[str]:
        """The rooms ``user_id`` may search, through the filter's ``rooms``
        (with their predecessors) and ``not_rooms``; sorted."""
        rooms = set(await self.room_state.get_rooms_for_user(user_id, Membership.JOIN))
        for membership in (Membership.LEAVE, Membership.BAN):
            for room_id in await self.room_state.get_rooms_for_user(
                user_id, membership
            ):
                try:
                    await self.visibility.check_room_access(room_id, user_id)
                except MatrixError:
                    continue
                rooms.add(room_id)
        if event_filter is None:
            return sorted(rooms)
        if event_filter.rooms is not None:
            wanted = set(event_filter.rooms)
            for room_id in event_filter.rooms:
                wanted.update(await self._predecessors(room_id))
            rooms &= wanted
        return sorted(rooms - set(event_filter.not_rooms))

    async def _predecessors(self, room_id: str) -> list[str]:
        """The rooms ``room_id`` was upgraded from, newest first."""
        found: list[str] = []
        current = room_id
        for _ in range(MAX_PREDECESSORS):
            create_id = await self.room_state.get_current_state_event_id(
                current, EventTypes.CREATE, ""
            )
            create = await self.events.get_event(create_id) if create_id else None
            predecessor = create.content.get("predecessor") if create else None
            previous = (
                predecessor.get("room_id") if isinstance(predecessor, dict) else None
            )
            if (
                not isinstance(previous, str)
                or previous in found
                or previous == room_id
            ):
                break
            found.append(previous)
            current = previous
        return found
