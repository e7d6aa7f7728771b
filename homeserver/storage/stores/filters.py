"""Stored sync filters."""

from __future__ import annotations

import json

from homeserver.storage.database import Database, Transaction
from homeserver.types import JsonDict


class FilterStore:
    """Reads and writes users' filters; a filter never changes once stored."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_filter(self, user_id: str, definition: JsonDict) -> int:
        """Store a filter; returns its ID (reusing an identical one)."""
        text = json.dumps(definition, sort_keys=True, separators=(",", ":"))

        def add_txn(txn: Transaction) -> int:
            same = txn.query_one(
                "SELECT filter_id FROM user_filters WHERE user_id = ? AND filter_json = ?",
                (user_id, text),
            )
            if same:
                return int(same.filter_id)
            row = txn.query_one(
                "SELECT MAX(filter_id) AS filter_id FROM user_filters WHERE user_id = ?",
                (user_id,),
            )
            filter_id = (
                int(row.filter_id) + 1 if row and row.filter_id is not None else 0
            )
            txn.execute(
                "INSERT INTO user_filters (user_id, filter_id, filter_json)"
                " VALUES (?, ?, ?)",
                (user_id, filter_id, text),
            )
            return filter_id

        return await self.db.run_interaction("add_filter", add_txn)

    async def get_filter(self, user_id: str, filter_id: int) -> JsonDict | None:
        """A stored filter definition, or None."""
        row = await self.db.run_interaction(
            "get_filter",
            lambda txn: txn.query_one(
                "SELECT filter_json FROM user_filters WHERE user_id = ? AND filter_id = ?",
                (user_id, filter_id),
            ),
        )
        return json.loads(row.filter_json) if row else None
