"""The state after given events, looked up through their state groups.

Reads only: one transaction maps events to groups and projects each distinct
group once, through ``StateStore``'s group cache, so checking a page of
events costs one round trip however many events share a group.
"""

from __future__ import annotations

from collections.abc import Collection

import attrs

from homeserver.events.model import StateKey
from homeserver.storage.database import Database, Transaction
from homeserver.storage.stores.state import StateStore


@attrs.frozen
class StateSelection:
    """Which entries of a state map to return.

    Args:
        keys: exact (type, state_key) pairs.
        types: whole event types (every state_key).
        everything: the full state, ignoring the above.
    """

    keys: frozenset[StateKey] = frozenset()
    types: frozenset[str] = frozenset()
    everything: bool = False

    @classmethod
    def all(cls) -> StateSelection:
        return cls(everything=True)

    def project(self, state: dict[StateKey, str]) -> dict[StateKey, str]:
        """The selected part of ``state`` (a new dict)."""
        if self.everything:
            return dict(state)
        out = {key: state[key] for key in self.keys if key in state}
        if self.types:
            out.update((k, v) for k, v in state.items() if k[0] in self.types)
        return out


class EventStateStore:
    """Answers "what was the state after event X" for batches of events."""

    def __init__(self, db: Database, state: StateStore) -> None:
        self.db = db
        self.state = state

    async def get_state_ids_for_events(
        self, event_ids: Collection[str], selection: StateSelection
    ) -> dict[str, dict[StateKey, str]]:
        """(type, state_key) -> event ID after each event, as ``selection`` picks.

        Events with no state group (outliers, unknown IDs) are left out.
        """
        if not event_ids:
            return {}
        return await self.db.run_interaction(
            "get_state_ids_for_events", self._txn, list(event_ids), selection
        )

    async def get_state_ids_for_event(
        self, event_id: str, selection: StateSelection
    ) -> dict[StateKey, str] | None:
        """The selected state after one event, or None without a state group."""
        found = await self.get_state_ids_for_events([event_id], selection)
        return found.get(event_id)

    def _txn(
        self, txn: Transaction, event_ids: list[str], selection: StateSelection
    ) -> dict[str, dict[StateKey, str]]:
        groups = self.state.get_state_groups_for_events_txn(txn, event_ids)
        projected: dict[int, dict[StateKey, str]] = {}
        for group in set(groups.values()):
            full = self.state.get_state_for_group_txn(txn, group)
            projected[group] = selection.project(full)
        return {event_id: dict(projected[g]) for event_id, g in groups.items()}
