"""State resolution v1 (room v1 only).

Spec: rooms/v1.md "State resolution". Pure: no I/O.

Where the spec's prose is loose this follows Synapse, which defined the algorithm
and is what v1 rooms run on in practice:

- a key is conflicted only if states *that have it* disagree (a key missing from
  some states is not a conflict);
- within one pass (power levels, join rules, memberships) each key is resolved
  against R as it stood before the pass, so the result does not depend on the
  order keys are visited in; R takes the pass's results afterwards;
- if no event of an "other" key passes authentication, the last one in the
  order (lowest depth) is taken rather than dropping the key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from homeserver.events.auth_rules import (
    AuthError,
    auth_types_for_event,
    check_auth_rules,
    signature_present,
)
from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.events.room_versions import RoomVersion
from homeserver.state.lookups import (
    CREATE_KEY,
    POWER_LEVELS_KEY,
    EventMap,
    StateMap,
    room_create_event,
)

Conflicts = dict[StateKey, list[Event]]


def resolve_state_v1(
    room_version: RoomVersion,
    state_sets: Sequence[StateMap],
    event_map: EventMap,
) -> dict[StateKey, str]:
    """Resolve room states with the room v1 algorithm.

    Args:
        room_version: the room's version (v1).
        state_sets: the states to resolve, ``(type, state_key) -> event_id``.
        event_map: the events of the state sets (conflicted events that are
            missing are left out; a key left with one event is unconflicted).

    Returns:
        The resolved state.
    """
    resolved, conflicts = _separate(state_sets, event_map)
    passes: list[Callable[[StateKey], bool]] = [
        lambda key: key == POWER_LEVELS_KEY,
        lambda key: key[0] == EventTypes.JOIN_RULES,
        lambda key: key[0] == EventTypes.MEMBER,
    ]
    for in_pass in passes:
        keys = [key for key in conflicts if in_pass(key)]
        chosen = {
            key: _resolve_auth_key(
                room_version, conflicts.pop(key), resolved, event_map
            )
            for key in keys
        }
        resolved.update(chosen)
    chosen = {
        key: _resolve_other_key(room_version, events, resolved, event_map)
        for key, events in conflicts.items()
    }
    resolved.update(chosen)
    return resolved


def _separate(
    state_sets: Sequence[StateMap], event_map: EventMap
) -> tuple[dict[StateKey, str], Conflicts]:
    """R's starting point (the unconflicted state) and the conflicted events."""
    values: dict[StateKey, set[str]] = {}
    for state in state_sets:
        for key, event_id in state.items():
            values.setdefault(key, set()).add(event_id)
    unconflicted: dict[StateKey, str] = {}
    conflicts: Conflicts = {}
    for key, event_ids in values.items():
        if len(event_ids) == 1:
            unconflicted[key] = next(iter(event_ids))
            continue
        known = [event_map[e] for e in event_ids if e in event_map]
        if len(known) == 1:
            unconflicted[key] = known[0].event_id
        elif known:
            conflicts[key] = known
    return unconflicted, conflicts


def _order(events: list[Event]) -> list[Event]:
    """Highest depth first, then lowest ``sha1(event_id)``."""

    def key(event: Event) -> tuple[int, str]:
        digest = hashlib.sha1(event.event_id.encode("utf-8")).hexdigest()
        return (-event.depth, digest)

    return sorted(events, key=key)


def _resolve_auth_key(
    room_version: RoomVersion,
    events: list[Event],
    resolved: StateMap,
    event_map: EventMap,
) -> str:
    """One key of the power levels, join rules or membership passes.

    Sorted by ascending depth then descending ``sha1(event_id)``, the first event
    is taken, then each next one for as long as it is allowed by R with the
    previous one applied.
    """
    ordered = _order(events)[::-1]
    current = ordered[0]
    state = dict(resolved)
    for event in ordered[1:]:
        state[current.state_tuple] = current.event_id
        if not _allowed(room_version, event, state, event_map):
            break
        current = event
    return current.event_id


def _resolve_other_key(
    room_version: RoomVersion,
    events: list[Event],
    resolved: StateMap,
    event_map: EventMap,
) -> str:
    """Any other key: the highest, lowest-hash event that R allows."""
    ordered = _order(events)
    for event in ordered:
        if _allowed(room_version, event, resolved, event_map):
            return event.event_id
    return ordered[-1].event_id


def _allowed(
    room_version: RoomVersion, event: Event, state: StateMap, event_map: EventMap
) -> bool:
    """Whether the auth rules allow ``event`` in ``state``."""
    wanted = auth_types_for_event(
        room_version, event.type, event.state_key, event.sender, event.content
    )
    auth_events = {
        key: event_map[state[key]]
        for key in wanted
        if key in state and state[key] in event_map
    }
    if CREATE_KEY not in auth_events:
        create = room_create_event(event, event_map)
        if create is not None:
            auth_events[CREATE_KEY] = create
    try:
        check_auth_rules(event, auth_events, verify_signature=signature_present)
    except AuthError:
        return False
    return True
