"""The state before an event: one parent's state, or the resolution of several.

Gathers what the pure resolver needs (state sets, events and their auth
chains) from storage and hands it to ``homeserver.state``.
"""

from __future__ import annotations

from collections.abc import Collection

from homeserver.events.model import Event
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
        if not unique:
            return EventContext(state_before={})
        if len(unique) == 1:
            state = await self.state.get_state_for_group(unique[0])
            return EventContext(state_before=state, state_group_before=unique[0])
        state_sets = [await self.state.get_state_for_group(g) for g in unique]
        all_ids = {eid for state in state_sets for eid in state.values()}
        chains = await self.events.get_auth_chains(all_ids)
        set_chains: list[set[str]] = [
            set().union(*(chains.get(eid, set()) for eid in state.values()))
            for state in state_sets
        ]
        difference = set().union(*set_chains) - set_chains[0].intersection(
            *set_chains[1:]
        )
        event_map = await self._events_with_auth_chains(all_ids)
        resolved = resolve_state(room_version, state_sets, event_map, difference)
        return EventContext(
            state_before=resolved,
            delta_base_group=unique[-1],
            delta_base_state=state_sets[-1],
            resolved=True,
        )

    async def _events_with_auth_chains(self, event_ids: set[str]) -> dict[str, Event]:
        found: dict[str, Event] = {}
        frontier = set(event_ids)
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
