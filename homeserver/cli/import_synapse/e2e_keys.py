"""Steps: end-to-end encryption keys — device keys, one-time and fallback
keys, cross-signing keys and their signatures, server-side key backups, and to-device messages not yet
delivered.

With them, clients that stay logged in keep their identity: other users'
devices see no key change, and their key backups stay readable. The JSON
is the same in both servers (what the clients uploaded).
"""

from __future__ import annotations

import json

from homeserver.cli.import_synapse.steps import (
    Context,
    Row,
    Step,
    copy_rows,
    insert_ignore_txn,
)
from homeserver.storage.database import Transaction
from homeserver.streams.registry import TO_DEVICE


def _copy(
    ctx: Context,
    step: str,
    query: str,
    table: str,
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    count_table: str,
) -> int:
    """Copy rows whose columns are the query's, in order."""

    def write(txn: Transaction, batch: list[Row]) -> None:
        insert_ignore_txn(
            txn, table, columns, [tuple(r.values()) for r in batch], conflict
        )

    return copy_rows(
        ctx, step, ctx.source.rows(query), write, ctx.source.count(count_table)
    )


def _device_keys(ctx: Context) -> int:
    return _copy(
        ctx,
        "device_keys",
        "SELECT user_id, device_id, key_json FROM e2e_device_keys_json"
        " ORDER BY user_id, device_id",
        "e2e_device_keys",
        ("user_id", "device_id", "key_json"),
        ("user_id", "device_id"),
        "e2e_device_keys_json",
    )


def _one_time_keys(ctx: Context) -> int:
    one_time = _copy(
        ctx,
        "one_time_keys",
        "SELECT user_id, device_id, algorithm, key_id, key_json"
        " FROM e2e_one_time_keys_json ORDER BY user_id, device_id, key_id",
        "e2e_one_time_keys",
        ("user_id", "device_id", "algorithm", "key_id", "key_json"),
        ("user_id", "device_id", "algorithm", "key_id"),
        "e2e_one_time_keys_json",
    )

    def write(txn: Transaction, batch: list[Row]) -> None:
        insert_ignore_txn(
            txn,
            "e2e_fallback_keys",
            ("user_id", "device_id", "algorithm", "key_id", "key_json", "used"),
            [
                (
                    r["user_id"],
                    r["device_id"],
                    r["algorithm"],
                    r["key_id"],
                    r["key_json"],
                    1 if r["used"] else 0,
                )
                for r in batch
            ],
            ("user_id", "device_id", "algorithm"),
        )

    rows = ctx.source.rows(
        "SELECT user_id, device_id, algorithm, key_id, key_json, used"
        " FROM e2e_fallback_keys_json ORDER BY user_id, device_id"
    )
    return one_time + copy_rows(
        ctx, "fallback_keys", rows, write, ctx.source.count("e2e_fallback_keys_json")
    )


def _cross_signing(ctx: Context) -> int:
    # Synapse keeps every key a user ever uploaded; the newest counts.
    latest = (
        "SELECT k.user_id, k.keytype, k.keydata FROM e2e_cross_signing_keys AS k"
        " WHERE k.stream_id = (SELECT MAX(n.stream_id) FROM e2e_cross_signing_keys"
        " AS n WHERE n.user_id = k.user_id AND n.keytype = k.keytype)"
        " ORDER BY k.user_id, k.keytype"
    )
    keys = _copy(
        ctx,
        "cross_signing_keys",
        latest,
        "e2e_cross_signing_keys",
        ("user_id", "key_type", "key_json"),
        ("user_id", "key_type"),
        "e2e_cross_signing_keys",
    )
    return keys + _copy(
        ctx,
        "cross_signing_signatures",
        "SELECT user_id, key_id, target_user_id, target_device_id, signature"
        " FROM e2e_cross_signing_signatures ORDER BY user_id, key_id",
        "e2e_signatures",
        ("user_id", "key_id", "target_user_id", "target_key_id", "signature"),
        ("user_id", "key_id", "target_user_id", "target_key_id"),
        "e2e_cross_signing_signatures",
    )


def _key_backups(ctx: Context) -> int:
    def versions(txn: Transaction, batch: list[Row]) -> None:
        insert_ignore_txn(
            txn,
            "key_backup_versions",
            ("user_id", "version", "algorithm", "auth_data", "etag", "deleted"),
            [
                (
                    r["user_id"],
                    r["version"],
                    r["algorithm"],
                    r["auth_data"],
                    r["etag"] or 0,
                    bool(r["deleted"]),
                )
                for r in batch
            ],
            ("user_id", "version"),
        )

    done = copy_rows(
        ctx,
        "key_backup_versions",
        ctx.source.rows(
            "SELECT user_id, version, algorithm, auth_data, etag, deleted"
            " FROM e2e_room_keys_versions ORDER BY user_id, version"
        ),
        versions,
        ctx.source.count("e2e_room_keys_versions"),
    )

    def sessions(txn: Transaction, batch: list[Row]) -> None:
        insert_ignore_txn(
            txn,
            "key_backup_sessions",
            (
                "user_id",
                "version",
                "room_id",
                "session_id",
                "first_message_index",
                "forwarded_count",
                "is_verified",
                "session_data",
            ),
            [
                (
                    r["user_id"],
                    r["version"],
                    r["room_id"],
                    r["session_id"],
                    r["first_message_index"] or 0,
                    r["forwarded_count"] or 0,
                    bool(r["is_verified"]),
                    r["session_data"],
                )
                for r in batch
            ],
            ("user_id", "version", "room_id", "session_id"),
        )

    return done + copy_rows(
        ctx,
        "key_backup_sessions",
        ctx.source.rows(
            "SELECT user_id, version, room_id, session_id, first_message_index,"
            " forwarded_count, is_verified, session_data FROM e2e_room_keys"
            " ORDER BY user_id, version, room_id, session_id"
        ),
        sessions,
        ctx.source.count("e2e_room_keys"),
    )


def _to_device(ctx: Context) -> int:
    """Messages still waiting for their device (room keys sent to a device
    that was offline): without them it could not read those messages."""
    ids = ctx.target.core.streams.ids(TO_DEVICE)

    def write(txn: Transaction, batch: list[Row]) -> None:
        rows = []
        for r in batch:
            message = json.loads(r["message_json"])
            kept = json.dumps(
                {k: message[k] for k in ("type", "sender", "content") if k in message}
            )
            key = (r["user_id"], r["device_id"], kept)
            if txn.query_one(
                "SELECT 1 AS one FROM device_inbox WHERE user_id = ? AND device_id = ?"
                " AND message_json = ?",
                key,
            ):
                continue  # imported by an interrupted run
            rows.append((ids.allocate_raw(), *key))
        txn.execute_many(
            "INSERT INTO device_inbox (stream_id, user_id, device_id, message_json)"
            " VALUES (?, ?, ?, ?)",
            rows,
        )

    rows = ctx.source.rows(
        "SELECT user_id, device_id, message_json FROM device_inbox ORDER BY stream_id"
    )
    return copy_rows(ctx, "to_device", rows, write, ctx.source.count("device_inbox"))


STEPS = [
    Step("device_keys", _device_keys),
    Step("one_time_keys", _one_time_keys),
    Step("cross_signing", _cross_signing),
    Step("key_backups", _key_backups),
    Step("to_device", _to_device),
]
