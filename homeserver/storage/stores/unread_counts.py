"""Unread counts of many users' rooms in one transaction (spec: "Receiving
notifications"): their read receipt positions, their joins where they have
no unthreaded receipt, and the push actions after those positions.

When one message wakes every member's long-poll, each needs the same three
look-ups for itself; ``services/sync/unread.py`` gathers those of one reactor
turn and asks here once. The receipts and the joins are one query each for
all the users; so are the counts of the rooms read up to one position
(those with a thread read further are counted one by one).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.stores.push_actions import (
    MAIN,
    Counts,
    ReadPositions,
    RoomCounts,
    count_filters,
    count_unread_txn,
    positions_from_receipts,
)
from homeserver.storage.stores.receipts import UNTHREADED
from homeserver.storage.stores.sync import join_positions_txn
from homeserver.storage.stores.thread_unread import receipt_positions_txn
from homeserver.util.clock import Clock

# (user, room) read positions per statement of the counts.
_READS_PER_STATEMENT = 200
# Counts kept to go on from, at most (then all are dropped), and for how long
# (then the room is counted whole again).
_KEPT_MAX = 100_000
KEEP_MS = 5 * 60 * 1000


@attrs.frozen(cache_hash=True)
class UnreadQuery:
    """One user's rooms to count, up to a stream position.

    Args:
        ignored: senders whose events do not count (ignored users).
        any_hidden: False when the user hid no event (that check is skipped).
    """

    user_id: str
    room_ids: tuple[str, ...]
    upto: int
    ignored: tuple[str, ...] = ()
    any_hidden: bool = True


# A query, one of its rooms, and where that room is read up to.
_Read = tuple[UnreadQuery, str, int]
# (user, room, ignored senders)
_KeptKey = tuple[str, str, tuple[str, ...]]


@attrs.frozen
class _Kept:
    """A room's counts by thread, read up to ``read``, counted up to ``upto``
    (a full count made at ``counted_ms``)."""

    read: int
    upto: int
    by_thread: Mapping[str, Counts]
    counted_ms: int


class UnreadCountsStore:
    """Unread counts for many users at once.

    A room read up to one position (no thread read further) is counted from
    where its last count stopped, when that count was made from the same read
    position, and added to it: the syncs one message wakes then count the
    actions of that message, not every unread one of each member again (a
    member who never reads a busy room has ever more). Actions after a read
    position are never deleted but by a purge of history, so a kept count
    stays right; it is made whole again after ``KEEP_MS`` all the same. Not
    for users who hid events (``any_hidden``): hiding one changes their count.

    Args:
        db: the database.
        receipt_types: the receipt types that read notifications.
        clock: the age of the kept counts.
    """

    def __init__(
        self, db: Database, receipt_types: Collection[str], clock: Clock
    ) -> None:
        self.db = db
        self.receipt_types = tuple(sorted(receipt_types))
        self.clock = clock
        # Written on database threads; each entry whole, replaced whole.
        self._kept: dict[_KeptKey, _Kept] = {}

    async def get_unread_counts(
        self, queries: Sequence[UnreadQuery]
    ) -> dict[UnreadQuery, dict[str, RoomCounts]]:
        """Each query's rooms -> their counts, in one transaction."""
        if not queries:
            return {}
        return await self.db.run_interaction(
            "sync_unread_counts", self._counts_txn, queries
        )

    def _counts_txn(
        self, txn: Transaction, queries: Sequence[UnreadQuery]
    ) -> dict[UnreadQuery, dict[str, RoomCounts]]:
        users = {q.user_id for q in queries}
        rooms = {r for q in queries for r in q.room_ids}
        receipts = receipt_positions_txn(txn, users, rooms, self.receipt_types)
        # Without an unthreaded receipt, a room is unread from the join on.
        no_receipt_users: set[str] = set()
        no_receipt_rooms: set[str] = set()
        for q in queries:
            mine = receipts.get(q.user_id, _NONE)
            for r in q.room_ids:
                if UNTHREADED not in mine.get(r, _NONE):
                    no_receipt_users.add(q.user_id)
                    no_receipt_rooms.add(r)
        joins = (
            join_positions_txn(txn, no_receipt_users, no_receipt_rooms)
            if no_receipt_users
            else {}
        )
        positions: dict[UnreadQuery, dict[str, ReadPositions]] = {}
        for q in queries:
            mine, joined = receipts.get(q.user_id, _NONE), joins.get(q.user_id, _NONE)
            positions[q] = {
                r: positions_from_receipts(mine.get(r, _NONE), joined.get(r, 0))
                for r in q.room_ids
            }
        return self._count_txn(txn, positions)

    def _count_txn(
        self, txn: Transaction, positions: dict[UnreadQuery, dict[str, ReadPositions]]
    ) -> dict[UnreadQuery, dict[str, RoomCounts]]:
        """The counts of every query's rooms: a room read up to one position
        (no thread read further than the main timeline) is counted with the
        others of its kind in one statement, from its kept count if it has
        one; the rest one by one (``count_unread_txn``)."""
        out: dict[UnreadQuery, dict[str, RoomCounts]] = {q: {} for q in positions}
        # (upto, ignored, any_hidden) -> (query, room, read up to) counted together
        alike: dict[tuple[int, tuple[str, ...], bool], list[_Read]] = {}
        for q, rooms in positions.items():
            rest = {}
            for room_id, at in rooms.items():
                if at.main == at.thread_default and not at.threads:
                    key = (q.upto, q.ignored, q.any_hidden)
                    alike.setdefault(key, []).append((q, room_id, at.main))
                else:
                    rest[room_id] = at
            if rest:
                out[q].update(
                    count_unread_txn(
                        txn, q.user_id, rest, q.upto, q.ignored, q.any_hidden
                    )
                )
        now = self.clock.time_msec()
        for (upto, ignored, any_hidden), reads in alike.items():
            kept: dict[tuple[str, str], _Kept] = {}
            starts: list[_Read] = []
            seen: set[tuple[str, str]] = set()
            for q, room_id, read in reads:
                # Two queries of one user (two devices) may share a room:
                # counted once (a room twice in the statement counts twice).
                if (q.user_id, room_id) in seen:
                    continue
                seen.add((q.user_id, room_id))
                found = (
                    None
                    if any_hidden
                    else self._kept.get((q.user_id, room_id, ignored))
                )
                if (
                    found is not None
                    and found.read == read
                    and read <= found.upto <= upto
                    and now - found.counted_ms < KEEP_MS
                ):
                    kept[(q.user_id, room_id)] = found
                    if found.upto < upto:
                        starts.append((q, room_id, found.upto))
                else:
                    starts.append((q, room_id, read))
            counted = _count_alike_txn(txn, starts, upto, ignored, any_hidden)
            if len(self._kept) > _KEPT_MAX:
                self._kept.clear()
            for q, room_id, read in reads:
                earlier = kept.get((q.user_id, room_id))
                by_thread = counted.get((q.user_id, room_id), _NONE)
                if earlier is not None:
                    by_thread = (
                        _added(earlier.by_thread, by_thread)
                        if by_thread
                        else earlier.by_thread
                    )
                if not any_hidden:
                    self._kept[(q.user_id, room_id, ignored)] = _Kept(
                        read,
                        upto,
                        by_thread,
                        earlier.counted_ms if earlier is not None else now,
                    )
                out[q][room_id] = RoomCounts(
                    main=by_thread.get(MAIN, Counts()),
                    threads={
                        t: c
                        for t, c in by_thread.items()
                        if t != MAIN and c.notifications
                    },
                )
        return out


