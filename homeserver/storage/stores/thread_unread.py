"""Read receipt positions per thread for the unread counts of /sync (spec:
"Receiving notifications", threaded read receipts); the counts themselves are
the push actions after them (``push_actions.py``)."""

from __future__ import annotations

from collections.abc import Collection

from homeserver.storage.database import Database, in_list


class ThreadUnreadStore:
    """Receipt positions per thread."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_receipt_positions(
        self, user_id: str, room_ids: Collection[str], receipt_types: Collection[str]
    ) -> dict[str, dict[str, int]]:
        """room -> thread ID ("" unthreaded, "main", a root) -> the newest
        receipted event's stream ordering."""
        rooms = sorted(room_ids)
        types = sorted(receipt_types)
        rows = await self.db.run_interaction(
            "thread_receipt_positions",
            lambda txn: txn.query_in(
                "SELECT room_id, thread_id, MAX(event_stream_ordering) AS pos"
                " FROM receipts WHERE user_id = ? AND room_id IN (?*)"
                f" AND receipt_type IN {in_list(types)} GROUP BY room_id, thread_id",
                rooms,
                (user_id, *types),
            ),
        )
        out: dict[str, dict[str, int]] = {}
        for row in rows:
            if row.pos is not None:
                out.setdefault(row.room_id, {})[row.thread_id] = int(row.pos)
        return out
