"""What the federation sender reads about rooms: new events in stream order
and who is (or was) a member where.

Spec: server-server API, "Transactions": each new event goes to every other
server with a member in its room. The outbound queues themselves are in
federation_outbox.py.
"""

from __future__ import annotations

from collections.abc import Collection

import attrs

from homeserver.events.ids import has_domain
from homeserver.events.model import EventTypes, Membership
from homeserver.storage import like
from homeserver.storage.database import Database, Transaction


@attrs.frozen
class StreamEvent:
    """An event's place in the events stream, as the sender reads it."""

    stream_ordering: int
    event_id: str
    room_id: str
    sender: str
    outlier: bool


class FederationStreamStore:
    """The sender's reads of the events stream and of room memberships.

    Args:
        db: the database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_events_after(
        self, since: int, upto: int, limit: int
    ) -> list[StreamEvent]:
        """DAG events with stream ordering in (since, upto], oldest first
        (outliers are never sent: the thousands a join stores are skipped
        here, not read and dropped)."""
        rows = await self.db.run_read(
            "get_events_for_federation",
            lambda txn: txn.query(
                "SELECT stream_ordering, event_id, room_id, sender, outlier"
                " FROM events WHERE stream_ordering > ? AND stream_ordering <= ?"
                " AND rejected_reason IS NULL AND outlier = ?"
                " ORDER BY stream_ordering LIMIT ?",
                (since, upto, False, limit),
            ),
        )
        return [
            StreamEvent(
                int(r.stream_ordering), r.event_id, r.room_id, r.sender, bool(r.outlier)
            )
            for r in rows
        ]

    async def get_memberships(
        self, event_ids: Collection[str]
    ) -> dict[str, tuple[str, str]]:
        """Member events by ID: event ID -> (user ID, membership)."""

        def txn_fn(txn: Transaction) -> dict[str, tuple[str, str]]:
            return {
                row.event_id: (row.user_id, row.membership)
                for row in txn.query_in(
                    "SELECT event_id, user_id, membership FROM room_memberships"
                    " WHERE event_id IN (?*)",
                    sorted(set(event_ids)),
                )
            }

        return await self.db.run_interaction("get_memberships_by_event", txn_fn)

    async def get_joined_users(self, room_ids: Collection[str]) -> set[str]:
        """Everyone currently joined to any of the rooms."""

        def txn_fn(txn: Transaction) -> set[str]:
            return {
                row.state_key
                for row in txn.query_in(
                    "SELECT state_key FROM current_state_events"
                    " WHERE type = ? AND membership = ? AND room_id IN (?*)",
                    sorted(set(room_ids)),
                    (EventTypes.MEMBER, Membership.JOIN),
                )
            }

        return await self.db.run_interaction("get_joined_users_of_rooms", txn_fn)

    async def get_rooms_with_remote_members(
        self, room_ids: Collection[str], server_name: str
    ) -> set[str]:
        """The rooms where any user of another server has a membership row in
        the current state. Such a row is replaced but never removed, so a room
        not listed here has never had anyone to send to."""
        pattern = like.of_server(server_name)

        def txn_fn(txn: Transaction) -> set[str]:
            return {
                row.room_id
                for row in txn.query_in(
                    "SELECT room_id, state_key FROM current_state_events"
                    " WHERE type = ? AND room_id IN (?*)"
                    " AND state_key NOT LIKE ? ESCAPE '\\'",
                    sorted(set(room_ids)),
                    (EventTypes.MEMBER, pattern),
                )
                if not has_domain(row.state_key, server_name)
            }

        return await self.db.run_interaction("get_rooms_with_remote_members", txn_fn)
