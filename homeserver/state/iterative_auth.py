"""The iterative auth checks of state resolution v2.

Spec: rooms/fragments/v2-state-res.md "Iterative auth checks" and "Rejected
events". Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from homeserver.events.auth_rules import (
    AuthError,
    auth_types_for_event,
    check_auth_rules,
    signature_present,
)
from homeserver.events.model import Event, StateKey
from homeserver.events.room_versions import RoomVersion
from homeserver.state.lookups import EventMap, StateMap, cited_auth_state


def iterative_auth_checks(
    room_version: RoomVersion,
    event_ids: Iterable[str],
    initial_state: StateMap,
    event_map: EventMap,
) -> dict[StateKey, str]:
    """Apply each event to the state, in order, if the auth rules allow it.

    Each event is checked against the current state for the keys the auth rules
    need; a key missing from the state is taken from the event's own
    ``auth_events``. Rejected events are never used as auth events.

    An event that was itself rejected is never applied. The spec would re-check
    an event rejected for failing auth against the state before it, but we do
    not record why an event was rejected, and one rejected against its own auth
    events must never enter the state; Synapse makes the same choice.

    Args:
        room_version: the room's version.
        event_ids: the sorted state events to apply (all in ``event_map``).
        initial_state: the state to start from.
        event_map: the events we know.

    Returns:
        The new state.
    """
    state = dict(initial_state)
    for event_id in event_ids:
        event = event_map[event_id]
        if not event.is_state() or event.rejected_reason is not None:
            continue
        auth_events = _auth_state(room_version, event, state, event_map)
        try:
            check_auth_rules(event, auth_events, verify_signature=signature_present)
        except AuthError:
            continue
        state[event.state_tuple] = event_id
    return state


def _auth_state(
    room_version: RoomVersion,
    event: Event,
    state: StateMap,
    event_map: EventMap,
) -> dict[StateKey, Event]:
    """The auth state to check ``event`` against: the state, else its auth events."""
    auth_events = cited_auth_state(event, event_map, skip_rejected=True)
    wanted = auth_types_for_event(
        room_version, event.type, event.state_key, event.sender, event.content
    )
    for key in wanted:
        state_event = event_map.get(state[key]) if key in state else None
        if state_event is not None and state_event.rejected_reason is None:
            auth_events[key] = state_event
    return auth_events
