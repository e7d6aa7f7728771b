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

from collections.abc import Collection, Sequence

from homeserver.storage.stores.push_actions import Counts, RoomCounts
from homeserver.storage.stores.unread_counts import UnreadCountsStore, UnreadQuery
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.turn_batch import TurnBatcher


def _counts(counts: Counts) -> JsonDict:
    return {
        "notification_count": counts.notifications,
        "highlight_count": counts.highlights,
    }


class UnreadCounter:
    """Unread counts for the rooms of /sync responses.

    The syncs one event wakes all ask in the same reactor turn; their look-ups
    are answered together, in one transaction (``TurnBatcher``).

    Args:
        store: the counts of many users' rooms at once.
        clock: ends the reactor turn a batch gathers in.
    """

    def __init__(self, *, store: UnreadCountsStore, clock: Clock) -> None:
        self.store = store
        self._batch: TurnBatcher[UnreadQuery, dict[str, RoomCounts]] = TurnBatcher(
            "sync_unread_counts", clock, self.store.get_unread_counts
        )

    async def counts(
        self,
        user_id: str,
        room_ids: Sequence[str],
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
        query = UnreadQuery(
            user_id,
            tuple(sorted(set(room_ids))),
            upto,
            tuple(sorted(ignored)),
            any_hidden,
        )
        counts = await self._batch.get(query)
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
