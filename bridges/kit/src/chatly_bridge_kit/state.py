"""The bridge's own SQLite file: transactions seen, and a small key-value store.

Bridges keep their state here, never in the homeserver's database. The file is
tiny and each statement is a single-row write on a local disk, so it runs on
the reactor thread (a thread pool would cost more than the write).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (txn_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""


class BridgeState:
    """One SQLite file; ``":memory:"`` for throwaway state."""

    def __init__(self, path: Path | str) -> None:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.executescript(_SCHEMA)

    def seen_transaction(self, txn_id: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM transactions WHERE txn_id = ?", (txn_id,)
        ).fetchone()
        return row is not None

    def mark_transaction(self, txn_id: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO transactions (txn_id) VALUES (?)", (txn_id,)
        )

    def get(self, namespace: str, key: str) -> Any:
        row = self._db.execute(
            "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, namespace: str, key: str, value: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO kv (namespace, key, value) VALUES (?, ?, ?)",
            (namespace, key, json.dumps(value)),
        )

    def delete(self, namespace: str, key: str) -> None:
        self._db.execute(
            "DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
        )

    def items(self, namespace: str) -> dict[str, Any]:
        rows = self._db.execute(
            "SELECT key, value FROM kv WHERE namespace = ?", (namespace,)
        ).fetchall()
        return {key: json.loads(value) for key, value in rows}

    def close(self) -> None:
        self._db.close()
