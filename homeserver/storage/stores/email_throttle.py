"""The back-off of email pushers per room (table ``email_pusher_throttle``,
migration 0032)."""

from __future__ import annotations

import attrs

from homeserver.storage.database import Database, Transaction


@attrs.frozen(kw_only=True)
class RoomThrottle:
    """When a pusher last mailed about a room, and how long it then waits."""

    last_sent_ts: int
    throttle_ms: int


class EmailThrottleStore:
    """Reads and writes ``email_pusher_throttle``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_throttles(self, pusher_id: int) -> dict[str, RoomThrottle]:
        """Every room's throttle for ``pusher_id``."""
        rows = await self.db.run_interaction(
            "get_email_throttles",
            lambda txn: txn.query(
                "SELECT room_id, last_sent_ts, throttle_ms"
                " FROM email_pusher_throttle WHERE pusher_id = ?",
                (pusher_id,),
            ),
        )
        return {
            row.room_id: RoomThrottle(
                last_sent_ts=int(row.last_sent_ts), throttle_ms=int(row.throttle_ms)
            )
            for row in rows
        }

    async def upsert_throttle(
        self, pusher_id: int, room_id: str, throttle: RoomThrottle
    ) -> None:
        """Record a mail about ``room_id`` and the wait before the next one."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "INSERT INTO email_pusher_throttle"
                " (pusher_id, room_id, last_sent_ts, throttle_ms)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (pusher_id, room_id)"
                " DO UPDATE SET last_sent_ts = excluded.last_sent_ts,"
                " throttle_ms = excluded.throttle_ms",
                (pusher_id, room_id, throttle.last_sent_ts, throttle.throttle_ms),
            )

        await self.db.run_interaction("upsert_email_throttle", txn_fn)

    async def delete_throttles(self, pusher_id: int) -> None:
        """Forget a deleted pusher's throttles."""
        await self.db.run_interaction(
            "delete_email_throttles",
            lambda txn: txn.execute(
                "DELETE FROM email_pusher_throttle WHERE pusher_id = ?", (pusher_id,)
            ),
        )
