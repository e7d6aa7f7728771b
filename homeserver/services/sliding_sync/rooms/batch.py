"""What the sliding-sync room builder reads for all the rooms of one
response at once (``FullRoomBuilder.prepare``): their timeline windows,
unread counts and where each stay began, and, for the rooms sent whole, the
state at the response and the member overview. A first response of 20
rooms would otherwise read the state of each room in three round trips."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from homeserver.services.sliding_sync.rooms.state import StateMap
from homeserver.services.sync.sync_rooms import MAX_HEROES
from homeserver.storage.stores.event_state import EventStateStore, StateSelection
from homeserver.storage.stores.sliding_sync import MemberOverview, SlidingSyncStore
from homeserver.storage.stores.sync import RoomWindow

WindowKey = tuple[str, int | None, int, int]


@attrs.frozen
class Batch:
    """What ``prepare`` read for the rooms of one response."""

    user_id: str
    upto: str
    windows: dict[WindowKey, RoomWindow]
    counts: dict[str, tuple[int, int]]
    joins: dict[str, int | None]
    # Rooms sent whole: (the position read at, the whole state there).
    states: dict[str, tuple[int, StateMap]] = attrs.Factory(dict)
    overviews: dict[str, MemberOverview] = attrs.Factory(dict)


async def read_whole_rooms(
    store: SlidingSyncStore,
    event_state: EventStateStore,
    user_id: str,
    whole: Mapping[str, int],
    joined: list[str],
) -> tuple[dict[str, tuple[int, StateMap]], dict[str, MemberOverview]]:
    """The whole state of each room of ``whole`` at its position (room ID ->
    position) and the member overviews of ``joined``: three transactions
    for all of them."""
    if not whole:
        return {}, {}
    anchors = await store.get_events_at_many({r: [p] for r, p in whole.items()})
    maps = await event_state.get_state_ids_for_events(
        set(anchors.values()), StateSelection.all()
    )
    states = {
        room_id: (position, maps.get(anchors.get((room_id, position), ""), {}))
        for room_id, position in whole.items()
    }
    overviews = await store.get_member_overviews(joined, user_id, MAX_HEROES)
    return states, overviews
