"""Rooms, their current state and the membership index."""

from __future__ import annotations

from collections.abc import Collection

from homeserver.events.ids import has_domain
from homeserver.events.model import EventTypes, Membership, StateKey
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from homeserver.storage import like
from homeserver.storage.database import Database, Transaction
from homeserver.util.caches import LruCache

# Rooms whose version is remembered; it never changes while the room is known
# (the create event sets it), so this only saves reads.
ROOM_VERSION_CACHE = 10_000


class RoomStateStore:
    """Reads rooms, current state and memberships."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # room ID -> its version; only rooms we know (a miss is read again,
        # so a room stored later is found) and forgotten when purged.
        self._versions: LruCache[str, RoomVersion] = LruCache(
            "room_version", ROOM_VERSION_CACHE
        )

    def remember_room_version(self, room_id: str, version: RoomVersion) -> None:
        """Note the version of a room whose create event was just stored."""
        self._versions.set(room_id, version)

    def forget_room_version(self, room_id: str) -> None:
        """Forget what is remembered of a room (after it was purged)."""
        self._versions.invalidate(room_id)

    async def get_room_version(self, room_id: str) -> RoomVersion | None:
        """The room's version, or None if we do not know the room."""
        known = self._versions.get(room_id)
        if known is not None:
            return known
        row = await self.db.run_interaction(
            "get_room_version",
            lambda txn: txn.query_one(
                "SELECT room_version FROM rooms WHERE room_id = ?", (room_id,)
            ),
        )
        version = KNOWN_ROOM_VERSIONS.get(row.room_version) if row else None
        if version is not None:
            self._versions.set(room_id, version)
        return version

    async def get_current_state_ids(self, room_id: str) -> dict[StateKey, str]:
        """The room's current state as (type, state_key) -> event ID."""
        rows = await self.db.run_interaction(
            "get_current_state_ids",
            lambda txn: txn.query(
                "SELECT type, state_key, event_id FROM current_state_events"
                " WHERE room_id = ?",
                (room_id,),
            ),
        )
        return {(r.type, r.state_key): r.event_id for r in rows}

    async def get_current_state_ids_of(
        self, room_id: str, keys: Collection[StateKey]
    ) -> dict[StateKey, str]:
        """The entries of the current state at ``keys`` (those that exist)."""
        if not keys:
            return {}
        wanted = sorted(set(keys))
        where = " OR ".join(["(type = ? AND state_key = ?)"] * len(wanted))
        args = (room_id, *(part for key in wanted for part in key))
        rows = await self.db.run_interaction(
            "get_current_state_ids_of",
            lambda txn: txn.query(
                "SELECT type, state_key, event_id FROM current_state_events"
                f" WHERE room_id = ? AND ({where})",
                args,
            ),
        )
        return {(r.type, r.state_key): r.event_id for r in rows}

    async def has_joined_user_of(self, room_id: str, server_name: str) -> bool:
        """Whether any user of ``server_name`` is joined to the room."""
        return bool(
            await self.get_joined_users_of(room_id, server_name, ours=True, limit=1)
        )

    async def get_current_state_event_id(
        self, room_id: str, event_type: str, state_key: str
    ) -> str | None:
        """One entry of the current state."""
        row = await self.db.run_interaction(
            "get_current_state_event_id",
            lambda txn: txn.query_one(
                "SELECT event_id FROM current_state_events"
                " WHERE room_id = ? AND type = ? AND state_key = ?",
                (room_id, event_type, state_key),
            ),
        )
        return str(row.event_id) if row else None

    async def get_membership(
        self, room_id: str, user_id: str
    ) -> tuple[str, str] | None:
        """A user's current (membership, event_id) in a room."""
        row = await self.db.run_interaction(
            "get_membership",
            lambda txn: txn.query_one(
                "SELECT membership, event_id FROM current_state_events"
                " WHERE room_id = ? AND type = ? AND state_key = ?",
                (room_id, EventTypes.MEMBER, user_id),
            ),
        )
        return (str(row.membership), str(row.event_id)) if row else None

    async def get_rooms_for_user(
        self, user_id: str, membership: str = "join"
    ) -> list[str]:
        """Rooms where the user's current membership is ``membership``."""
        rows = await self.db.run_interaction(
            "get_rooms_for_user",
            lambda txn: txn.query(
                "SELECT room_id FROM current_state_events"
                " WHERE type = ? AND state_key = ? AND membership = ? ORDER BY room_id",
                (EventTypes.MEMBER, user_id, membership),
            ),
        )
        return [r.room_id for r in rows]

    async def get_members(self, room_id: str) -> dict[str, tuple[str, str]]:
        """Every user with a member event: user_id -> (membership, event_id)."""
        rows = await self.db.run_interaction(
            "get_members",
            lambda txn: txn.query(
                "SELECT state_key, membership, event_id FROM current_state_events"
                " WHERE room_id = ? AND type = ?",
                (room_id, EventTypes.MEMBER),
            ),
        )
        return {r.state_key: (r.membership, r.event_id) for r in rows}

    async def get_joined_users_of(
        self, room_id: str, server_name: str, *, ours: bool, limit: int = 0
    ) -> set[str]:
        """The room's joined users of ``server_name`` (``ours``) or of every
        other server, filtered in the database, so that a room of many users
        of the other kind costs little; at most ``limit`` of them (0: all).

        SQLite's ``LIKE`` ignores case, so the rows are checked exactly; when
        that drops some of a limited read, the room is read again whole.
        """
        sql = (
            "SELECT state_key FROM current_state_events"
            " WHERE room_id = ? AND type = ? AND membership = ?"
            f" AND state_key {'' if ours else 'NOT '}LIKE ? ESCAPE '\\'"
        )
        args: tuple[object, ...] = (
            room_id,
            EventTypes.MEMBER,
            Membership.JOIN,
            like.of_server(server_name),
        )
        if limit:
            sql += " LIMIT ?"
            args += (limit,)
        rows = await self.db.run_interaction(
            "get_joined_users_of", lambda txn: txn.query(sql, args)
        )
        found = {
            r.state_key for r in rows if has_domain(r.state_key, server_name) == ours
        }
        if limit and len(rows) == limit and len(found) < limit:
            whole = await self.get_joined_users_of(room_id, server_name, ours=ours)
            return set(sorted(whole)[:limit])
        return found

    async def get_membership_history(
        self, room_id: str, user_id: str
    ) -> list[tuple[int, int, str]]:
        """A user's membership changes in a room: (depth, stream, membership)."""
        rows = await self.db.run_interaction(
            "get_membership_history",
            lambda txn: txn.query(
                "SELECT depth, stream_ordering, membership FROM room_memberships"
                " WHERE room_id = ? AND user_id = ? ORDER BY stream_ordering",
                (room_id, user_id),
            ),
        )
        return [(int(r.depth), int(r.stream_ordering), str(r.membership)) for r in rows]

    async def forget_room(self, room_id: str, user_id: str) -> None:
        """Mark a user's past memberships of a room forgotten."""
        await self.db.run_interaction(
            "forget_room",
            lambda txn: txn.execute(
                "UPDATE room_memberships SET forgotten = ? WHERE room_id = ? AND user_id = ?",
                (True, room_id, user_id),
            ),
        )

    async def is_forgotten(self, room_id: str, user_id: str) -> bool:
        """Whether the user forgot the room (after leaving it)."""

        def txn_fn(txn: Transaction) -> bool:
            row = txn.query_one(
                "SELECT forgotten FROM room_memberships WHERE room_id = ? AND user_id = ?"
                " ORDER BY stream_ordering DESC LIMIT 1",
                (room_id, user_id),
            )
            return bool(row and row.forgotten)

        return await self.db.run_interaction("is_forgotten", txn_fn)
