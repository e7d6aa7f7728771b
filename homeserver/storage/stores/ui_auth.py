"""User-interactive auth sessions, and shared-secret registration nonces."""

from __future__ import annotations

import json

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row
from homeserver.types import JsonDict


@attrs.frozen
class UiAuthSession:
    """A UIA session: what it is for and which stages are done."""

    session_id: str
    creation_ts: int
    uri: str
    method: str
    clientdict: JsonDict
    completed: list[str]
    serverdict: JsonDict


_SESSION_COLUMNS = (
    "session_id, creation_ts, uri, method, clientdict, completed, serverdict"
)


def _session(row: Row) -> UiAuthSession:
    return UiAuthSession(
        row.session_id,
        int(row.creation_ts),
        row.uri,
        row.method,
        json.loads(row.clientdict),
        json.loads(row.completed),
        json.loads(row.serverdict),
    )


class UiAuthStore:
    """Reads and writes UIA sessions and admin registration nonces."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_session(self, session: UiAuthSession) -> None:
        """Store a new session."""
        await self.db.run_interaction(
            "create_ui_auth_session",
            lambda txn: txn.execute(
                "INSERT INTO ui_auth_sessions (session_id, creation_ts, uri, method,"
                " clientdict, completed, serverdict) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    session.session_id,
                    session.creation_ts,
                    session.uri,
                    session.method,
                    json.dumps(session.clientdict),
                    json.dumps(session.completed),
                    json.dumps(session.serverdict),
                ),
            ),
        )

    async def get_session(self, session_id: str) -> UiAuthSession | None:
        """A session, or None."""
        row = await self.db.run_interaction(
            "get_ui_auth_session",
            lambda txn: txn.query_one(
                f"SELECT {_SESSION_COLUMNS} FROM ui_auth_sessions WHERE session_id = ?",
                (session_id,),
            ),
        )
        return _session(row) if row else None

    async def update_session(
        self, session_id: str, completed: list[str], serverdict: JsonDict
    ) -> None:
        """Record completed stages and server-side data."""
        await self.db.run_interaction(
            "update_ui_auth_session",
            lambda txn: txn.execute(
                "UPDATE ui_auth_sessions SET completed = ?, serverdict = ? WHERE session_id = ?",
                (json.dumps(completed), json.dumps(serverdict), session_id),
            ),
        )

    async def delete_session(self, session_id: str) -> None:
        """Forget a session."""
        await self.db.run_interaction(
            "delete_ui_auth_session",
            lambda txn: txn.execute(
                "DELETE FROM ui_auth_sessions WHERE session_id = ?", (session_id,)
            ),
        )

    async def pop_expired_sessions(self, before_ts: int) -> list[UiAuthSession]:
        """Delete sessions created before ``before_ts`` and return them."""

        def pop_txn(txn: Transaction) -> list[UiAuthSession]:
            rows = txn.query(
                f"SELECT {_SESSION_COLUMNS} FROM ui_auth_sessions WHERE creation_ts < ?",
                (before_ts,),
            )
            txn.execute(
                "DELETE FROM ui_auth_sessions WHERE creation_ts < ?", (before_ts,)
            )
            return [_session(row) for row in rows]

        return await self.db.run_interaction("pop_expired_ui_auth_sessions", pop_txn)

    async def insert_nonce(self, nonce: str, now_ms: int) -> None:
        """Remember an admin registration nonce."""
        await self.db.run_interaction(
            "insert_registration_nonce",
            lambda txn: txn.execute(
                "INSERT INTO registration_nonces (nonce, created_ts) VALUES (?, ?)",
                (nonce, now_ms),
            ),
        )

    async def consume_nonce(self, nonce: str, not_before_ts: int) -> bool:
        """Use a nonce once; False if unknown or older than ``not_before_ts``."""

        def consume_txn(txn: Transaction) -> bool:
            row = txn.query_one(
                "SELECT created_ts FROM registration_nonces WHERE nonce = ?", (nonce,)
            )
            txn.execute(
                "DELETE FROM registration_nonces WHERE nonce = ? OR created_ts < ?",
                (nonce, not_before_ts),
            )
            return row is not None and int(row.created_ts) >= not_before_ts

        return await self.db.run_interaction("consume_registration_nonce", consume_txn)
