"""The two orderings of state resolution v2: reverse topological power, mainline.

Spec: rooms/fragments/v2-state-res.md "Reverse topological power ordering",
"Mainline ordering" and step 1 of "Algorithm". Pure: no I/O.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Collection, Iterable

from homeserver.events.auth_rules import AuthError, get_user_power_level
from homeserver.state.lookups import (
    EventMap,
    cited_auth_state,
    is_power_event,
    power_levels_parent,
)

SortKey = tuple[float, int, str]


def sender_power_level(event_id: str, event_map: EventMap) -> int | float:
    """The power level of an event's sender, "when looking at their auth_events".

    This is the level the power levels event *cited by the event* gives the
    sender (or, with none cited, the creator default of the auth rules), not the
    level in any resolved state: the ordering must not depend on the outcome it
    is computing. From room v12 on the room's creators rank above everyone
    (``math.inf``).

    Args:
        event_id: the event; it must be in ``event_map``.
        event_map: the events we know.

    Returns:
        The sender's power level; 0 if the cited power levels are malformed
        (they would have been rejected on receipt, and so this event too).
    """
    event = event_map[event_id]
    # Rejected auth events still count: this only orders events, and every
    # server must find the same order.
    cited = cited_auth_state(event, event_map, skip_rejected=False)
    try:
        return get_user_power_level(event.sender, cited)
    except AuthError:
        return 0


def select_power_events(
    full_conflicted: Collection[str], event_map: EventMap
) -> set[str]:
    """Step 1's set X: the power events of the full conflicted set, enlarged.

    X holds every power event of the full conflicted set, plus the events of the
    full conflicted set reached from them by walking auth events *through events
    of the set only*. This is how Synapse and Ruma read "the events in the auth
    chain of P which also belong to the full conflicted set"; the literal reading
    (through any event) resolves some rooms differently, and rooms must resolve
    the same on every server.

    Args:
        full_conflicted: the full conflicted set (all IDs in ``event_map``).
        event_map: the events we know.

    Returns:
        The IDs in X.
    """
    conflicted = set(full_conflicted)
    selected = {e for e in conflicted if is_power_event(event_map[e])}
    stack = list(selected)
    while stack:
        for auth_id in event_map[stack.pop()].auth_event_ids:
            if (
                auth_id in conflicted
                and auth_id not in selected
                and auth_id in event_map
            ):
                selected.add(auth_id)
                stack.append(auth_id)
    return selected


def reverse_topological_power_sort(
    selected: Collection[str], event_map: EventMap
) -> list[str]:
    """Sort events by the reverse topological power ordering.

    This is the lexicographically smallest ordering, earliest first, that puts
    every event after the events of its auth chain, comparing candidates by
    (higher sender power level, lower ``origin_server_ts``, lower event ID). It
    is Kahn's algorithm picking the smallest ready event at each step.

    The order constraint is the auth edges between selected events, as in
    Synapse: since X is closed under auth edges inside the conflicted set, this
    is the graph Synapse sorts, and matching it keeps resolution identical.

    Args:
        selected: the events to sort (all in ``event_map``).
        event_map: the events we know.

    Returns:
        The selected event IDs, earliest first. Events on an ``auth_events``
        cycle (impossible for valid events) are left out.
    """
    chosen = set(selected)
    power = {e: sender_power_level(e, event_map) for e in chosen}

    def key(event_id: str) -> SortKey:
        return (-power[event_id], event_map[event_id].origin_server_ts, event_id)

    return _kahn(chosen, chosen, key, event_map)


def _kahn(
    nodes: set[str],
    chosen: set[str],
    key: Callable[[str], SortKey],
    event_map: EventMap,
) -> list[str]:
    waiting: dict[str, int] = {}
    cited_by: dict[str, list[str]] = {}
    for node in nodes:
        needs = {a for a in event_map[node].auth_event_ids if a in nodes}
        waiting[node] = len(needs)
        for auth_id in needs:
            cited_by.setdefault(auth_id, []).append(node)
    free = [n for n in nodes if not waiting[n] and n not in chosen]
    ready = [(key(n), n) for n in nodes if not waiting[n] and n in chosen]
    heapq.heapify(ready)
    ordered: list[str] = []

    def release(node: str) -> None:
        for citer in cited_by.get(node, ()):
            waiting[citer] -= 1
            if waiting[citer]:
                continue
            if citer in chosen:
                heapq.heappush(ready, (key(citer), citer))
            else:
                free.append(citer)

    while True:
        while free:
            release(free.pop())
        if not ready:
            return ordered
        _, node = heapq.heappop(ready)
        ordered.append(node)
        release(node)


def mainline_sort(
    event_ids: Iterable[str], power_levels_id: str | None, event_map: EventMap
) -> list[str]:
    """Sort events by the mainline ordering based on a power levels event.

    Events whose power levels ancestry joins the mainline earlier (further from
    ``power_levels_id``) come first, those that never join it first of all; ties
    go by ``origin_server_ts``, then event ID.

    Args:
        event_ids: the events to sort (all in ``event_map``).
        power_levels_id: P, the power levels event of the partially resolved
            state, or None if it has none (then every position is infinite).
        event_map: the events we know.

    Returns:
        The event IDs, smallest first.
    """
    positions = _mainline_positions(power_levels_id, event_map)
    memo: dict[str, float] = {}

    def key(event_id: str) -> SortKey:
        event = event_map[event_id]
        position = _mainline_position(event_id, positions, memo, event_map)
        return (-position, event.origin_server_ts, event_id)

    return sorted(event_ids, key=key)


def _mainline_positions(
    power_levels_id: str | None, event_map: EventMap
) -> dict[str, int]:
    """``{P_i: i}`` for the mainline [P_0, P_1, ...] of ``power_levels_id``."""
    positions: dict[str, int] = {}
    current = power_levels_id
    while current is not None and current not in positions:
        positions[current] = len(positions)
        event = event_map.get(current)
        parent = power_levels_parent(event, event_map) if event is not None else None
        current = parent.event_id if parent is not None else None
    return positions


def _mainline_position(
    event_id: str,
    positions: dict[str, int],
    memo: dict[str, float],
    event_map: EventMap,
) -> float:
    """The mainline position of an event: i for the first e_j (j >= 1) that is P_i.

    ``memo`` maps power levels events already walked to the position of the first
    mainline event among themselves and their ancestry, so each power levels
    event is walked once per sort.
    """
    path: dict[str, None] = {}  # insertion-ordered set
    parent = power_levels_parent(event_map[event_id], event_map)
    position: float = math.inf
    while parent is not None:
        current = parent.event_id
        if current in positions:
            position = positions[current]
            break
        if current in memo:
            position = memo[current]
            break
        if current in path:  # an auth_events cycle: never joins the mainline
            break
        path[current] = None
        parent = power_levels_parent(parent, event_map)
    for walked in path:
        memo[walked] = position
    return position
