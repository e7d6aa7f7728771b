"""Accounts: the users table."""

from __future__ import annotations

from collections.abc import Collection

import attrs

from homeserver.events.ids import localpart_of
from homeserver.storage.database import Database, Transaction


@attrs.frozen
class UserInfo:
    """One account."""

    user_id: str
    password_hash: str | None
    created_ts: int
    admin: bool
    deactivated: bool
    user_type: str | None
    locked: bool = False


class UserAlreadyExists(Exception):
    """The user ID is taken."""


class UserStore:
    """Reads and writes accounts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_user(
        self,
        user_id: str,
        password_hash: str | None,
        created_ts: int,
        admin: bool = False,
        user_type: str | None = None,
        *,
        is_guest: bool = False,
    ) -> None:
        """Create an account and its empty profile in one transaction
        (``is_guest``: a guest account, which has no password).

        Raises:
            UserAlreadyExists: the ID is taken.
        """

        def insert_user_txn(txn: Transaction) -> None:
            if txn.query_one("SELECT 1 FROM users WHERE user_id = ?", (user_id,)):
                raise UserAlreadyExists(user_id)
            txn.execute(
                "INSERT INTO users"
                " (user_id, password_hash, created_ts, admin, user_type, is_guest)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, password_hash, created_ts, admin, user_type, is_guest),
            )
            txn.execute(
                "INSERT INTO profiles (user_id, displayname) VALUES (?, ?)",
                (user_id, localpart_of(user_id)),
            )

        try:
            await self.db.run_interaction("insert_user", insert_user_txn)
        except self.db.IntegrityError:
            raise UserAlreadyExists(user_id) from None

    async def get_user(self, user_id: str) -> UserInfo | None:
        """The account, or None."""
        row = await self.db.run_interaction(
            "get_user",
            lambda txn: txn.query_one(
                "SELECT user_id, password_hash, created_ts, admin, deactivated,"
                " user_type, locked FROM users WHERE user_id = ?",
                (user_id,),
            ),
        )
        if row is None:
            return None
        return UserInfo(
            row.user_id,
            row.password_hash,
            int(row.created_ts),
            bool(row.admin),
            bool(row.deactivated),
            row.user_type,
            bool(row.locked),
        )

    async def upgrade_guest(self, user_id: str, password_hash: str) -> bool:
        """Make a guest account a full one with this password; False if the
        account is not (or no longer) a guest."""

        def upgrade_txn(txn: Transaction) -> bool:
            txn.execute(
                "UPDATE users SET is_guest = ?, password_hash = ?"
                " WHERE user_id = ? AND is_guest = ?",
                (False, password_hash, user_id, True),
            )
            return bool(txn.rowcount)

        return await self.db.run_interaction("upgrade_guest", upgrade_txn)

    async def get_guests(self, user_ids: Collection[str]) -> set[str]:
        """Those of ``user_ids`` that are guest accounts."""
        rows = await self.db.run_interaction(
            "get_guests",
            lambda txn: txn.query_in(
                "SELECT user_id FROM users WHERE user_id IN (?*) AND is_guest = ?",
                list(user_ids),
                (True,),
            ),
        )
        return {str(r.user_id) for r in rows}

    async def get_erased(self, user_ids: Collection[str]) -> set[str]:
        """Those of ``user_ids`` that an admin deactivated with erase (or
        who asked for it when deactivating): their events are served
        redacted to users who were not in the room when they were sent."""
        rows = await self.db.run_read(
            "get_erased",
            lambda txn: txn.query_in(
                "SELECT user_id FROM users WHERE user_id IN (?*) AND erased = ?",
                list(user_ids),
                (True,),
            ),
        )
        return {str(r.user_id) for r in rows}

    async def update_password_hash(
        self, user_id: str, password_hash: str | None
    ) -> None:
        """Replace the stored password hash."""
        await self.db.run_interaction(
            "update_password_hash",
            lambda txn: txn.execute(
                "UPDATE users SET password_hash = ? WHERE user_id = ?",
                (password_hash, user_id),
            ),
        )

    async def set_admin(self, user_id: str, admin: bool) -> None:
        """Grant or revoke server admin."""
        await self.db.run_interaction(
            "set_admin",
            lambda txn: txn.execute(
                "UPDATE users SET admin = ? WHERE user_id = ?", (admin, user_id)
            ),
        )

    async def deactivate_user(self, user_id: str) -> None:
        """Mark the account deactivated and forget its password, devices, tokens,
        profile, end-to-end encryption keys and key backups."""

        def deactivate_txn(txn: Transaction) -> None:
            txn.execute(
                "UPDATE users SET deactivated = ?, password_hash = NULL WHERE user_id = ?",
                (True, user_id),
            )
            for table in (
                "access_tokens",
                "refresh_tokens",
                "devices",
                "login_tokens",
                "profile_fields",
                # Server-side key backups (as Synapse deletes them): nobody
                # can read them any more.
                "key_backup_sessions",
                "key_backup_versions",
                # Its devices' keys and its cross-signing identity go too.
                "device_inbox",
                "e2e_device_keys",
                "e2e_one_time_keys",
                "e2e_fallback_keys",
                "e2e_cross_signing_keys",
                "e2e_signatures",
                "dehydrated_devices",
            ):
                txn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
            txn.execute(
                "UPDATE profiles SET displayname = NULL, avatar_url = NULL WHERE user_id = ?",
                (user_id,),
            )

        await self.db.run_interaction("deactivate_user", deactivate_txn)

    async def count_users(self) -> int:
        """How many accounts exist."""
        row = await self.db.run_interaction(
            "count_users", lambda txn: txn.query_one("SELECT COUNT(*) AS n FROM users")
        )
        return int(row.n) if row else 0
