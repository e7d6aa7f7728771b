"""What a pusher worker reads to know whom to wake (docs/scaling.md).

In one process the pushers are woken by the ``push_actions_stored`` and
``receipt_stored`` signals of the process that stores them. A ``pusher``
worker stores neither: it follows the replicated positions of the events
and receipts streams and asks here which of the users it runs pushers for
got push actions, or sent receipts, in the positions it has not seen. Both
reads go through the per-user indexes (``event_push_actions_user``,
``receipts_user_room``) with the users' IDs as the list.
"""

from __future__ import annotations

from collections.abc import Collection

from homeserver.storage.database import Database, Transaction


class PushWakeStore:
    """The pusher worker's reads.

    Args:
        db: the database.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_users_with_actions(
        self, user_ids: Collection[str], since: int, upto: int
    ) -> set[str]:
        """Which of the users have push actions on events in (since, upto]."""

        def txn_fn(txn: Transaction) -> set[str]:
            return {
                row.user_id
                for row in txn.query_in(
                    "SELECT DISTINCT user_id FROM event_push_actions"
                    " WHERE user_id IN (?*)"
                    " AND stream_ordering > ? AND stream_ordering <= ?",
                    sorted(user_ids),
                    (since, upto),
                )
            }

        if not user_ids or upto <= since:
            return set()
        return await self.db.run_read("get_users_with_push_actions", txn_fn)

    async def get_receipt_rooms(
        self, user_ids: Collection[str], since: int, upto: int
    ) -> set[tuple[str, str]]:
        """(user ID, room ID) of each receipt of the users in stream
        positions (since, upto]."""

        def txn_fn(txn: Transaction) -> set[tuple[str, str]]:
            return {
                (row.user_id, row.room_id)
                for row in txn.query_in(
                    "SELECT user_id, room_id FROM receipts WHERE user_id IN (?*)"
                    " AND stream_id > ? AND stream_id <= ?",
                    sorted(user_ids),
                    (since, upto),
                )
            }

        if not user_ids or upto <= since:
            return set()
        return await self.db.run_read("get_receipt_rooms_of_users", txn_fn)
