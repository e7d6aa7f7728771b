"""Queries /sync needs: membership changes, room timelines by stream range,
unread counts and member summaries."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import attrs

from homeserver.events.model import EventTypes
from homeserver.storage.database import Database, Transaction, in_list
from homeserver.storage.stores.stream import EventRowFilter

# Events clients may see in timelines: not outliers, not rejected or soft-failed.
_VISIBLE = "outlier = ? AND rejected_reason IS NULL AND soft_failed = ?"
_VISIBLE_ARGS = (False, False)


@attrs.frozen
class MembershipChange:
    """A change of the syncing user's membership."""

    room_id: str
    membership: str
    event_id: str
    stream_ordering: int


def _last_event_at_txn(txn: Transaction, room_id: str, position: int) -> str | None:
    """The room's last non-outlier event at or before ``position``."""
    row = txn.query_one(
        "SELECT event_id FROM events WHERE room_id = ? AND outlier = ?"
        " AND stream_ordering <= ? ORDER BY stream_ordering DESC LIMIT 1",
        (room_id, False, position),
    )
    return str(row.event_id) if row else None


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
        return [
            MembershipChange(
                r.room_id, r.membership, r.event_id, int(r.stream_ordering)
            )
            for r in rows
        ]

    async def get_memberships_at(
        self, user_id: str, room_ids: Collection[str], position: int
    ) -> dict[str, str]:
        """The user's membership of each room as of ``position`` (rooms where
        the user had none then are left out)."""
        rooms = sorted(room_ids)
        if not rooms:
            return {}
        rows = await self.db.run_interaction(
            "sync_memberships_at",
            lambda txn: txn.query_in(
                "SELECT room_id, membership, stream_ordering FROM room_memberships"
                " WHERE user_id = ? AND stream_ordering <= ? AND room_id IN (?*)",
                rooms,
                (user_id, position),
            ),
        )
        latest: dict[str, tuple[int, str]] = {}
        for row in rows:
            at = int(row.stream_ordering)
            if row.room_id not in latest or at > latest[row.room_id][0]:
                latest[row.room_id] = (at, str(row.membership))
        return {room_id: membership for room_id, (_, membership) in latest.items()}

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
            return {r.room_id for r in rows if r.room_id in wanted}

        return await self.db.run_interaction("sync_rooms_with_events", txn_fn)


@attrs.frozen
class RoomWindow:
    """A room's newest events for a sync, and where its timeline starts."""

    event_ids: list[str]
    limited: bool
    # The last event before the timeline (whose state is the state before it).
    before_timeline: str | None


