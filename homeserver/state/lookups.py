"""Small lookups over an in-memory event map, shared by the resolution algorithms.

Spec: rooms/fragments/v2-state-res.md (power events, mainline); rooms/v12.md (the
create event is found through the room ID). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from homeserver.events.ids import create_event_id_of_room
from homeserver.events.model import Event, EventTypes, Membership, StateKey

EventMap = Mapping[str, Event]
"""Every event the resolution may look at, by event ID."""

StateMap = Mapping[StateKey, str]
"""A room state: ``(type, state_key) -> event_id``."""

CREATE_KEY: StateKey = (EventTypes.CREATE, "")
POWER_LEVELS_KEY: StateKey = (EventTypes.POWER_LEVELS, "")


def auth_events_of(event: Event, event_map: EventMap) -> Iterator[Event]:
    """The event's auth events that are in ``event_map``, in the order cited.

    Args:
        event: the event whose ``auth_events`` to follow.
        event_map: the events we know.

    Yields:
        Each known auth event; unknown IDs are skipped.
    """
    for auth_id in event.auth_event_ids:
        auth_event = event_map.get(auth_id)
        if auth_event is not None:
            yield auth_event


def power_levels_parent(event: Event, event_map: EventMap) -> Event | None:
    """The ``m.room.power_levels`` event among the event's auth events, if any.

    This is the step used to build a mainline ("the m.room.power_levels event
    in the auth_events of P_i").

    Args:
        event: the event to look at.
        event_map: the events we know.

    Returns:
        The first cited power levels event that we know, or None.
    """
    for auth_event in auth_events_of(event, event_map):
        if auth_event.is_state() and auth_event.state_tuple == POWER_LEVELS_KEY:
            return auth_event
    return None


def room_create_event(event: Event, event_map: EventMap) -> Event | None:
    """The ``m.room.create`` event of the event's room.

    Before room v12 it is one of the event's auth events; from v12 on it is never
    an auth event, and its ID is the room ID with ``$`` for ``!``.

    Args:
        event: any event of the room (the create event yields itself).
        event_map: the events we know.

    Returns:
        The create event, or None if we do not have it.
    """
    if event.is_state() and event.state_tuple == CREATE_KEY:
        return event
    if event.room_version.room_id_is_create_hash:
        found = event_map.get(create_event_id_of_room(event.room_id))
        if found is not None and found.is_state() and found.state_tuple == CREATE_KEY:
            return found
    for auth_event in auth_events_of(event, event_map):
        if auth_event.is_state() and auth_event.state_tuple == CREATE_KEY:
            return auth_event
    return None


def cited_auth_state(
    event: Event, event_map: EventMap, *, skip_rejected: bool
) -> dict[StateKey, Event]:
    """The event's own auth events keyed by ``(type, state_key)``.

    The room's create event is always included when we have it, as the auth rules
    need it (from v12 on it is not cited).

    Args:
        event: the event whose auth events to collect.
        event_map: the events we know.
        skip_rejected: leave out auth events that were rejected.

    Returns:
        ``(type, state_key) -> Event``.
    """
    found: dict[StateKey, Event] = {}
    for auth_event in auth_events_of(event, event_map):
        if not auth_event.is_state():
            continue
        if skip_rejected and auth_event.rejected_reason is not None:
            continue
        found[auth_event.state_tuple] = auth_event
    if CREATE_KEY not in found:
        create = room_create_event(event, event_map)
        if create is not None and not (skip_rejected and create.rejected_reason):
            found[CREATE_KEY] = create
    return found


def is_power_event(event: Event) -> bool:
    """Whether the event is a *power event* as state resolution v2 defines it.

    A power event is a state event of type ``m.room.power_levels`` or
    ``m.room.join_rules``, or an ``m.room.member`` leave or ban whose sender is not
    its state key (a kick or a ban): events that may take an ability away.

    Args:
        event: the event to classify.

    Returns:
        True for a power event.
    """
    if not event.is_state():
        return False
    if event.type in (EventTypes.POWER_LEVELS, EventTypes.JOIN_RULES):
        return True
    if event.type == EventTypes.MEMBER:
        return (
            event.membership in (Membership.LEAVE, Membership.BAN)
            and event.sender != event.state_key
        )
    return False
