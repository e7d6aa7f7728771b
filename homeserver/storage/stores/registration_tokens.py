"""Registration tokens that admins hand out (m.login.registration_token)."""

from __future__ import annotations

import attrs

from homeserver.storage.database import Database, Transaction

_COLUMNS = "token, uses_allowed, pending, completed, expiry_time"


@attrs.frozen
class RegistrationToken:
    """A registration token and its usage counts."""

    token: str
    uses_allowed: int | None
    pending: int
    completed: int
    expiry_time: int | None

    def is_valid(self, now_ms: int) -> bool:
        """Whether it can start one more registration now."""
        if self.expiry_time is not None and self.expiry_time < now_ms:
            return False
        if (
            self.uses_allowed is not None
            and self.pending + self.completed >= self.uses_allowed
        ):
            return False
        return True


class RegistrationTokenStore:
    """Reads and writes registration tokens."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_tokens(self) -> list[RegistrationToken]:
        """Every token, ordered by token."""
        rows = await self.db.run_interaction(
            "list_registration_tokens",
            lambda txn: txn.query(
                f"SELECT {_COLUMNS} FROM registration_tokens ORDER BY token"
            ),
        )
        return [RegistrationToken(**row._asdict()) for row in rows]

    async def get_token(self, token: str) -> RegistrationToken | None:
        """One token, or None."""
        row = await self.db.run_interaction(
            "get_registration_token",
            lambda txn: txn.query_one(
                f"SELECT {_COLUMNS} FROM registration_tokens WHERE token = ?", (token,)
            ),
        )
        return RegistrationToken(**row._asdict()) if row else None

    async def insert_token(
        self, token: str, uses_allowed: int | None, expiry_time: int | None
    ) -> bool:
        """Create a token; returns False if it already exists."""

        def insert_txn(txn: Transaction) -> bool:
            if txn.query_one(
                "SELECT 1 FROM registration_tokens WHERE token = ?", (token,)
            ):
                return False
            txn.execute(
                "INSERT INTO registration_tokens (token, uses_allowed, expiry_time)"
                " VALUES (?, ?, ?)",
                (token, uses_allowed, expiry_time),
            )
            return True

        return await self.db.run_interaction("insert_registration_token", insert_txn)

    async def update_token(
        self, token: str, changes: dict[str, int | None]
    ) -> RegistrationToken | None:
        """Change uses_allowed and/or expiry_time; returns the new token or None."""

        def update_txn(txn: Transaction) -> RegistrationToken | None:
            for column in ("uses_allowed", "expiry_time"):
                if column in changes:
                    txn.execute(
                        f"UPDATE registration_tokens SET {column} = ? WHERE token = ?",
                        (changes[column], token),
                    )
            row = txn.query_one(
                f"SELECT {_COLUMNS} FROM registration_tokens WHERE token = ?", (token,)
            )
            return RegistrationToken(**row._asdict()) if row else None

        return await self.db.run_interaction("update_registration_token", update_txn)

    async def delete_token(self, token: str) -> bool:
        """Delete a token; returns False if there was none."""

        def delete_txn(txn: Transaction) -> bool:
            txn.execute("DELETE FROM registration_tokens WHERE token = ?", (token,))
            return txn.rowcount > 0

        return await self.db.run_interaction("delete_registration_token", delete_txn)

    async def reserve(self, token: str, now_ms: int) -> bool:
        """Count one pending use if the token is still valid, atomically."""

        def reserve_txn(txn: Transaction) -> bool:
            row = txn.query_one(
                f"SELECT {_COLUMNS} FROM registration_tokens WHERE token = ?", (token,)
            )
            if row is None or not RegistrationToken(**row._asdict()).is_valid(now_ms):
                return False
            txn.execute(
                "UPDATE registration_tokens SET pending = pending + 1 WHERE token = ?",
                (token,),
            )
            return True

        return await self.db.run_interaction("reserve_registration_token", reserve_txn)

    async def release(self, token: str, completed: bool) -> None:
        """Turn a pending use into a completed one, or give it back."""
        extra = ", completed = completed + 1" if completed else ""
        await self.db.run_interaction(
            "release_registration_token",
            lambda txn: txn.execute(
                f"UPDATE registration_tokens SET pending = pending - 1{extra}"
                " WHERE token = ? AND pending > 0",
                (token,),
            ),
        )
