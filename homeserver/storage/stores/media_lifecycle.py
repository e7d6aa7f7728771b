"""Usage and retention of local media (schema 0024: ``local_media.last_access_ts``).

What the quotas count (bytes a user stores, bytes uploaded in a period), the
batched write of last-access times, and the rows the retention job removes.
"""

from __future__ import annotations

from collections.abc import Mapping

from homeserver.storage.database import Database, Transaction


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
        served, uploaded) before ``before_ms``: not quarantined (an admin keeps
        those as evidence) and not anybody's profile avatar (as Synapse's
        retention keeps profile pictures)."""

        def txn_fn(txn: Transaction) -> list[str]:
            rows = txn.query(
                "SELECT media_id FROM local_media AS m"
                " WHERE COALESCE(m.last_access_ts, m.created_ts) < ?"
                " AND m.media_length >= 0 AND NOT m.quarantined"
                " AND NOT EXISTS (SELECT 1 FROM profiles AS p"
                "  WHERE p.avatar_url = ? || m.media_id)"
                " ORDER BY COALESCE(m.last_access_ts, m.created_ts), m.media_id"
                " LIMIT ?",
                (before_ms, f"mxc://{server_name}/", limit),
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
                " AND media_length >= 0 AND NOT quarantined",
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
