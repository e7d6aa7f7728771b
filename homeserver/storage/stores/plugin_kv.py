"""The per-plugin key-value store (table ``plugin_kv``, migration 0026).

Values are JSON, stored as text and written whole; keys are any text and list
in sorted order. A plugin only ever reaches its own rows: the facade passes its
name as ``plugin`` on every call.
"""

from __future__ import annotations

import json
from typing import Any

from homeserver.storage.database import Database, Transaction


class PluginKvStore:
    """Reads and writes ``plugin_kv``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_value(self, plugin: str, key: str) -> tuple[bool, Any]:
        """``(True, value)`` for a stored key, ``(False, None)`` for a missing
        one (so a stored JSON ``null`` is told apart from no value)."""
        row = await self.db.run_interaction(
            "plugin_kv_get",
            lambda txn: txn.query_one(
                "SELECT value FROM plugin_kv WHERE plugin = ? AND key = ?",
                (plugin, key),
            ),
        )
        if row is None:
            return False, None
        return True, json.loads(row.value)

    async def upsert_value(
        self, plugin: str, key: str, value: Any, now_ms: int
    ) -> None:
        """Store ``value`` (already checked to be JSON) under ``key``."""
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "INSERT INTO plugin_kv (plugin, key, value, updated_ts)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (plugin, key)"
                " DO UPDATE SET value = excluded.value,"
                " updated_ts = excluded.updated_ts",
                (plugin, key, text, now_ms),
            )

        await self.db.run_interaction("plugin_kv_set", txn_fn)

    async def delete_value(self, plugin: str, key: str) -> bool:
        """Delete ``key``; whether it existed."""

        def txn_fn(txn: Transaction) -> bool:
            txn.execute(
                "DELETE FROM plugin_kv WHERE plugin = ? AND key = ?", (plugin, key)
            )
            return txn.rowcount > 0

        return await self.db.run_interaction("plugin_kv_delete", txn_fn)

    async def list_values(
        self, plugin: str, prefix: str = "", limit: int | None = None
    ) -> list[tuple[str, Any]]:
        """``(key, value)`` pairs whose key starts with ``prefix``, by key."""
        sql = (
            "SELECT key, value FROM plugin_kv WHERE plugin = ?"
            # Not LIKE: SQLite's LIKE ignores ASCII case.
            " AND substr(key, 1, ?) = ? ORDER BY key"
        )
        args: list[Any] = [plugin, len(prefix), prefix]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = await self.db.run_interaction(
            "plugin_kv_list", lambda txn: txn.query(sql, args)
        )
        return [(row.key, json.loads(row.value)) for row in rows]
