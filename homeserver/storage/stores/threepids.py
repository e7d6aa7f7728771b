"""Users' third-party identifiers (table ``user_threepids``, migration 0032)."""

from __future__ import annotations

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row


@attrs.frozen(kw_only=True)
class ThreepidRecord:
    """One third-party ID of a user."""

    user_id: str
    medium: str
    address: str
    validated_at: int
    added_at: int


class ThreepidAlreadyInUse(Exception):
    """The address belongs to another user."""


def normalise_address(medium: str, address: str) -> str:
    """The stored form of an address: email addresses are lower-cased and
    trimmed (as Synapse's canonicalise_email)."""
    return address.strip().lower() if medium == "email" else address.strip()


class ThreepidStore:
    """Reads and writes ``user_threepids``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_threepids(self, user_id: str) -> list[ThreepidRecord]:
        """The user's third-party IDs, oldest first."""
        rows = await self.db.run_interaction(
            "get_threepids",
            lambda txn: txn.query(
                "SELECT user_id, medium, address, validated_at, added_at"
                " FROM user_threepids WHERE user_id = ? ORDER BY added_at, address",
                (user_id,),
            ),
        )
        return [_record(row) for row in rows]

    async def get_threepid(self, medium: str, address: str) -> ThreepidRecord | None:
        """Who holds ``address`` (any user), or None."""
        row = await self.db.run_interaction(
            "get_threepid",
            lambda txn: txn.query_one(
                "SELECT user_id, medium, address, validated_at, added_at"
                " FROM user_threepids WHERE medium = ? AND address = ?",
                (medium, normalise_address(medium, address)),
            ),
        )
        return None if row is None else _record(row)

    async def insert_threepid(
        self, user_id: str, medium: str, address: str, *, validated_at: int, now: int
    ) -> ThreepidRecord:
        """Add (or re-validate) ``address`` for ``user_id``.

        Raises:
            ThreepidAlreadyInUse: another user holds the address.
        """
        address = normalise_address(medium, address)

        def txn_fn(txn: Transaction) -> ThreepidRecord:
            row = txn.query_one(
                "SELECT user_id FROM user_threepids WHERE medium = ? AND address = ?",
                (medium, address),
            )
            if row is not None and row.user_id != user_id:
                raise ThreepidAlreadyInUse(address)
            if row is None:
                txn.execute(
                    "INSERT INTO user_threepids"
                    " (user_id, medium, address, validated_at, added_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (user_id, medium, address, validated_at, now),
                )
            else:
                txn.execute(
                    "UPDATE user_threepids SET validated_at = ?"
                    " WHERE medium = ? AND address = ?",
                    (validated_at, medium, address),
                )
            found = txn.query_one(
                "SELECT user_id, medium, address, validated_at, added_at"
                " FROM user_threepids WHERE medium = ? AND address = ?",
                (medium, address),
            )
            assert found is not None
            return _record(found)

        return await self.db.run_interaction("insert_threepid", txn_fn)

    async def delete_threepid(self, user_id: str, medium: str, address: str) -> bool:
        """Remove the user's ``address``; whether it was there."""

        def txn_fn(txn: Transaction) -> bool:
            txn.execute(
                "DELETE FROM user_threepids"
                " WHERE user_id = ? AND medium = ? AND address = ?",
                (user_id, medium, normalise_address(medium, address)),
            )
            return txn.rowcount > 0

        return await self.db.run_interaction("delete_threepid", txn_fn)


def _record(row: Row) -> ThreepidRecord:
    return ThreepidRecord(
        user_id=row.user_id,
        medium=row.medium,
        address=row.address,
        validated_at=int(row.validated_at),
        added_at=int(row.added_at),
    )
