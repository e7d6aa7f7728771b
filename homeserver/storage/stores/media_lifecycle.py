"""Usage and retention of local media (schema 0024: ``local_media.last_access_ts``).

What the quotas count (bytes a user stores, bytes uploaded in a period), the
batched write of last-access times, and the rows the retention job removes.
"""

from __future__ import annotations

from collections.abc import Mapping

from homeserver.storage.database import Database, Transaction

# The media of a ``local_media AS m`` row is nobody's avatar: not a profile's
# and not named by a room's current m.room.avatar or m.room.member event (no
# column holds those URIs, so the event JSON is searched). Takes this server's
# ``mxc://server/`` prefix twice. Shared with the admin API's delete by age.
KEEP_AVATARS_SQL = (
    "NOT EXISTS (SELECT 1 FROM profiles"
    " WHERE profiles.avatar_url = ? || m.media_id)"
    " AND NOT EXISTS (SELECT 1 FROM current_state_events AS c"
    " JOIN events AS e ON e.event_id = c.event_id"
    " WHERE c.type IN ('m.room.avatar', 'm.room.member')"
    " AND e.json LIKE '%\"' || ? || m.media_id || '\"%')"
)


class MediaLifecycleStore:
    """Counts, touches and expires local media rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_stored_bytes(self, user_id: str) -> int:
        """Bytes of every uploaded local media of ``user_id`` (pending and
        being-written IDs count nothing)."""

        def txn_fn(txn: Transaction) -> int:
            row = txn.query_one(
                "SELECT COALESCE(SUM(media_length), 0) AS n FROM local_media"
                " WHERE user_id = ? AND media_length > 0",
                (user_id,),
            )
            return int(row.n) if row is not None else 0

        return await self.db.run_interaction("get_media_stored_bytes", txn_fn)

    async def get_uploaded_bytes_since(self, user_id: str, since_ms: int) -> int:
        """Bytes of the local media ``user_id`` made since ``since_ms`` (by
        ``created_ts``, as Synapse counts ``media_upload_limits``)."""

        def txn_fn(txn: Transaction) -> int:
            row = txn.query_one(
                "SELECT COALESCE(SUM(media_length), 0) AS n FROM local_media"
                " WHERE user_id = ? AND created_ts >= ? AND media_length > 0",
                (user_id, since_ms),
            )
            return int(row.n) if row is not None else 0

        return await self.db.run_interaction("get_media_uploaded_bytes", txn_fn)

    async def update_last_access(self, accessed: Mapping[str, int]) -> None:
        """Set ``last_access_ts`` of each media ID in ``accessed`` to its time
        (ms), in one transaction."""
        rows = [(accessed[media_id], media_id) for media_id in sorted(accessed)]
        if not rows:
            return

        def txn_fn(txn: Transaction) -> None:
            txn.execute_many(
                "UPDATE local_media SET last_access_ts = ? WHERE media_id = ?", rows
            )

        await self.db.run_interaction("update_media_last_access", txn_fn)

    async def get_unused_media(
        self, server_name: str, before_ms: int, limit: int
    ) -> list[str]:
        """Up to ``limit`` uploaded local media IDs last served (or, if never
        served, uploaded) before ``before_ms``: neither quarantined (kept as
        evidence) nor protected by an admin, and no user's or room's avatar
        (as Synapse's retention keeps them)."""

        prefix = f"mxc://{server_name}/"

        def txn_fn(txn: Transaction) -> list[str]:
            rows = txn.query(
                "SELECT media_id FROM local_media AS m"
                " WHERE COALESCE(m.last_access_ts, m.created_ts) < ?"
                " AND m.media_length >= 0"
                " AND NOT m.quarantined AND NOT m.safe_from_quarantine"
                f" AND {KEEP_AVATARS_SQL}"
                " ORDER BY COALESCE(m.last_access_ts, m.created_ts), m.media_id"
                " LIMIT ?",
                (before_ms, prefix, prefix, limit),
            )
            return [row.media_id for row in rows]

        return await self.db.run_interaction("get_unused_local_media", txn_fn)

    async def delete_if_unused(self, media_id: str, before_ms: int) -> bool:
        """Delete the row of ``media_id`` if it was still last used before
        ``before_ms`` (a download since the listing keeps it); True if deleted."""

        def txn_fn(txn: Transaction) -> bool:
            txn.execute(
                "DELETE FROM local_media WHERE media_id = ?"
                " AND COALESCE(last_access_ts, created_ts) < ?"
                " AND media_length >= 0 AND NOT quarantined"
                " AND NOT safe_from_quarantine",
                (media_id, before_ms),
            )
            return txn.rowcount > 0

        return await self.db.run_interaction("delete_unused_local_media", txn_fn)

    async def delete_expired_pending(self, now_ms: int, limit: int) -> int:
        """Delete up to ``limit`` rows of /create media IDs that expired
        without an upload (they have no file); how many went."""

        def txn_fn(txn: Transaction) -> int:
            rows = txn.query(
                "SELECT media_id FROM local_media WHERE media_length IS NULL"
                " AND unused_expires_ts <= ? LIMIT ?",
                (now_ms, limit),
            )
            txn.execute_many(
                "DELETE FROM local_media WHERE media_id = ?"
                " AND media_length IS NULL AND unused_expires_ts <= ?",
                [(row.media_id, now_ms) for row in rows],
            )
            return len(rows)

        return await self.db.run_interaction("delete_expired_pending_media", txn_fn)
