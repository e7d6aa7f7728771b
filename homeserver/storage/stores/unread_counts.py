"""Unread counts of many users' rooms in one transaction (spec: "Receiving
notifications"): their read receipt positions, their joins where they have
no unthreaded receipt, and the push actions after those positions.

When one message wakes every member's long-poll, each needs the same three
look-ups for itself; ``services/sync/unread.py`` gathers those of one reactor
turn and asks here once. The receipts and the joins are one query each for
all the users; the counts are one query per user and room, as before.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.stores.push_actions import (
    RoomCounts,
    count_unread_txn,
    positions_from_receipts,
)
from homeserver.storage.stores.receipts import UNTHREADED
from homeserver.storage.stores.sync import join_positions_txn
from homeserver.storage.stores.thread_unread import receipt_positions_txn


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
        out: dict[UnreadQuery, dict[str, RoomCounts]] = {}
        for q in queries:
            mine, joined = receipts.get(q.user_id, {}), joins.get(q.user_id, {})
            positions = {
                r: positions_from_receipts(mine.get(r, {}), joined.get(r, 0))
                for r in q.room_ids
            }
            out[q] = count_unread_txn(
                txn, q.user_id, positions, q.upto, q.ignored, q.any_hidden
            )
        return out
