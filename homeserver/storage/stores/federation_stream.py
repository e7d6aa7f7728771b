"""What the federation sender reads about rooms: new events in stream order
and who is (or was) a member where.

Spec: server-server API, "Transactions": each new event goes to every other
server with a member in its room. The outbound queues themselves are in
federation_outbox.py.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import attrs

from homeserver.events.ids import has_domain
from homeserver.events.model import EventTypes, Membership
from homeserver.storage.database import Database, Transaction

_BATCH = 200


@attrs.frozen
class StreamEvent:
    """An event's place in the events stream, as the sender reads it."""

    stream_ordering: int
    event_id: str
    room_id: str
    sender: str
    outlier: bool


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


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
        rows = await self.db.run_interaction(
            "get_events_for_federation",
            lambda txn: txn.query(
                "SELECT stream_ordering, event_id, room_id, sender, outlier"
                " FROM events WHERE stream_ordering > ? AND stream_ordering <= ?"
                " AND rejected_reason IS NULL AND outlier = ?"
                " ORDER BY stream_ordering LIMIT ?",
                (since, upto, False, limit),
            ),
        )
        return [StreamEvent(int(r[0]), r[1], r[2], r[3], bool(r[4])) for r in rows]

    async def get_memberships(
        self, event_ids: Collection[str]
    ) -> dict[str, tuple[str, str]]:
        """Member events by ID: event ID -> (user ID, membership)."""

        def txn_fn(txn: Transaction) -> dict[str, tuple[str, str]]:
            out: dict[str, tuple[str, str]] = {}
            for chunk in _chunks(sorted(set(event_ids))):
                marks = ",".join("?" * len(chunk))
                for row in txn.query(
                    "SELECT event_id, user_id, membership FROM room_memberships"
                    f" WHERE event_id IN ({marks})",
                    chunk,
                ):
                    out[row[0]] = (row[1], row[2])
            return out

        return await self.db.run_interaction("get_memberships_by_event", txn_fn)

    async def get_joined_users(self, room_ids: Collection[str]) -> set[str]:
        """Everyone currently joined to any of the rooms."""

        def txn_fn(txn: Transaction) -> set[str]:
            found: set[str] = set()
            for chunk in _chunks(sorted(set(room_ids))):
                marks = ",".join("?" * len(chunk))
                found.update(
                    r[0]
                    for r in txn.query(
                        "SELECT state_key FROM current_state_events"
                        f" WHERE type = ? AND membership = ? AND room_id IN ({marks})",
                        (EventTypes.MEMBER, Membership.JOIN, *chunk),
                    )
                )
            return found

        return await self.db.run_interaction("get_joined_users_of_rooms", txn_fn)

    async def get_rooms_with_remote_members(
        self, room_ids: Collection[str], server_name: str
    ) -> set[str]:
        """The rooms where any user of another server has a membership row in
        the current state. Such a row is replaced but never removed, so a room
        not listed here has never had anyone to send to."""
        pattern = "%:" + server_name.replace("%", "").replace("_", "")

        def txn_fn(txn: Transaction) -> set[str]:
            found: set[str] = set()
            for chunk in _chunks(sorted(set(room_ids))):
                marks = ",".join("?" * len(chunk))
                for room_id, user_id in txn.query(
                    "SELECT room_id, state_key FROM current_state_events"
                    f" WHERE type = ? AND room_id IN ({marks})"
                    " AND state_key NOT LIKE ?",
                    (EventTypes.MEMBER, *chunk, pattern),
                ):
                    if not has_domain(user_id, server_name):
                        found.add(room_id)
            return found

        return await self.db.run_interaction("get_rooms_with_remote_members", txn_fn)
