"""A sliding-sync room's ``timeline``, ``limited``, ``prev_batch`` and
``num_live`` (MSC4186, "RoomResult").

The newest ``timeline_limit`` visible events up to the response's position (a
left or banned user's up to their membership event), after ``start`` when the
room continues from an earlier response. Ignored users' and hidden events are
left out; events from before the user's current stay in the room pass the
history-visibility check.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from homeserver.events.model import Event
from homeserver.services.reading.personal import PersonalView
from homeserver.services.sync.sync_rooms import RoomSyncBuilder
from homeserver.storage.stores.sync import RoomWindow
from homeserver.streams.tokens import RoomStreamToken


@attrs.frozen
class RoomTimeline:
    """What the room's timeline holds, and what the raw window held."""

    events: list[Event]
    limited: bool
    prev_batch: RoomStreamToken
    # Whether any event of the window (before filtering) was a state event.
    had_state: bool


async def fetch_timeline(
    rooms: RoomSyncBuilder,
    personal: PersonalView,
    *,
    room_id: str,
    limit: int,
    start: int | None,
    upto: int,
    window: RoomWindow | None = None,
    joins: Mapping[str, int | None] | None = None,
) -> RoomTimeline:
    """The room's timeline in (start, upto], newest ``limit`` events.

    Args:
        rooms: the /sync room queries (their windows and visibility).
        personal: what the user chose not to see.
        start: the position the client has the room up to; None for the
            room's latest events whatever the client had.
        upto: the last position the user may see.
        window: the room's window for these bounds, when already read.
        joins: where the user's current stay began, when already read.
    """
    if window is None:
        windows = await rooms.store.get_windows({room_id: start}, upto, limit)
        window = windows[room_id]
    found = await rooms.events.get_events(window.event_ids)
    raw = [found[i] for i in window.event_ids if i in found]
    had_state = any(e.state_key is not None for e in raw)
    events = personal.filter(raw)
    limited = window.limited
    user_id = personal.user_id
    if start is None and events:
        if joins is None or room_id not in joins:
            joins = await rooms.store.get_join_positions(user_id, [room_id])
        joined_at = joins.get(room_id)
        if joined_at is None or (events[0].stream_ordering or 0) < joined_at:
            visible = await rooms.visibility.filter_events_for_user(user_id, events)
            limited = limited or len(visible) < len(events)
            events = visible
    first = events[0].stream_ordering if events else None
    prev = RoomStreamToken(None, (first - 1) if first else upto)
    return RoomTimeline(events, limited, prev, had_state)


def count_live(events: list[Event], since: int | None) -> int:
    """How many of the newest ``events`` came after ``since`` (MSC4186
    ``num_live``; none without an earlier response)."""
    if since is None:
        return 0
    live = 0
    for event in reversed(events):
        if (event.stream_ordering or 0) <= since:
            break
        live += 1
    return live
