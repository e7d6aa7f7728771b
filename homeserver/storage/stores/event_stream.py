"""The legacy event stream (GET /events): room events between two positions."""

from __future__ import annotations

from collections.abc import Collection

from homeserver.storage.database import Database, Transaction
from homeserver.storage.stores.stream import VISIBLE, VISIBLE_ARGS


class EventStreamStore:
    """Reads the events stream across several rooms."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_events_between(
        self, room_ids: Collection[str], after: int, upto: int, limit: int
    ) -> list[tuple[str, int]]:
        """The first ``limit`` events of ``room_ids`` in (after, upto], oldest
        first, as (event ID, stream position)."""
        if not room_ids or upto <= after:
            return []

        def txn_fn(txn: Transaction) -> list[tuple[str, int]]:
            rows = txn.query_in(
                "SELECT e.event_id, e.stream_ordering FROM events e"
                " WHERE e.room_id IN (?*) AND e.stream_ordering > ?"
                f" AND e.stream_ordering <= ? AND {VISIBLE}"
                " ORDER BY e.stream_ordering LIMIT ?",
                sorted(room_ids),
                (after, upto, *VISIBLE_ARGS, limit),
            )
            found = sorted((int(r.stream_ordering), str(r.event_id)) for r in rows)
            return [(event_id, pos) for pos, event_id in found[:limit]]

        return await self.db.run_interaction("event_stream_between", txn_fn)
