"""Long admin jobs (room deletions, history purges, redactions of a user's
events) and their status, in ``admin_tasks`` (migration 0036)."""

from __future__ import annotations

import json
from typing import Any

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row

SCHEDULED = "scheduled"
ACTIVE = "active"
COMPLETE = "complete"
FAILED = "failed"


@attrs.frozen(kw_only=True)
class AdminTask:
    """One job: what it is about, how far it got, and what it did."""

    task_id: str
    kind: str
    target: str
    status: str
    error: str | None
    result: dict[str, Any]
    created_ts: int
    updated_ts: int


def _task(row: Row) -> AdminTask:
    return AdminTask(
        task_id=row.task_id,
        kind=row.kind,
        target=row.target,
        status=row.status,
        error=row.error,
        result=json.loads(row.result),
        created_ts=row.created_ts,
        updated_ts=row.updated_ts,
    )


_COLUMNS = "task_id, kind, target, status, error, result, created_ts, updated_ts"


class AdminTaskStore:
    """Reads and writes admin jobs."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_task(
        self, task_id: str, kind: str, target: str, result: dict[str, Any], now: int
    ) -> None:
        """Record a new job, scheduled."""
        await self.db.run_interaction(
            "insert_admin_task",
            lambda txn: txn.execute(
                f"INSERT INTO admin_tasks ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (task_id, kind, target, SCHEDULED, None, json.dumps(result), now, now),
            ),
        )

    async def update_task(
        self,
        task_id: str,
        status: str,
        result: dict[str, Any],
        now: int,
        error: str | None = None,
    ) -> None:
        """Set a job's status, result and error."""
        await self.db.run_interaction(
            "update_admin_task",
            lambda txn: txn.execute(
                "UPDATE admin_tasks SET status = ?, result = ?, error = ?,"
                " updated_ts = ? WHERE task_id = ?",
                (status, json.dumps(result), error, now, task_id),
            ),
        )

    async def get_task(self, kind: str, task_id: str) -> AdminTask | None:
        """One job of that kind by its ID."""
        row = await self.db.run_interaction(
            "get_admin_task",
            lambda txn: txn.query_one(
                f"SELECT {_COLUMNS} FROM admin_tasks WHERE task_id = ? AND kind = ?",
                (task_id, kind),
            ),
        )
        return _task(row) if row else None

    async def get_tasks_for(
        self, kind: str, target: str, since_ts: int
    ) -> list[AdminTask]:
        """The jobs of that kind about ``target`` that are unfinished or ended
        after ``since_ts``, oldest first."""
        rows = await self.db.run_interaction(
            "get_admin_tasks_for",
            lambda txn: txn.query(
                f"SELECT {_COLUMNS} FROM admin_tasks WHERE kind = ? AND target = ?"
                " AND (status IN (?, ?) OR updated_ts >= ?)"
                " ORDER BY created_ts, task_id",
                (kind, target, SCHEDULED, ACTIVE, since_ts),
            ),
        )
        return [_task(r) for r in rows]

    async def fail_unfinished(self, now: int) -> int:
        """Mark the jobs that were running when the server stopped as failed;
        how many there were."""

        def txn_fn(txn: Transaction) -> int:
            txn.execute(
                "UPDATE admin_tasks SET status = ?, error = ?, updated_ts = ?"
                " WHERE status IN (?, ?)",
                (FAILED, "The server restarted", now, SCHEDULED, ACTIVE),
            )
            return txn.rowcount

        return await self.db.run_interaction("fail_unfinished_admin_tasks", txn_fn)

    async def get_unfinished(self) -> list[AdminTask]:
        """Every scheduled or running job, oldest first."""
        rows = await self.db.run_interaction(
            "get_unfinished_admin_tasks",
            lambda txn: txn.query(
                f"SELECT {_COLUMNS} FROM admin_tasks WHERE status IN (?, ?)"
                " ORDER BY created_ts, task_id",
                (SCHEDULED, ACTIVE),
            ),
        )
        return [_task(r) for r in rows]
