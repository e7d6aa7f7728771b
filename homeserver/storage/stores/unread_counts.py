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

from collections.abc import Collection, Sequence

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

# (user, room) read positions per statement of the counts.
_READS_PER_STATEMENT = 200


@attrs.frozen
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


class UnreadCountsStore:
    """Unread counts for many users at once.

    Args:
        db: the database.
        receipt_types: the receipt types that read notifications.
    """

    def __init__(self, db: Database, receipt_types: Collection[str]) -> None:
        self.db = db
        self.receipt_types = tuple(sorted(receipt_types))

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
        no_receipt = {
            (q.user_id, r)
            for q in queries
            for r in q.room_ids
            if UNTHREADED not in receipts.get(q.user_id, {}).get(r, {})
        }
        joins = join_positions_txn(
            txn, {u for u, _ in no_receipt}, {r for _, r in no_receipt}
        )
        positions: dict[UnreadQuery, dict[str, ReadPositions]] = {}
        for q in queries:
            mine, joined = receipts.get(q.user_id, {}), joins.get(q.user_id, {})
            positions[q] = {
                r: positions_from_receipts(mine.get(r, {}), joined.get(r, 0))
                for r in q.room_ids
            }
        return _count_txn(txn, positions)


def _count_txn(
    txn: Transaction, positions: dict[UnreadQuery, dict[str, ReadPositions]]
) -> dict[UnreadQuery, dict[str, RoomCounts]]:
    """The counts of every query's rooms: a room read up to one position (no
    thread read further than the main timeline) is counted with the others of
    its kind in one statement; the rest one by one (``count_unread_txn``)."""
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
                count_unread_txn(txn, q.user_id, rest, q.upto, q.ignored, q.any_hidden)
            )
    for (upto, ignored, any_hidden), reads in alike.items():
        for start in range(0, len(reads), _READS_PER_STATEMENT):
            chunk = reads[start : start + _READS_PER_STATEMENT]
            found = _count_alike_txn(txn, chunk, upto, ignored, any_hidden)
            for q, room_id, _ in chunk:
                by_thread = found.get((q.user_id, room_id), {})
                out[q][room_id] = RoomCounts(
                    main=by_thread.get(MAIN, Counts()),
                    threads={
                        t: c
                        for t, c in by_thread.items()
                        if t != MAIN and c.notifications
                    },
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
    position up to ``upto``, for all of ``reads`` in one statement."""
    where, args = count_filters(ignored, any_hidden)
    rows = txn.query(
        "WITH w (user_id, room_id, read_upto) AS (VALUES "
        + ", ".join(["(?, ?, ?)"] * len(reads))
        + ") SELECT a.user_id, a.room_id, a.thread_id, COUNT(*) AS n,"
        " SUM(a.highlight) AS h FROM w JOIN event_push_actions a"
        " ON a.user_id = w.user_id AND a.room_id = w.room_id"
        f" AND a.stream_ordering > w.read_upto WHERE a.stream_ordering <= ?{where}"
        " GROUP BY a.user_id, a.room_id, a.thread_id",
        [
            *(v for q, room_id, after in reads for v in (q.user_id, room_id, after)),
            upto,
            *args,
        ],
    )
    out: dict[tuple[str, str], dict[str, Counts]] = {}
    for row in rows:
        out.setdefault((row.user_id, row.room_id), {})[row.thread_id] = Counts(
            int(row.n), int(row.h or 0)
        )
    return out
