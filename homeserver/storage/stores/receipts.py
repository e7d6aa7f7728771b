"""Receipts: the latest one per (room, user, receipt type, thread).

Every change takes a new position on the receipts stream. A receipt never moves
backwards: one for an event older (by stream ordering) than the current one is
ignored, as Synapse does.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import attrs

from homeserver.storage.database import IN_BATCH, Database, Transaction, in_list
from homeserver.storage.id_generators import StreamIdGenerator

# The thread_id column of an unthreaded receipt.
UNTHREADED = ""


@attrs.frozen
class Receipt:
    """One user's receipt in a room.

    Args:
        thread_id: ``main``, a thread root's event ID, or None if unthreaded.
    """

    room_id: str
    receipt_type: str
    user_id: str
    thread_id: str | None
    event_id: str
    ts: int


_COLUMNS = "SELECT room_id, receipt_type, user_id, thread_id, event_id, ts"


def _receipt(row: Any) -> Receipt:
    return Receipt(
        row.room_id,
        row.receipt_type,
        row.user_id,
        row.thread_id or None,
        row.event_id,
        int(row.ts),
    )


class ReceiptStore:
    """Reads and writes receipts; owns the receipts stream position.

    Args:
        db: the database.
        stream_ids: the receipts stream's ID generator.
    """

    def __init__(self, db: Database, stream_ids: StreamIdGenerator) -> None:
        self.db = db
        self.stream_ids = stream_ids

    async def upsert_receipt(
        self,
        receipt: Receipt,
        event_stream_ordering: int,
    ) -> int | None:
        """Record a receipt unless it would move the user's receipt backwards.

        Returns:
            Its receipts stream position, or None if nothing changed (the
            receipt is for the same event or an older one).
        """
        thread = UNTHREADED if receipt.thread_id is None else receipt.thread_id

        def upsert_txn(txn: Transaction, stream_id: int) -> bool:
            row = txn.query_one(
                "SELECT event_stream_ordering FROM receipts WHERE room_id = ?"
                " AND receipt_type = ? AND user_id = ? AND thread_id = ?",
                (receipt.room_id, receipt.receipt_type, receipt.user_id, thread),
            )
            if (
                row is not None
                and int(row.event_stream_ordering) >= event_stream_ordering
            ):
                return False
            txn.execute(
                "INSERT INTO receipts (room_id, receipt_type, user_id, thread_id,"
                " event_id, event_stream_ordering, ts, stream_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (room_id, receipt_type, user_id, thread_id) DO UPDATE"
                " SET event_id = excluded.event_id, ts = excluded.ts,"
                " event_stream_ordering = excluded.event_stream_ordering,"
                " stream_id = excluded.stream_id",
                (
                    receipt.room_id,
                    receipt.receipt_type,
                    receipt.user_id,
                    thread,
                    receipt.event_id,
                    event_stream_ordering,
                    receipt.ts,
                    stream_id,
                ),
            )
            return True

        with self.stream_ids.allocate() as stream_id:
            written = await self.db.run_interaction(
                "upsert_receipt", upsert_txn, stream_id
            )
        return stream_id if written else None

    async def get_receipts(
        self, room_ids: Collection[str], since: int | None, upto: int
    ) -> list[Receipt]:
        """Receipts of ``room_ids`` last changed in (since, upto].

        ``since`` None means from the beginning: every current receipt.
        """
        low = -1 if since is None else since
        wanted = sorted(set(room_ids))

        def get_txn(txn: Transaction) -> list[Receipt]:
            rows = txn.query_in(
                _COLUMNS + " FROM receipts WHERE room_id IN (?*)"
                " AND stream_id > ? AND stream_id <= ? ORDER BY stream_id",
                wanted,
                (low, upto),
            )
            return [_receipt(r) for r in rows]

        if not wanted:
            return []
        return await self.db.run_interaction("get_receipts", get_txn)

    async def get_receipts_on_events(
        self, room_events: Mapping[str, Collection[str]], user_id: str, upto: int
    ) -> list[Receipt]:
        """The receipts (at positions up to ``upto``) that are on the given
        events of each room, and ``user_id``'s own in those rooms: what a
        room's first sliding-sync response needs, without every member's."""
        rooms = sorted(room_events)

        def get_txn(txn: Transaction) -> list[Receipt]:
            rows = []
            for room_id in rooms:
                events = sorted(set(room_events[room_id]))
                for i in range(0, len(events), IN_BATCH):
                    batch = events[i : i + IN_BATCH]
                    rows += txn.query(
                        _COLUMNS + " FROM receipts WHERE room_id = ?"
                        f" AND event_id IN {in_list(batch)} AND stream_id <= ?",
                        (room_id, *batch, upto),
                    )
            rows += txn.query_in(
                _COLUMNS + " FROM receipts WHERE user_id = ? AND room_id IN (?*)"
                " AND stream_id <= ?",
                rooms,
                (user_id, upto),
            )
            return [_receipt(r) for r in rows]

        if not rooms:
            return []
        return await self.db.run_interaction("get_receipts_on_events", get_txn)

    async def get_receipt(
        self, room_id: str, receipt_type: str, user_id: str, thread_id: str | None
    ) -> Receipt | None:
        """One receipt, or None."""
        thread = UNTHREADED if thread_id is None else thread_id
        row = await self.db.run_interaction(
            "get_receipt",
            lambda txn: txn.query_one(
                "SELECT event_id, ts FROM receipts WHERE room_id = ?"
                " AND receipt_type = ? AND user_id = ? AND thread_id = ?",
                (room_id, receipt_type, user_id, thread),
            ),
        )
        if row is None:
            return None
        return Receipt(
            room_id, receipt_type, user_id, thread_id, row.event_id, int(row.ts)
        )

    async def get_max_event_stream_orderings(
        self,
        user_id: str,
        room_ids: Collection[str],
        receipt_types: Collection[str],
        thread_ids: Collection[str | None],
    ) -> dict[str, int]:
        """The same for many rooms in one query: room_id -> stream ordering."""
        rooms = sorted(room_ids)
        if not rooms:
            return {}
        types = sorted(receipt_types)
        threads = sorted({UNTHREADED if t is None else t for t in thread_ids})
        rows = await self.db.run_interaction(
            "get_max_receipt_stream_orderings",
            lambda txn: txn.query_in(
                "SELECT room_id, MAX(event_stream_ordering) AS stream_ordering"
                " FROM receipts WHERE user_id = ? AND room_id IN (?*)"
                f" AND receipt_type IN {in_list(types)}"
                f" AND thread_id IN {in_list(threads)}"
                " GROUP BY room_id",
                rooms,
                (user_id, *types, *threads),
            ),
        )
        return {
            r.room_id: int(r.stream_ordering)
            for r in rows
            if r.stream_ordering is not None
        }

    async def get_max_event_stream_ordering(
        self,
        user_id: str,
        room_id: str,
        receipt_types: Collection[str],
        thread_ids: Collection[str | None],
    ) -> int | None:
        """The newest receipted event's stream ordering among some receipts.

        Args:
            thread_ids: which threads count; None is the unthreaded receipt.
        """
        types = sorted(receipt_types)
        threads = sorted({UNTHREADED if t is None else t for t in thread_ids})
        row = await self.db.run_interaction(
            "get_max_receipt_stream_ordering",
            lambda txn: txn.query_one(
                "SELECT MAX(event_stream_ordering) AS stream_ordering FROM receipts"
                " WHERE user_id = ? AND room_id = ?"
                f" AND receipt_type IN {in_list(types)}"
                f" AND thread_id IN {in_list(threads)}",
                (user_id, room_id, *types, *threads),
            ),
        )
        return (
            int(row.stream_ordering)
            if row and row.stream_ordering is not None
            else None
        )
