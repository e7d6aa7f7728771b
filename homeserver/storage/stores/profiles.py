"""Profiles: display name, avatar and custom profile fields."""

from __future__ import annotations

import json
from typing import Any

from homeserver.storage.database import Database, Transaction
from homeserver.types import JsonDict

STANDARD_FIELDS = ("displayname", "avatar_url")


class ProfileStore:
    """Reads and writes profiles."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_profile(self, user_id: str) -> JsonDict | None:
        """Every profile field of a user, or None if the user has no profile."""

        def get_profile_txn(txn: Transaction) -> JsonDict | None:
            row = txn.query_one(
                "SELECT displayname, avatar_url FROM profiles WHERE user_id = ?",
                (user_id,),
            )
            if row is None:
                return None
            profile: JsonDict = {}
            for field in STANDARD_FIELDS:  # the columns are named after them
                value = getattr(row, field)
                if value is not None:
                    profile[field] = value
            for extra in txn.query(
                "SELECT field, value FROM profile_fields WHERE user_id = ?", (user_id,)
            ):
                profile[extra.field] = json.loads(extra.value)
            return profile

        return await self.db.run_interaction("get_profile", get_profile_txn)

    async def set_field(self, user_id: str, field: str, value: Any) -> None:
        """Set one field; ``None`` removes it."""

        def set_field_txn(txn: Transaction) -> None:
            if field in STANDARD_FIELDS:
                txn.execute(
                    f"UPDATE profiles SET {field} = ? WHERE user_id = ?",
                    (value, user_id),
                )
            elif value is None:
                txn.execute(
                    "DELETE FROM profile_fields WHERE user_id = ? AND field = ?",
                    (user_id, field),
                )
            else:
                txn.execute(
                    "INSERT INTO profile_fields (user_id, field, value) VALUES (?, ?, ?)"
                    " ON CONFLICT (user_id, field) DO UPDATE SET value = excluded.value",
                    (user_id, field, json.dumps(value)),
                )

        await self.db.run_interaction("set_profile_field", set_field_txn)
