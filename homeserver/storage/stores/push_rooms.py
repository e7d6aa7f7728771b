"""What push rule evaluation needs to know about a room, cached in memory:
its joined members (the count, and each local member's display name) and the
events that decide power (create and power levels).

Loaded in one transaction on a miss, then kept current from the events the
persister writes (``apply``): a member or power event changes the cached
entry, a state reset (resolution) drops it. So evaluating an event costs no
database round trip per member, and none at all in a warm room.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import attrs

from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.storage.database import Database, Transaction
from homeserver.storage.stores.events import get_events_txn
from homeserver.util.caches import LruCache

CACHE_SIZE = 10_000
JOIN = "join"
_POWER_TYPES = (EventTypes.CREATE, EventTypes.POWER_LEVELS)


def display_name_of(content: Mapping[str, object]) -> str | None:
    """A member event's display name, if it has a usable one."""
    name = content.get("displayname")
    return name if isinstance(name, str) and name else None


@attrs.frozen
class PushRoom:
    """A room as the push rules see it.

    Args:
        joined: every joined member (local and remote).
        local_members: each local joined member's display name in the room.
        power: the create and power levels events, by state key (the auth
            events power levels are read from).
    """

    joined: frozenset[str]
    local_members: Mapping[str, str | None]
    power: Mapping[StateKey, Event]

    @property
    def member_count(self) -> int:
        return len(self.joined)


class PushRoomStore:
    """Loads and caches ``PushRoom``s.

    Args:
        db: the database.
        is_local: whether a user ID is one of this server's.
    """

    def __init__(self, db: Database, is_local: Callable[[str], bool]) -> None:
        self.db = db
        self.is_local = is_local
        self._rooms: LruCache[str, PushRoom] = LruCache("push_rooms", CACHE_SIZE)
        # Bumped on every change: a load that began before one is not cached.
        self._generation = 0

    async def get_room(self, room_id: str) -> PushRoom:
        """The room's members and power events (cached)."""
        cached = self._rooms.get(room_id)
        if cached is not None:
            return cached
        generation = self._generation
        room = await self.db.run_interaction("push_room", self._load_txn, room_id)
        if generation == self._generation:
            self._rooms.set(room_id, room)
        return room

    def _load_txn(self, txn: Transaction, room_id: str) -> PushRoom:
        joined: set[str] = set()
        local: dict[str, str | None] = {}
        power_ids: dict[StateKey, str] = {}
        rows = txn.query(
            "SELECT c.type, c.state_key, c.event_id, e.json FROM current_state_events c"
            " JOIN events e ON e.event_id = c.event_id WHERE c.room_id = ?"
            " AND ((c.type = ? AND c.membership = ?)"
            " OR (c.type IN (?, ?) AND c.state_key = ''))",
            (room_id, EventTypes.MEMBER, JOIN, *_POWER_TYPES),
        )
        for row in rows:
            if row.type != EventTypes.MEMBER:
                power_ids[(row.type, "")] = row.event_id
                continue
            joined.add(row.state_key)
            if self.is_local(row.state_key):
                content = json.loads(row.json).get("content")
                local[row.state_key] = display_name_of(
                    content if isinstance(content, dict) else {}
                )
        events = get_events_txn(txn, power_ids.values())
        power = {k: events[e] for k, e in power_ids.items() if e in events}
        return PushRoom(frozenset(joined), local, power)

    def apply(self, event: Event, *, state_reset: bool) -> None:
        """Keep the cached room current after ``event`` became part of its
        current state (``state_reset``: the current state was replaced
        wholesale, e.g. by state resolution)."""
        room_id = event.room_id
        self._generation += 1
        if state_reset:
            self._rooms.invalidate(room_id)
            return
        room = self._rooms.get(room_id)
        if room is None or event.rejected_reason is not None or event.soft_failed:
            return
        if event.type in _POWER_TYPES and event.state_key == "":
            power = {**room.power, event.state_tuple: event}
            self._rooms.set(room_id, attrs.evolve(room, power=power))
        elif event.type == EventTypes.MEMBER and event.state_key is not None:
            self._rooms.set(room_id, _with_member(room, event, self.is_local))


def _with_member(
    room: PushRoom, event: Event, is_local: Callable[[str], bool]
) -> PushRoom:
    user_id = str(event.state_key)
    joined = event.content.get("membership") == JOIN
    local = dict(room.local_members)
    if joined and is_local(user_id):
        local[user_id] = display_name_of(event.content)
    else:
        local.pop(user_id, None)
    members = room.joined | {user_id} if joined else room.joined - {user_id}
    return PushRoom(frozenset(members), local, room.power)
