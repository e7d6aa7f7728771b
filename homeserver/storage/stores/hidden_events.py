"""Events each user has hidden from their own view ("delete for me").

A Chatly extension (docs/extensions/delete-for-me.md). The store owns a small
cache of each user's hidden event IDs, which every read path consults, and
invalidates it on its own writes.
"""

from __future__ import annotations

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.util.caches import LruCache

CACHE_SIZE = 10_000


@attrs.frozen
class HiddenEvent:
    """One hidden event."""

    room_id: str
    event_id: str
    hidden_ts: int


class HiddenEventsStore:
    """Reads and writes ``hidden_events``.

    Args:
        db: the database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._by_user: LruCache[str, frozenset[str]] = LruCache(
            "hidden_event_ids", CACHE_SIZE
        )
        # Bumped on every write: a read that began before a write does not
        # cache what it found (it may predate the write).
        self._generation = 0

    @property
    def cache(self) -> LruCache[str, frozenset[str]]:
        """Each user's hidden events (shared between processes)."""
        return self._by_user

    def forget_replicated(self, user_ids: list[str]) -> None:
        """Another process changed these users' hidden events (none: any)."""
        self._generation += 1
        self._by_user.forget_keys(user_ids)

    async def get_hidden_event_ids(self, user_id: str) -> frozenset[str]:
        """Every event the user has hidden, in any room (cached)."""
        cached = self._by_user.get(user_id)
        if cached is not None:
            return cached
        generation = self._generation
        rows = await self.db.run_interaction(
            "get_hidden_event_ids",
            lambda txn: txn.query(
                "SELECT event_id FROM hidden_events WHERE user_id = ?", (user_id,)
            ),
        )
        found = frozenset(str(r.event_id) for r in rows)
        if generation == self._generation:
            self._by_user.set(user_id, found)
        return found

    def _invalidate(self, user_id: str) -> None:
        self._generation += 1
        self._by_user.invalidate(user_id)

    async def insert_hidden_event(
        self, user_id: str, room_id: str, event_id: str, now_ms: int, room_cap: int
    ) -> bool | None:
        """Hide one event for the user.

        Returns:
            True if newly hidden, False if it already was, None if the room
            already holds ``room_cap`` hidden events of the user (nothing
            written).
        """

        def txn_fn(txn: Transaction) -> bool | None:
            if txn.query_one(
                "SELECT 1 AS one FROM hidden_events WHERE user_id = ? AND event_id = ?",
                (user_id, event_id),
            ):
                return False
            row = txn.query_one(
                "SELECT COUNT(*) AS n FROM hidden_events"
                " WHERE user_id = ? AND room_id = ?",
                (user_id, room_id),
            )
            if row is not None and int(row.n) >= room_cap:
                return None
            txn.execute(
                "INSERT INTO hidden_events (user_id, room_id, event_id, hidden_ts)"
                " VALUES (?, ?, ?, ?)",
                (user_id, room_id, event_id, now_ms),
            )
            txn.call_after(lambda: self._invalidate(user_id))
            return True

        return await self.db.run_interaction("insert_hidden_event", txn_fn)

    async def delete_hidden_event(
        self, user_id: str, room_id: str, event_id: str
    ) -> bool:
        """Show the event again; whether it was hidden."""

        def txn_fn(txn: Transaction) -> bool:
            txn.execute(
                "DELETE FROM hidden_events"
                " WHERE user_id = ? AND room_id = ? AND event_id = ?",
                (user_id, room_id, event_id),
            )
            deleted = txn.rowcount > 0
            if deleted:
                txn.call_after(lambda: self._invalidate(user_id))
            return deleted

        return await self.db.run_interaction("delete_hidden_event", txn_fn)

    async def get_hidden_events(
        self, user_id: str, room_id: str | None, offset: int, limit: int
    ) -> list[HiddenEvent]:
        """The user's hidden events (in one room, or all), newest first."""
        where, args = "user_id = ?", [user_id]
        if room_id is not None:
            where += " AND room_id = ?"
            args.append(room_id)
        rows = await self.db.run_interaction(
            "get_hidden_events",
            lambda txn: txn.query(
                "SELECT room_id, event_id, hidden_ts FROM hidden_events"
                f" WHERE {where} ORDER BY hidden_ts DESC, event_id"
                " LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ),
        )
        return [
            HiddenEvent(str(r.room_id), str(r.event_id), int(r.hidden_ts)) for r in rows
        ]