class SyncBatchStore:
    """The per-room sync queries for many rooms, one transaction each.

    A sync that covers 100 rooms makes a handful of database round trips
    instead of several per room.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_windows(
        self,
        rooms: dict[str, int | None],
        upto: int,
        limit: int,
        row_filter: EventRowFilter | None = None,
    ) -> dict[str, RoomWindow]:
        """For each room (-> the position after which to start, or None), the
        newest ``limit`` visible events in (after, upto] that pass
        ``row_filter`` (applied before the limit), and the event before."""
        filter_sql, filter_args = (row_filter or EventRowFilter()).to_sql()

        def txn_fn(txn: Transaction) -> dict[str, RoomWindow]:
            out = {}
            for room_id, after in rooms.items():
                args: list[Any] = [room_id, *_VISIBLE_ARGS, upto]
                lower = ""
                if after is not None:
                    lower = " AND stream_ordering > ?"
                    args.append(after)
                rows = txn.query(
                    "SELECT event_id, stream_ordering FROM events e WHERE room_id = ?"
                    f" AND {_VISIBLE} AND stream_ordering <= ?{lower}{filter_sql}"
                    " ORDER BY stream_ordering DESC LIMIT ?",
                    (*args, *filter_args, limit + 1),
                )
                ids = [r.event_id for r in rows[:limit]]
                start = rows[len(ids) - 1].stream_ordering if ids else upto + 1
                out[room_id] = RoomWindow(
                    list(reversed(ids)),
                    len(rows) > limit,
                    _last_event_at_txn(txn, room_id, start - 1),
                )
            return out

        return await self.db.run_interaction("sync_windows", txn_fn)

    async def get_last_events_at(self, rooms: dict[str, int]) -> dict[str, str]:
        """Each room's last non-outlier event at or before its position."""

        def txn_fn(txn: Transaction) -> dict[str, str]:
            found = {r: _last_event_at_txn(txn, r, p) for r, p in rooms.items()}
            return {r: e for r, e in found.items() if e is not None}

        return await self.db.run_interaction("sync_last_events_at", txn_fn)

    async def get_member_summaries(
        self, room_ids: Collection[str]
    ) -> dict[str, list[tuple[str, str]]]:
        """(user_id, membership) of every member of each room, by user ID."""
        rooms = sorted(room_ids)
        if not rooms:
            return {}
        rows = await self.db.run_interaction(
            "sync_member_summaries",
            lambda txn: txn.query_in(
                "SELECT room_id, state_key, membership FROM current_state_events"
                " WHERE type = ? AND room_id IN (?*) ORDER BY room_id, state_key",
                rooms,
                (EventTypes.MEMBER,),
            ),
        )
        out: dict[str, list[tuple[str, str]]] = {r: [] for r in rooms}
        for row in rows:
            out[row.room_id].append((row.state_key, row.membership))
        return out

    async def get_naming_event_ids(
        self, room_ids: Collection[str]
    ) -> dict[str, list[str]]:
        """The current m.room.name and m.room.canonical_alias event IDs of each
        room that has one or both."""
        rooms = sorted(room_ids)
        if not rooms:
            return {}
        rows = await self.db.run_interaction(
            "sync_naming_events",
            lambda txn: txn.query_in(
                "SELECT room_id, event_id FROM current_state_events"
                " WHERE type IN (?, ?) AND state_key = ? AND room_id IN (?*)",
                rooms,
                (EventTypes.NAME, EventTypes.CANONICAL_ALIAS, ""),
            ),
        )
        out: dict[str, list[str]] = {}
        for row in rows:
            out.setdefault(row.room_id, []).append(row.event_id)
        return out

    async def get_join_positions(
        self, user_id: str, room_ids: Collection[str]
    ) -> dict[str, int]:
        """The stream position where the user's current stay in each room
        began: the first join after their last leave (or other non-join), so
        that a join -> join profile update does not count as joining again."""
        if not room_ids:
            return {}
        found = await self.db.run_interaction(
            "sync_join_positions", join_positions_txn, [user_id], room_ids
        )
        return found.get(user_id, {})


# Rooms per statement of ``join_positions_txn`` (the users go in batches too).
_ROOM_BATCH = 200


def join_positions_txn(
    txn: Transaction, user_ids: Collection[str], room_ids: Collection[str]
) -> dict[str, dict[str, int]]:
    """user -> room -> where their current stay began (``get_join_positions``),
    for each of ``user_ids`` in each of ``room_ids`` they are in."""
    rooms = sorted(room_ids)
    out: dict[str, dict[str, int]] = {}
    for start in range(0, len(rooms), _ROOM_BATCH):
        chunk = rooms[start : start + _ROOM_BATCH]
        rows = txn.query_in(
            "SELECT j.user_id, j.room_id, MIN(j.stream_ordering) AS stream_ordering"
            " FROM room_memberships j"
            " WHERE j.membership = ? AND j.stream_ordering > ("
            " SELECT COALESCE(MAX(o.stream_ordering), ?) FROM room_memberships o"
            " WHERE o.user_id = j.user_id AND o.room_id = j.room_id"
            f" AND o.membership <> ?) AND j.room_id IN {in_list(chunk)}"
            " AND j.user_id IN (?*) GROUP BY j.user_id, j.room_id",
            sorted(user_ids),
            ("join", -(2**62), "join", *chunk),
        )
        for row in rows:
            out.setdefault(row.user_id, {})[row.room_id] = int(row.stream_ordering)
    return out
