"""Rooms this server knows only through a membership handshake.

An invite from another server (or our own knock or rejection) names a room we
have no state for: the room row and the user's membership are recorded here so
that /sync shows the invite, while the event itself is stored as an outlier.
"""

from __future__ import annotations

from homeserver.events.ids import domains_of
from homeserver.events.model import EventTypes, Membership
from homeserver.events.room_versions import RoomVersion
from homeserver.storage.database import Database, Transaction


class RemoteRoomStore:
    """Room rows and out-of-room memberships for rooms we are not in."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def ensure_room(
        self, room_id: str, room_version: RoomVersion, now_ms: int
    ) -> None:
        """Add a row for a room known only by ID and version, if it has none."""
        await self.db.run_interaction(
            "ensure_room",
            lambda txn: txn.execute(
                "INSERT INTO rooms (room_id, room_version, creator, created_ts)"
                " VALUES (?, ?, NULL, ?) ON CONFLICT (room_id) DO NOTHING",
                (room_id, room_version.identifier, now_ms),
            ),
        )

    async def set_out_of_room_membership(
        self, room_id: str, user_id: str, event_id: str, membership: str
    ) -> None:
        """Record a local user's membership of a room we have no state for.

        Only the user's own member entry of the current state is written; the
        room's real state replaces it when we join.
        """

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "INSERT INTO current_state_events"
                " (room_id, type, state_key, event_id, membership)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id, type, state_key)"
                " DO UPDATE SET event_id = excluded.event_id,"
                " membership = excluded.membership",
                (room_id, EventTypes.MEMBER, user_id, event_id, membership),
            )

        await self.db.run_interaction("set_out_of_room_membership", txn_fn)

    async def get_joined_hosts(self, room_id: str) -> set[str]:
        """The servers with at least one joined member in the current state."""
        rows = await self.db.run_interaction(
            "get_joined_hosts",
            lambda txn: txn.query(
                "SELECT state_key FROM current_state_events"
                " WHERE room_id = ? AND type = ? AND membership = ?",
                (room_id, EventTypes.MEMBER, Membership.JOIN),
            ),
        )
        return domains_of(row.state_key for row in rows)
