"""OpenID tokens: short-lived proofs of a user's identity for third parties."""

from __future__ import annotations

from homeserver.storage.database import Database, Transaction


class OpenIdStore:
    """Stores OpenID tokens by their SHA-256 hash (never the token itself)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_token(
        self, token_hash: str, user_id: str, valid_until_ts: int, now_ms: int
    ) -> None:
        """Store a new token, dropping the expired ones while at it."""

        def insert_txn(txn: Transaction) -> None:
            txn.execute("DELETE FROM openid_tokens WHERE valid_until_ts < ?", (now_ms,))
            txn.execute(
                "INSERT INTO openid_tokens (token_hash, user_id, valid_until_ts)"
                " VALUES (?, ?, ?)",
                (token_hash, user_id, valid_until_ts),
            )

        await self.db.run_interaction("insert_openid_token", insert_txn)

    async def get_user_for_token(self, token_hash: str, now_ms: int) -> str | None:
        """The user a token was minted for, if it is known and still valid."""
        row = await self.db.run_interaction(
            "get_openid_token",
            lambda txn: txn.query_one(
                "SELECT user_id FROM openid_tokens"
                " WHERE token_hash = ? AND valid_until_ts >= ?",
                (token_hash, now_ms),
            ),
        )
        return str(row.user_id) if row else None
