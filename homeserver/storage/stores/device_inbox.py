"""To-device messages waiting for their device, and sendToDevice transaction IDs.

Each message takes its own position on the to_device stream. The transaction
table makes a repeated sendToDevice a no-op and also keeps the stream from
moving backwards across a restart: its newest row records the highest position
ever handed out, and rows are only pruned while a newer one is written.
"""

from __future__ import annotations

import json
from contextlib import ExitStack

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.id_generators import StreamIdGenerator
from homeserver.types import JsonDict

# sendToDevice transaction IDs are remembered for this long.
TXN_RETENTION_MS = 24 * 60 * 60 * 1000


@attrs.frozen
class OutgoingMessage:
    """One to-device message for one device: ``{type, sender, content}``."""

    user_id: str
    device_id: str
    message: JsonDict


@attrs.frozen
class InboxMessage:
    """A stored message and its to_device stream position."""

    stream_id: int
    message: JsonDict


class DeviceInboxStore:
    """Reads and writes device inboxes; owns the to_device stream position.

    Args:
        db: the database.
        stream_ids: the to_device stream's ID generator.
    """

    def __init__(self, db: Database, stream_ids: StreamIdGenerator) -> None:
        self.db = db
        self.stream_ids = stream_ids

    async def add_messages(
        self,
        sender: str,
        sender_device_id: str,
        txn_id: str,
        messages: list[OutgoingMessage],
        now_ms: int,
    ) -> bool:
        """Queue messages, once per (sender, sender device, transaction ID).

        Returns:
            False if that transaction was already sent (nothing is queued).
        """
        txn_key = (sender, sender_device_id, txn_id)

        def add_txn(txn: Transaction, stream_ids: list[int]) -> bool:
            if txn.query_one(
                "SELECT 1 FROM device_inbox_txns"
                " WHERE sender = ? AND sender_device_id = ? AND txn_id = ?",
                txn_key,
            ):
                return False
            txn.execute(
                "DELETE FROM device_inbox_txns WHERE sender = ?"
                " AND sender_device_id = ? AND created_ts < ?",
                (sender, sender_device_id, now_ms - TXN_RETENTION_MS),
            )
            high = max(stream_ids, default=self.stream_ids.current_position())
            txn.execute(
                "INSERT INTO device_inbox_txns (sender, sender_device_id, txn_id,"
                " stream_id, created_ts) VALUES (?, ?, ?, ?, ?)",
                (*txn_key, high, now_ms),
            )
            txn.execute_many(
                "INSERT INTO device_inbox (stream_id, user_id, device_id, message_json)"
                " VALUES (?, ?, ?, ?)",
                [
                    (sid, m.user_id, m.device_id, json.dumps(m.message))
                    for sid, m in zip(stream_ids, messages, strict=True)
                ],
            )
            return True

        with ExitStack() as stack:
            ids = [stack.enter_context(self.stream_ids.allocate()) for _ in messages]
            try:
                return await self.db.run_interaction("add_to_device", add_txn, ids)
            except self.db.IntegrityError:
                # The same transaction, sent twice at once: the other one won.
                return False

    async def get_messages(
        self, user_id: str, device_id: str, since: int, upto: int, limit: int
    ) -> list[InboxMessage]:
        """Up to ``limit`` messages for a device in (since, upto], oldest first."""
        rows = await self.db.run_interaction(
            "get_to_device",
            lambda txn: txn.query(
                "SELECT stream_id, message_json FROM device_inbox"
                " WHERE user_id = ? AND device_id = ? AND stream_id > ?"
                " AND stream_id <= ? ORDER BY stream_id LIMIT ?",
                (user_id, device_id, since, upto, limit),
            ),
        )
        return [
            InboxMessage(int(r.stream_id), json.loads(r.message_json)) for r in rows
        ]

    async def delete_messages_up_to(
        self, user_id: str, device_id: str, position: int
    ) -> int:
        """Delete a device's messages at or below ``position``; returns how many."""

        def delete_txn(txn: Transaction) -> int:
            txn.execute(
                "DELETE FROM device_inbox"
                " WHERE user_id = ? AND device_id = ? AND stream_id <= ?",
                (user_id, device_id, position),
            )
            return txn.rowcount

        return await self.db.run_interaction("delete_to_device", delete_txn)
