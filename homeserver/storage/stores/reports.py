"""Reports of events, rooms and users that users file for the admins
(schema 0015: ``event_reports``, ``room_reports``, ``user_reports``)."""

from __future__ import annotations

import json
from typing import Any

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row


@attrs.frozen
class Report:
    """One report.

    Args:
        id: its ID (per kind), as the admin API names it.
        received_ts: when it was filed (ms).
        user_id: who filed it.
        reason: why (event reports may have none).
        room_id: the room reported, or the event's room.
        event_id: the event reported (event reports).
        target_user_id: the user reported (user reports).
        content: the request body as given (event reports: reason and score).
    """

    id: int
    received_ts: int
    user_id: str
    reason: str | None
    room_id: str | None = None
    event_id: str | None = None
    target_user_id: str | None = None
    content: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class _Kind:
    table: str
    columns: tuple[str, ...]
    # Query parameter -> column matched by substring, as Synapse's admin API does.
    filters: tuple[str, ...]


KINDS = {
    "event": _Kind(
        "event_reports",
        ("room_id", "event_id", "user_id", "reason", "content"),
        ("user_id", "room_id"),
    ),
    "room": _Kind(
        "room_reports", ("room_id", "user_id", "reason"), ("user_id", "room_id")
    ),
    "user": _Kind(
        "user_reports",
        ("target_user_id", "user_id", "reason"),
        ("user_id", "target_user_id"),
    ),
}


def _report(row: Row) -> Report:
    values = row._asdict()
    content = values.pop("content", None)
    return Report(**values, content=json.loads(content) if content else {})


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ReportStore:
    """Files, lists and deletes reports."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_report(self, kind: str, received_ts: int, **values: Any) -> int:
        """File a report of ``kind`` (``event``, ``room``, ``user``); its ID."""
        spec = KINDS[kind]
        if "content" in values:
            values["content"] = json.dumps(values["content"])
        columns = ("received_ts", *spec.columns)
        args = [received_ts, *(values.get(c) for c in spec.columns)]
        placeholders = ", ".join("?" for _ in columns)
        sql = (
            f"INSERT INTO {spec.table} ({', '.join(columns)})"
            f" VALUES ({placeholders}) RETURNING id"
        )

        def txn_fn(txn: Transaction) -> int:
            row = txn.query_one(sql, args)
            assert row is not None
            return int(row.id)

        return await self.db.run_interaction(f"insert_{kind}_report", txn_fn)

    async def list_reports(
        self,
        kind: str,
        start: int,
        limit: int,
        newest_first: bool,
        filters: dict[str, str | None],
    ) -> tuple[list[Report], int]:
        """One page of reports (offset ``start``) and how many match in all.

        ``filters``: substrings of the kind's filter columns; for event
        reports also ``event_sender_user_id``, the reported event's sender.
        """
        spec = KINDS[kind]
        where: list[str] = []
        args: list[Any] = []
        for column in spec.filters:
            value = filters.get(column)
            if value:
                where.append(f"{column} LIKE ? ESCAPE '\\'")
                args.append(_like(value))
        sender = filters.get("event_sender_user_id")
        if kind == "event" and sender:
            where.append("event_id IN (SELECT event_id FROM events WHERE sender = ?)")
            args.append(sender)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        order = "DESC" if newest_first else "ASC"
        columns = ", ".join(("id", "received_ts", *spec.columns))

        def txn_fn(txn: Transaction) -> tuple[list[Report], int]:
            total = txn.query_one(
                f"SELECT COUNT(*) AS n FROM {spec.table}{clause}", args
            )
            rows = txn.query(
                f"SELECT {columns} FROM {spec.table}{clause}"
                f" ORDER BY received_ts {order}, id {order} LIMIT ? OFFSET ?",
                [*args, limit, start],
            )
            return [_report(r) for r in rows], int(total.n) if total else 0

        return await self.db.run_interaction(f"list_{kind}_reports", txn_fn)

    async def get_report(self, kind: str, report_id: int) -> Report | None:
        """One report, or None."""
        spec = KINDS[kind]
        columns = ", ".join(("id", "received_ts", *spec.columns))
        row = await self.db.run_interaction(
            f"get_{kind}_report",
            lambda txn: txn.query_one(
                f"SELECT {columns} FROM {spec.table} WHERE id = ?", (report_id,)
            ),
        )
        return _report(row) if row else None

    async def delete_report(self, kind: str, report_id: int) -> bool:
        """Delete one report; whether it existed."""
        table = KINDS[kind].table

        def txn_fn(txn: Transaction) -> bool:
            txn.execute(f"DELETE FROM {table} WHERE id = ?", (report_id,))
            return txn.rowcount > 0

        return await self.db.run_interaction(f"delete_{kind}_report", txn_fn)
