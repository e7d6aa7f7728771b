"""Pagination sessions of ``GET /hierarchy``: the walk's state between pages.

A session is a JSON value under a random token, readable until it expires
(schema 0015). Expired sessions are deleted whenever a new one is written.
"""

from __future__ import annotations

import json
import secrets

from homeserver.storage.database import Database, Transaction
from homeserver.types import JsonDict


class HierarchySessionStore:
    """Creates and reads hierarchy pagination sessions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_session(
        self, user_id: str, value: JsonDict, now_ms: int, expiry_ms: int
    ) -> str:
        """Store ``value`` for ``expiry_ms``; returns its token."""
        session_id = secrets.token_urlsafe(18)

        def txn_fn(txn: Transaction) -> None:
            txn.execute("DELETE FROM hierarchy_sessions WHERE expiry_ts < ?", (now_ms,))
            txn.execute(
                "INSERT INTO hierarchy_sessions (session_id, user_id, value, expiry_ts)"
                " VALUES (?, ?, ?, ?)",
                (session_id, user_id, json.dumps(value), now_ms + expiry_ms),
            )

        await self.db.run_interaction("insert_hierarchy_session", txn_fn)
        return session_id

    async def get_session(
        self, session_id: str, user_id: str, now_ms: int
    ) -> JsonDict | None:
        """The session's value, or None if unknown, expired or another user's."""
        row = await self.db.run_interaction(
            "get_hierarchy_session",
            lambda txn: txn.query_one(
                "SELECT value FROM hierarchy_sessions"
                " WHERE session_id = ? AND user_id = ? AND expiry_ts >= ?",
                (session_id, user_id, now_ms),
            ),
        )
        if row is None:
            return None
        value = json.loads(row.value)
        return value if isinstance(value, dict) else None
