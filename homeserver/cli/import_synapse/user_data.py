"""Steps: account data (global, per room, and room tags as ``m.tag``), read
receipts, room aliases and the published directory.

Stream positions are Chatly's own: each row gets the next position of its
stream, so a client's /sync after the move sees it as it saw it before.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from homeserver.cli.import_synapse.steps import (
    Context,
    Row,
    Step,
    copy_rows,
    insert_ignore_txn,
)
from homeserver.storage.database import Transaction
from homeserver.streams.registry import ACCOUNT_DATA, RECEIPTS


def _write_account_data(
    ctx: Context, step: str, rows: list[tuple[str, str, str, str]]
) -> int:
    ids = ctx.target.core.streams.ids(ACCOUNT_DATA)

    def write(txn: Transaction, batch: list[Row]) -> None:
        insert_ignore_txn(
            txn,
            "account_data",
            ("user_id", "room_id", "type", "content", "stream_id"),
            [
                (
                    r["user_id"],
                    r["room_id"],
                    r["type"],
                    r["content"],
                    ids.allocate_raw(),
                )
                for r in batch
            ],
            ("user_id", "room_id", "type"),
        )

    keyed = (
        {"user_id": u, "room_id": room, "type": t, "content": c}
        for u, room, t, c in rows
    )
    return copy_rows(ctx, step, keyed, write, len(rows))


def _account_data(ctx: Context) -> int:
    rows = [
        (r["user_id"], "", r["account_data_type"], r["content"])
        for r in ctx.source.rows(
            "SELECT user_id, account_data_type, content FROM account_data"
            " ORDER BY stream_id"
        )
    ]
    rows += [
        (r["user_id"], r["room_id"], r["account_data_type"], r["content"])
        for r in ctx.source.rows(
            "SELECT user_id, room_id, account_data_type, content"
            " FROM room_account_data ORDER BY stream_id"
        )
    ]
    tags: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
    for r in ctx.source.rows("SELECT user_id, room_id, tag, content FROM room_tags"):
        tags[(r["user_id"], r["room_id"])][r["tag"]] = json.loads(r["content"])
    rows += [
        (user_id, room_id, "m.tag", json.dumps({"tags": room_tags}))
        for (user_id, room_id), room_tags in sorted(tags.items())
    ]
    return _write_account_data(ctx, "account_data", rows)


def _receipts(ctx: Context) -> int:
    ids = ctx.target.core.streams.ids(RECEIPTS)

    def write(txn: Transaction, batch: list[Row]) -> None:
        found = {
            r.event_id: r.stream_ordering
            for r in txn.query_in(
                "SELECT event_id, stream_ordering FROM events WHERE event_id IN (?*)",
                [b["event_id"] for b in batch],
            )
        }
        insert_ignore_txn(
            txn,
            "receipts",
            (
                "room_id",
                "receipt_type",
                "user_id",
                "thread_id",
                "event_id",
                "event_stream_ordering",
                "ts",
                "stream_id",
            ),
            [
                (
                    r["room_id"],
                    r["receipt_type"],
                    r["user_id"],
                    r["thread_id"] or "",
                    r["event_id"],
                    found[r["event_id"]],
                    int(json.loads(r["data"] or "{}").get("ts") or 0),
                    ids.allocate_raw(),
                )
                for r in batch
                if r["event_id"] in found
            ],
            ("room_id", "receipt_type", "user_id", "thread_id"),
        )

    rows = ctx.source.rows(
        "SELECT room_id, receipt_type, user_id, thread_id, event_id, data"
        " FROM receipts_linearized ORDER BY stream_id"
    )
    return copy_rows(
        ctx, "receipts", rows, write, ctx.source.count("receipts_linearized")
    )


def _directory(ctx: Context) -> int:
    def write(txn: Transaction, batch: list[Row]) -> None:
        insert_ignore_txn(
            txn,
            "room_aliases",
            ("room_alias", "room_id", "creator", "created_ts"),
            [(r["room_alias"], r["room_id"], r["creator"] or "", 0) for r in batch],
            ("room_alias",),
        )

    aliases = copy_rows(
        ctx,
        "aliases",
        ctx.source.rows(
            "SELECT room_alias, room_id, creator FROM room_aliases ORDER BY room_alias"
        ),
        write,
        ctx.source.count("room_aliases"),
    )
    public = [
        r["room_id"]
        for r in ctx.source.rows(
            "SELECT room_id FROM rooms WHERE is_public = ?", (True,)
        )
    ]

    def publish_txn(txn: Transaction) -> None:
        txn.execute_many(
            "UPDATE rooms SET is_public = ? WHERE room_id = ?",
            [(True, room_id) for room_id in public],
        )

    ctx.target.run("import_directory", publish_txn)
    return aliases + len(public)


STEPS = [
    Step("account_data", _account_data),
    Step("receipts", _receipts),
    Step("directory", _directory),
]
