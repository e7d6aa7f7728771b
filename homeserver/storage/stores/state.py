"""State snapshots: de-duplicated state groups with bounded delta chains.

A state group is the full state of a room at some point. It is stored either
as a full snapshot or as a delta on an earlier group; chains of deltas are cut
at MAX_DELTA_DEPTH so a read never walks far. Events map to the group holding
the state after them; a message shares its parent's group, so sending into a
big room writes no state rows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from homeserver.events.model import StateKey
from homeserver.storage.database import Database, Transaction
from homeserver.storage.id_generators import StreamIdGenerator
from homeserver.util.caches import LruCache

MAX_DELTA_DEPTH = 50
# Events whose state group is remembered: a room's next event reads its
# prevs' (the room's tips).
EVENT_GROUPS_REMEMBERED = 10_000
StateMap = Mapping[StateKey, str]


class StateStore:
    """Reads and writes state groups, caching resolved group contents and
    the group of recent events (an event's group never changes; purges,
    the only deletes, empty that cache)."""

    def __init__(self, db: Database, group_ids: StreamIdGenerator) -> None:
        self.db = db
        self.group_ids = group_ids
        self._cache: LruCache[int, dict[StateKey, str]] = LruCache(
            "state_groups", 2_000
        )
        self._event_groups: LruCache[str, int] = LruCache(
            "event_state_groups", EVENT_GROUPS_REMEMBERED
        )
        # Group -> its delta depth (never changes): a new group's base's.
        self._depths: LruCache[int, int] = LruCache(
            "state_group_depths", EVENT_GROUPS_REMEMBERED
        )
        # Bumped by every purge: a read that raced one is not remembered.
        self._purges = 0
        db.watch_writes(("event_to_state_group",), self._forget_event_groups)

    def _forget_event_groups(self) -> None:
        self._purges += 1
        self._event_groups.clear()

    def remember_event_group(self, event_id: str, group: int) -> None:
        """Note the group of an event just persisted (after its commit)."""
        self._event_groups.set(event_id, group)

    async def get_state_groups_for_events(
        self, event_ids: Collection[str]
    ) -> dict[str, int]:
        """The group holding the state after each event we have state for."""
        found: dict[str, int] = {}
        for event_id in event_ids:
            group = self._event_groups.get(event_id)
            if group is None:
                break
            found[event_id] = group
        else:
            return found
        purges = self._purges
        found = await self.db.run_read(
            "get_state_groups_for_events",
            self.get_state_groups_for_events_txn,
            event_ids,
        )
        if purges == self._purges:
            for event_id, group in found.items():
                self._event_groups.set(event_id, group)
        return found

    @staticmethod
    def get_state_groups_for_events_txn(
        txn: Transaction, event_ids: Collection[str]
    ) -> dict[str, int]:
        """The same, inside a transaction."""
        return {
            row.event_id: int(row.state_group)
            for row in txn.query_in(
                "SELECT event_id, state_group FROM event_to_state_group"
                " WHERE event_id IN (?*)",
                event_ids,
            )
        }

    async def get_state_for_group(self, group: int) -> dict[StateKey, str]:
        """The full state of a group (a copy the caller may change)."""
        cached = self._cache.get(group)
        if cached is None:
            cached = await self.db.run_interaction(
                "get_state_for_group", self.get_state_for_group_txn, group
            )
        return dict(cached)

    def get_state_for_group_txn(
        self, txn: Transaction, group: int
    ) -> dict[StateKey, str]:
        """The full state of a group, inside a transaction (cached)."""
        cached = self._cache.get(group)
        if cached is not None:
            return cached
        chain = []
        current: int | None = group
        while current is not None:
            known = self._cache.get(current)
            if known is not None:
                break
            chain.append(current)
            row = txn.query_one(
                "SELECT prev_group FROM state_groups WHERE id = ?", (current,)
            )
            current = (
                int(row.prev_group) if row and row.prev_group is not None else None
            )
        state: dict[StateKey, str] = (
            dict(known) if current is not None and known else {}
        )
        for link in reversed(chain):
            for row in txn.query(
                "SELECT type, state_key, event_id FROM state_group_entries"
                " WHERE state_group = ?",
                (link,),
            ):
                if row.event_id is None:
                    state.pop((row.type, row.state_key), None)
                else:
                    state[(row.type, row.state_key)] = row.event_id
            self._cache.set(link, dict(state))
        return state

    def store_state_group_txn(
        self,
        txn: Transaction,
        room_id: str,
        state: StateMap,
        base_group: int | None,
        base_state: StateMap | None,
        changed: StateMap | None = None,
    ) -> int:
        """Write a new group for ``state``, as a delta on ``base_group`` if short.

        Args:
            changed: what ``state`` sets that ``base_state`` does not (removes
                nothing), when the caller knows it: one state event's change
                is then written without comparing the whole state.

        Returns:
            The new group's ID.
        """
        [group] = self.group_ids.allocate_many_txn(txn, 1)
        depth = 0
        if base_group is not None and base_state is not None:
            known = self._depths.get(base_group)
            if known is None:
                row = txn.query_one(
                    "SELECT delta_depth FROM state_groups WHERE id = ?", (base_group,)
                )
                known = int(row.delta_depth) if row else MAX_DELTA_DEPTH
            depth = known + 1
        entries: list[tuple[str, str, str | None]]
        if base_group is None or base_state is None or depth > MAX_DELTA_DEPTH:
            entries = [(k[0], k[1], v) for k, v in state.items()]
            base_group, depth = None, 0
        elif changed is not None:
            entries = [
                (k[0], k[1], v) for k, v in changed.items() if base_state.get(k) != v
            ]
        else:
            entries = [
                (k[0], k[1], v) for k, v in state.items() if base_state.get(k) != v
            ]
            entries += [(k[0], k[1], None) for k in base_state if k not in state]
        txn.execute_later(
            "INSERT INTO state_groups (id, room_id, prev_group, delta_depth) VALUES (?, ?, ?, ?)",
            (group, room_id, base_group, depth),
        )
        txn.insert_many(
            "state_group_entries",
            ("state_group", "type", "state_key", "event_id"),
            [(group, *entry) for entry in entries],
            later=True,
        )
        frozen = dict(state)
        txn.call_after(lambda: self._cache.set(group, frozen))
        txn.call_after(lambda: self._depths.set(group, depth))
        return group
