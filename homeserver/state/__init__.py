"""Room state resolution: the pure algorithms and a dispatcher over room versions.

Spec: server-server-api.md "Room State Resolution"; rooms/v1.md, rooms/v2.md
(and later, via rooms/fragments/v2-state-res.md), rooms/v12.md. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from homeserver.events.model import StateKey
from homeserver.events.room_versions import RoomVersion, StateResAlgorithm
from homeserver.state.lookups import EventMap, StateMap
from homeserver.state.resolution_v1 import resolve_state_v1
from homeserver.state.resolution_v2 import resolve_state_v2

__all__ = [
    "EventMap",
    "StateMap",
    "resolve_state",
    "resolve_state_v1",
    "resolve_state_v2",
]


def resolve_state(
    room_version: RoomVersion,
    state_sets: Sequence[StateMap],
    event_map: EventMap,
    auth_difference: set[str] | None = None,
) -> dict[StateKey, str]:
    """Resolve room states with the algorithm of the room's version.

    Args:
        room_version: the room's version; ``state_res`` picks the algorithm.
        state_sets: the states to resolve, ``(type, state_key) -> event_id``.
        event_map: every event of the state sets and of their auth chains.
        auth_difference: for v2 and v2.1, the auth difference if already known;
            ignored by v1.

    Returns:
        The resolved state.
    """
    if room_version.state_res is StateResAlgorithm.V1:
        return resolve_state_v1(room_version, state_sets, event_map)
    return resolve_state_v2(room_version, state_sets, event_map, auth_difference)
