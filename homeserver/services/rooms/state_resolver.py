"""The state before an event: one parent's state, or the resolution of several.

Gathers what the pure resolver needs (state sets, events and their auth
chains) from storage and hands it to ``homeserver.state``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from homeserver.events.model import Event, StateKey
from homeserver.events.room_versions import RoomVersion
from homeserver.state import resolve_state
from homeserver.storage.stores.event_persistence import EventContext
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.state import StateStore


class StateResolver:
    """Computes EventContexts for new events."""

    def __init__(self, events: EventStore, state: StateStore) -> None:
        self.events = events
        self.state = state

    async def context_for_prev_events(
        self, room_version: RoomVersion, prev_event_ids: Collection[str]
    ) -> EventContext:
        """The state before an event whose parents are ``prev_event_ids``."""
        if not prev_event_ids:
            return EventContext(state_before={})
        groups = await self.state.get_state_groups_for_events(prev_event_ids)
        unique = sorted(set(groups.values()))
        sets: list[tuple[int | None, dict[StateKey, str]]] = [
            (group, await self.state.get_state_for_group(group)) for group in unique
        ]
        return await self.context_for_state_sets(room_version, sets)

    async def context_for_state_sets(
        self,
        room_version: RoomVersion,
        sets: Sequence[tuple[int | None, Mapping[StateKey, str]]],
    ) -> EventContext:
        """The state before an event whose parents' states are ``sets``.

        Args:
            sets: ``(state group or None, state)`` after each parent; a parent
                whose state came from elsewhere (e.g. another server) has no
                group.
        """
        unique: dict[object, tuple[int | None, Mapping[StateKey, str]]] = {}
        for group, state in sets:
            key: object = group if group is not None else tuple(sorted(state.items()))
            unique.setdefault(key, (group, state))
        distinct = list(unique.values())
        if not distinct:
            return EventContext(state_before={})
        if len(distinct) == 1:
            group, state = distinct[0]
            return EventContext(state_before=dict(state), state_group_before=group)
        resolved = await self.resolve(room_version, [state for _, state in distinct])
        base_group, base_state = distinct[-1]
        for group, state in reversed(distinct):
            if group is not None:
                base_group, base_state = group, state
                break
        return EventContext(
            state_before=resolved,
            delta_base_group=base_group,
            delta_base_state=base_state if base_group is not None else None,
            resolved=True,
        )

    async def resolve(
        self,
        room_version: RoomVersion,
        state_sets: Sequence[Mapping[StateKey, str]],
        pending: Event | None = None,
    ) -> dict[StateKey, str]:
        """Resolve several states of a room.

        Args:
            pending: an event the states may hold that is not stored yet
                (every other event must be).
        """
        if len(state_sets) == 1:
            return dict(state_sets[0])
        all_ids = {eid for state in state_sets for eid in state.values()}
        stored_ids = all_ids - {pending.event_id} if pending else all_ids
        chains = await self.events.get_auth_chains(stored_ids)
        if pending is not None and pending.event_id in all_ids:
            auth_ids = set(pending.auth_event_ids)
            parents = await self.events.get_auth_chains(auth_ids)
            chains[pending.event_id] = auth_ids.union(*parents.values())
        set_chains: list[set[str]] = [
            set().union(*(chains.get(eid, set()) for eid in state.values()))
            for state in state_sets
        ]
        difference = set().union(*set_chains) - set_chains[0].intersection(
            *set_chains[1:]
        )
        event_map = await self._events_with_auth_chains(stored_ids, pending)
        return resolve_state(room_version, state_sets, event_map, difference)

    async def _events_with_auth_chains(
        self, event_ids: set[str], pending: Event | None = None
    ) -> dict[str, Event]:
        found: dict[str, Event] = {}
        frontier = set(event_ids)
        if pending is not None:
            found[pending.event_id] = pending
            frontier |= set(pending.auth_event_ids)
        while frontier:
            fetched = await self.events.get_events(frontier)
            found.update(fetched)
            frontier = {
                auth_id
                for event in fetched.values()
                for auth_id in event.auth_event_ids
                if auth_id not in found
            }
        return found
