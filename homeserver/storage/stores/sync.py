"""Queries /sync needs: membership changes, room timelines by stream range,
unread counts and member summaries."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import attrs

from homeserver.events.model import EventTypes
from homeserver.storage.database import Database, Transaction

# Events clients may see in timelines: not outliers, not rejected or soft-failed.
_VISIBLE = "outlier = ? AND rejected_reason IS NULL AND soft_failed = ?"
_VISIBLE_ARGS = (False, False)
COUNTED_TYPES = ("m.room.message", "m.room.encrypted", "m.sticker", "m.call.invite")


@attrs.frozen
class MembershipChange:
    """A change of the syncing user's membership."""

    room_id: str
    membership: str
    event_id: str
    stream_ordering: int


def _marks(items: Collection[Any]) -> str:
    return ",".join("?" * len(items))


class SyncStore:
    """Read-only queries for /sync."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_membership_changes(
        self, user_id: str, after: int, upto: int
    ) -> list[MembershipChange]:
        """The user's membership events in (after, upto], oldest first."""
        rows = await self.db.run_interaction(
            "sync_membership_changes",
            lambda txn: txn.query(
                "SELECT room_id, membership, event_id, stream_ordering"
                " FROM room_memberships WHERE user_id = ?"
                " AND stream_ordering > ? AND stream_ordering <= ?"
                " ORDER BY stream_ordering",
                (user_id, after, upto),
            ),
        )
        return [MembershipChange(r[0], r[1], r[2], int(r[3])) for r in rows]

    async def get_rooms_with_events(
        self, room_ids: Collection[str], after: int, upto: int
    ) -> set[str]:
        """Those of ``room_ids`` with events in (after, upto]."""
        if not room_ids or upto <= after:
            return set()

        def txn_fn(txn: Transaction) -> set[str]:
            wanted = set(room_ids)
            rows = txn.query(
                "SELECT DISTINCT room_id FROM events"
                " WHERE stream_ordering > ? AND stream_ordering <= ?",
                (after, upto),
            )
            return {r[0] for r in rows if r[0] in wanted}

        return await self.db.run_interaction("sync_rooms_with_events", txn_fn)

    async def get_recent_event_ids(
        self, room_id: str, after: int | None, upto: int, limit: int
    ) -> tuple[list[str], bool]:
        """Up to ``limit`` newest visible events in (after, upto], oldest first,
        and whether there were more."""

        def txn_fn(txn: Transaction) -> tuple[list[str], bool]:
            args: list[Any] = [room_id, *_VISIBLE_ARGS, upto]
            lower = ""
            if after is not None:
                lower = " AND stream_ordering > ?"
                args.append(after)
            rows = txn.query(
                f"SELECT event_id FROM events WHERE room_id = ? AND {_VISIBLE}"
                f" AND stream_ordering <= ?{lower}"
                " ORDER BY stream_ordering DESC LIMIT ?",
                (*args, limit + 1),
            )
            ids = [r[0] for r in rows]
            return list(reversed(ids[:limit])), len(ids) > limit

        return await self.db.run_interaction("sync_recent_events", txn_fn)

    async def get_last_event_at(self, room_id: str, position: int) -> str | None:
        """The room's last non-outlier event at or before ``position``."""
        row = await self.db.run_interaction(
            "sync_last_event_at",
            lambda txn: txn.query_one(
                "SELECT event_id FROM events WHERE room_id = ? AND outlier = ?"
                " AND stream_ordering <= ? ORDER BY stream_ordering DESC LIMIT 1",
                (room_id, False, position),
            ),
        )
        return str(row[0]) if row else None

    async def count_unread(
        self, room_id: str, user_id: str, after: int, upto: int
    ) -> int:
        """Messages from others in (after, upto]."""
        row = await self.db.run_interaction(
            "sync_count_unread",
            lambda txn: txn.query_one(
                f"SELECT COUNT(*) FROM events WHERE room_id = ? AND {_VISIBLE}"
                " AND stream_ordering > ? AND stream_ordering <= ? AND sender != ?"
                f" AND type IN ({_marks(COUNTED_TYPES)}) AND state_key IS NULL",
                (room_id, *_VISIBLE_ARGS, after, upto, user_id, *COUNTED_TYPES),
            ),
        )
        return int(row[0]) if row else 0

    async def get_member_summary(
        self, room_id: str
    ) -> tuple[dict[str, int], list[tuple[str, str]]]:
        """Member counts by membership, and (user_id, membership) of members."""

        def txn_fn(txn: Transaction) -> tuple[dict[str, int], list[tuple[str, str]]]:
            rows = txn.query(
                "SELECT state_key, membership FROM current_state_events"
                " WHERE room_id = ? AND type = ? ORDER BY state_key",
                (room_id, EventTypes.MEMBER),
            )
            counts: dict[str, int] = {}
            for _, membership in rows:
                counts[membership] = counts.get(membership, 0) + 1
            return counts, [(r[0], r[1]) for r in rows]

        return await self.db.run_interaction("sync_member_summary", txn_fn)