_NONE: Mapping[str, Any] = MappingProxyType({})


def _added(
    before: Mapping[str, Counts], more: Mapping[str, Counts]
) -> dict[str, Counts]:
    """Counts by thread, ``more`` added to ``before``."""
    out = dict(before)
    for thread, counts in more.items():
        was = out.get(thread, Counts())
        out[thread] = Counts(
            was.notifications + counts.notifications,
            was.highlights + counts.highlights,
        )
    return out


def _count_alike_txn(
    txn: Transaction,
    reads: Sequence[_Read],
    upto: int,
    ignored: Sequence[str],
    any_hidden: bool,
) -> dict[tuple[str, str], dict[str, Counts]]:
    """(user, room) -> thread -> the notifying actions after each read
    position up to ``upto``, a statement per ``_READS_PER_STATEMENT`` reads."""
    where, args = count_filters(ignored, any_hidden)
    out: dict[tuple[str, str], dict[str, Counts]] = {}
    for start in range(0, len(reads), _READS_PER_STATEMENT):
        chunk = reads[start : start + _READS_PER_STATEMENT]
        rows = txn.query(
            "WITH w (user_id, room_id, read_upto) AS (VALUES "
            + ", ".join(["(?, ?, ?)"] * len(chunk))
            + ") SELECT a.user_id, a.room_id, a.thread_id, COUNT(*) AS n,"
            " SUM(a.highlight) AS h FROM w JOIN event_push_actions a"
            " ON a.user_id = w.user_id AND a.room_id = w.room_id"
            f" AND a.stream_ordering > w.read_upto WHERE a.stream_ordering <= ?{where}"
            " GROUP BY a.user_id, a.room_id, a.thread_id",
            [
                *(
                    v
                    for q, room_id, after in chunk
                    for v in (q.user_id, room_id, after)
                ),
                upto,
                *args,
            ],
        )
        for row in rows:
            out.setdefault((row.user_id, row.room_id), {})[row.thread_id] = Counts(
                int(row.n), int(row.h or 0)
            )
    return out
