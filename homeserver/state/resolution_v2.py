"""State resolution v2 (rooms v2 to v11) and v2.1 (room v12).

Spec: rooms/fragments/v2-state-res.md; rooms/v12.md "State resolution";
server-server-api.md "Room State Resolution". Pure: no I/O.

v2.1 differs in two places: the full conflicted set also holds the conflicted
state subgraph, and the first iterative auth checks start from an empty state
rather than the unconflicted state map.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from homeserver.events.model import StateKey
from homeserver.events.room_versions import RoomVersion, StateResAlgorithm
from homeserver.state.auth_chain import auth_difference as find_auth_difference
from homeserver.state.auth_chain import conflicted_subgraph as find_subgraph
from homeserver.state.iterative_auth import iterative_auth_checks
from homeserver.state.lookups import POWER_LEVELS_KEY, EventMap, StateMap
from homeserver.state.ordering import (
    mainline_sort,
    reverse_topological_power_sort,
    select_power_events,
)

logger = logging.getLogger(__name__)


def resolve_state_v2(
    room_version: RoomVersion,
    state_sets: Sequence[StateMap],
    event_map: EventMap,
    auth_difference: set[str] | None = None,
    *,
    conflicted_subgraph: set[str] | None = None,
) -> dict[StateKey, str]:
    """Resolve room states with state resolution v2, or v2.1 for room v12.

    Args:
        room_version: the room's version (``state_res`` V2 or V2_1).
        state_sets: the states to resolve, ``(type, state_key) -> event_id``.
        event_map: every event of the state sets and of their auth chains.
            Conflicted events that are missing are left out of the resolution.
        auth_difference: the auth difference of ``state_sets`` if already known
            (e.g. from an auth chain index); computed from ``event_map`` if None.
        conflicted_subgraph: for v2.1, the conflicted state subgraph if already
            known; computed from ``event_map`` if None.

    Returns:
        The resolved state.
    """
    unconflicted, conflicted = separate(state_sets)
    if not conflicted:
        return unconflicted
    full_conflicted = set(conflicted)
    if auth_difference is None:
        auth_difference = find_auth_difference(state_sets, event_map)
    full_conflicted |= auth_difference
    v2_1 = room_version.state_res is StateResAlgorithm.V2_1
    if v2_1:
        if conflicted_subgraph is None:
            conflicted_subgraph = find_subgraph(conflicted, event_map)
        full_conflicted |= conflicted_subgraph
    full_conflicted = {e for e in full_conflicted if e in event_map}
    logger.debug(
        "Resolving state",
        extra={"conflicted": len(conflicted), "full_conflicted": len(full_conflicted)},
    )

    # Steps 1 and 2: the power events and what they depend on, in power order.
    power_events = select_power_events(full_conflicted, event_map)
    power_order = reverse_topological_power_sort(power_events, event_map)
    partial = iterative_auth_checks(
        room_version, power_order, {} if v2_1 else unconflicted, event_map
    )
    # Steps 3 and 4: everything else, along the resolved power levels' mainline.
    others = mainline_sort(
        full_conflicted - power_events, partial.get(POWER_LEVELS_KEY), event_map
    )
    resolved = iterative_auth_checks(room_version, others, partial, event_map)
    # Step 5: the unconflicted state map always wins.
    resolved.update(unconflicted)
    return resolved


def separate(state_sets: Sequence[StateMap]) -> tuple[dict[StateKey, str], set[str]]:
    """Split states into the unconflicted state map and the conflicted state set.

    A key with the same event in every state is unconflicted; otherwise each of
    its events (in whichever states have the key) is conflicted. A key missing
    from some state is conflicted.

    Args:
        state_sets: the states to resolve.

    Returns:
        ``(unconflicted state map, conflicted state set)``.
    """
    unconflicted: dict[StateKey, str] = {}
    conflicted: set[str] = set()
    keys = {key for state in state_sets for key in state}
    for key in keys:
        values = {state.get(key) for state in state_sets}
        only = next(iter(values))
        if len(values) == 1 and only is not None:
            unconflicted[key] = only
        else:
            conflicted.update(v for v in values if v is not None)
    return unconflicted, conflicted
