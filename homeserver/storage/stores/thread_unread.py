"""Read receipt positions per thread for the unread counts of /sync (spec:
"Receiving notifications", threaded read receipts); the counts themselves are
the push actions after them (``push_actions.py``)."""

from __future__ import annotations

from collections.abc import Collection

from homeserver.storage.database import Transaction, in_list

# Rooms per statement of the many-user query (the users go in batches too).
ROOM_BATCH = 200


def receipt_positions_txn(
    txn: Transaction,
    user_ids: Collection[str],
    room_ids: Collection[str],
    receipt_types: Collection[str],
) -> dict[str, dict[str, dict[str, int]]]:
    """user -> room -> thread ID ("" unthreaded, "main", a root) -> the newest
    receipted event's stream ordering, of each of ``user_ids`` in each of
    ``room_ids``."""
    rooms = sorted(room_ids)
    types = sorted(receipt_types)
    out: dict[str, dict[str, dict[str, int]]] = {}
    for start in range(0, len(rooms), ROOM_BATCH):
        chunk = rooms[start : start + ROOM_BATCH]
        rows = txn.query_in(
            "SELECT user_id, room_id, thread_id, MAX(event_stream_ordering) AS pos"
            f" FROM receipts WHERE room_id IN {in_list(chunk)}"
            f" AND receipt_type IN {in_list(types)} AND user_id IN (?*)"
            " GROUP BY user_id, room_id, thread_id",
            sorted(user_ids),
            (*chunk, *types),
        )
        for row in rows:
            if row.pos is not None:
                by_room = out.setdefault(row.user_id, {})
                by_room.setdefault(row.room_id, {})[row.thread_id] = int(row.pos)
    return out
