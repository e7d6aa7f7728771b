"""Unread counts in /sync: ``unread_notifications`` and, when the timeline
filter sets ``unread_thread_notifications``, ``unread_thread_notifications``.

Spec: client-server API, "Receiving notifications" and "Threaded read
receipts". Counted are messages from others (``COUNTED_TYPES``) after the
user's read receipt, or after their join without one; not those of ignored
users, nor events the user hid. With thread notifications asked for, thread
replies leave the main timeline's count (read by unthreaded and ``main``
receipts) and are counted per thread root, each after the newer of the
unthreaded receipt and that thread's own. Without, every message counts in
the one room-wide figure (as Synapse).
"""

from __future__ import annotations

from collections.abc import Collection

from homeserver.services.sync.sources import ReceiptSource
from homeserver.services.sync_data.receipts import RECEIPT_TYPES
from homeserver.storage.stores.sync import SyncBatchStore
from homeserver.storage.stores.thread_unread import (
    ThreadUnreadStore,
    positions_from_receipts,
)
from homeserver.types import JsonDict


def _counts(notifications: int) -> JsonDict:
    # Push rules do not exist yet: nothing highlights.
    return {"notification_count": notifications, "highlight_count": 0}


class UnreadCounter:
    """Unread counts for the rooms of one /sync response."""

    def __init__(
        self,
        *,
        receipts: ReceiptSource,
        batch: SyncBatchStore,
        threads: ThreadUnreadStore,
    ) -> None:
        self.receipts = receipts
        self.batch = batch
        self.threads = threads

    async def counts(
        self,
        user_id: str,
        room_ids: list[str],
        upto: int,
        *,
        ignored: Collection[str],
        threaded: bool,
        any_hidden: bool = True,
    ) -> dict[str, JsonDict]:
        """room -> the room's ``unread_notifications`` (and, ``threaded``,
        ``unread_thread_notifications``) keys.

        Args:
            any_hidden: False when the user is known to have hidden no event
                (the hidden-events check is then left out of the counts).
        """
        if not room_ids:
            return {}
        if threaded:
            return await self._threaded(user_id, room_ids, upto, ignored, any_hidden)
        read_at = await self.receipts.get_user_read_positions(user_id, room_ids)
        unread_from = await self.batch.get_join_positions(
            user_id, [r for r in room_ids if r not in read_at]
        )
        unread_from.update(read_at)
        counts = await self.batch.count_unread(
            user_id,
            {r: unread_from.get(r, 0) for r in room_ids},
            upto,
            not_senders=ignored,
            any_hidden=any_hidden,
        )
        return {r: {"unread_notifications": _counts(n)} for r, n in counts.items()}

    async def _threaded(
        self,
        user_id: str,
        room_ids: list[str],
        upto: int,
        ignored: Collection[str],
        any_hidden: bool,
    ) -> dict[str, JsonDict]:
        receipts = await self.threads.get_receipt_positions(
            user_id, room_ids, RECEIPT_TYPES
        )
        joined = await self.batch.get_join_positions(user_id, room_ids)
        positions = {
            r: positions_from_receipts(receipts.get(r, {}), joined.get(r, 0))
            for r in room_ids
        }
        counts = await self.threads.count_unread(
            user_id, positions, upto, not_senders=ignored, any_hidden=any_hidden
        )
        return {
            r: {
                "unread_notifications": _counts(c.main),
                "unread_thread_notifications": {
                    thread: _counts(n) for thread, n in sorted(c.threads.items())
                },
            }
            for r, c in counts.items()
        }
