"""Synapse's state groups, read back as full state maps.

Synapse stores the state after each event as a state group: a full snapshot
or a delta on a previous group (``state_group_edges``). For a state event the
group after it is usually a delta of one entry on the group before it, which
gives the state before the event.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from homeserver.cli.import_synapse.source import SynapseDatabase
from homeserver.events.model import StateKey

StateMap = dict[StateKey, str]
CACHE = 64


class SynapseStateGroups:
    """Reads and caches Synapse state groups."""

    def __init__(self, source: SynapseDatabase) -> None:
        self.source = source
        self._cache: OrderedDict[int, StateMap] = OrderedDict()

    def prev_group(self, group: int) -> int | None:
        """The group ``group`` is a delta on, if any."""
        row = self.source.one(
            "SELECT prev_state_group FROM state_group_edges WHERE state_group = ?",
            (group,),
        )
        return int(row["prev_state_group"]) if row else None

    def delta(self, group: int) -> StateMap:
        """The entries stored for ``group`` itself."""
        return {
            (r["type"], r["state_key"]): r["event_id"]
            for r in self.source.rows(
                "SELECT type, state_key, event_id FROM state_groups_state"
                " WHERE state_group = ?",
                (group,),
            )
        }

    def state(self, group: int) -> StateMap:
        """The full state of ``group``."""
        cached = self._cache.get(group)
        if cached is not None:
            self._cache.move_to_end(group)
            return cached
        chain = [group]
        while (prev := self.prev_group(chain[-1])) is not None:
            if prev in self._cache:
                chain.append(prev)
                break
            chain.append(prev)
        base = chain[-1]
        state = dict(self._cache.get(base) or self.delta(base))
        for g in reversed(chain[:-1]):
            # Synapse writes an empty event_id for no entry (never in practice).
            state.update(self.delta(g))
        state = {k: v for k, v in state.items() if v}
        self._remember(group, state)
        return state

    def _remember(self, group: int, state: StateMap) -> None:
        self._cache[group] = state
        if len(self._cache) > CACHE:
            self._cache.popitem(last=False)

    def group_of(self, event_id: str) -> int | None:
        """The group of the state after ``event_id``, if it has one."""
        row = self.source.one(
            "SELECT state_group FROM event_to_state_groups WHERE event_id = ?",
            (event_id,),
        )
        return int(row["state_group"]) if row else None

    def before(
        self, event_id: str, group: int, key: StateKey | None, prev_ids: list[Any]
    ) -> tuple[int | None, StateMap]:
        """The state before an event whose state after is ``group``, and the
        Synapse group holding exactly that state (None if there is none).

        Args:
            key: the event's state key, None for a message.
            prev_ids: its prev events.
        """
        if key is None:
            return group, self.state(group)
        prev = self.prev_group(group)
        if prev is not None and set(self.delta(group)) == {key}:
            return prev, self.state(prev)
        if len(prev_ids) == 1:
            prev_event_group = self.group_of(str(prev_ids[0]))
            if prev_event_group is not None:
                return prev_event_group, self.state(prev_event_group)
        state = dict(self.state(group))
        if state.get(key) == event_id:
            del state[key]
        return None, state
