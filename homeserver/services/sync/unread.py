"""Unread counts in /sync: ``unread_notifications`` and, when the timeline
filter sets ``unread_thread_notifications``, ``unread_thread_notifications``.

Spec: client-server API, "Receiving notifications" and "Threaded read
receipts". Counted are the push actions that notify the user (push rules
evaluated as each event arrived: ``services/push/evaluation.py``), and of
them the highlighting ones, after the user's read receipt (``m.read`` or
``m.read.private``), or after their join without one; not events of ignored
users, nor events the user hid. Each thread is read up to the newer of the
unthreaded receipt and its own, the main timeline up to the newer of the
unthreaded and the ``main`` receipt. With thread notifications asked for,
thread replies leave the main timeline's count and are counted per thread
root; without, the room's figures are the sum (as Synapse).
"""

from __future__ import annotations

from collections.abc import Collection

from homeserver.services.sync_data.receipts import RECEIPT_TYPES
from homeserver.storage.stores.push_actions import (
    Counts,
    PushActionsStore,
    positions_from_receipts,
)
from homeserver.storage.stores.receipts import UNTHREADED
from homeserver.storage.stores.sync import SyncBatchStore
from homeserver.storage.stores.thread_unread import ThreadUnreadStore
from homeserver.types import JsonDict


def _counts(counts: Counts) -> JsonDict:
    return {
        "notification_count": counts.notifications,
        "highlight_count": counts.highlights,
    }


class UnreadCounter:
    """Unread counts for the rooms of one /sync response."""

    def __init__(
        self,
        *,
        batch: SyncBatchStore,
        threads: ThreadUnreadStore,
        actions: PushActionsStore,
    ) -> None:
        self.batch = batch
        self.threads = threads
        self.actions = actions

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
        receipts = await self.threads.get_receipt_positions(
            user_id, room_ids, RECEIPT_TYPES
        )
        joined = await self.batch.get_join_positions(
            user_id, [r for r in room_ids if UNTHREADED not in receipts.get(r, {})]
        )
        positions = {
            r: positions_from_receipts(receipts.get(r, {}), joined.get(r, 0))
            for r in room_ids
        }
        counts = await self.actions.count_unread(
            user_id, positions, upto, not_senders=ignored, any_hidden=any_hidden
        )
        if not threaded:
            return {
                r: {"unread_notifications": _counts(c.total())}
                for r, c in counts.items()
            }
        return {
            r: {
                "unread_notifications": _counts(c.main),
                "unread_thread_notifications": {
                    thread: _counts(n) for thread, n in sorted(c.threads.items())
                },
            }
            for r, c in counts.items()
        }
