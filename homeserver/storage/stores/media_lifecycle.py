"""Usage and retention of local media (schema 0024: ``local_media.last_access_ts``).

What the quotas count (bytes a user stores, bytes uploaded in a period), the
batched write of last-access times, and the rows the retention job removes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from homeserver.storage.database import Database, Transaction

# The media of a ``local_media AS m`` row is nobody's avatar: not a profile's
# and not named by a room's current m.room.avatar or m.room.member event (no
# column holds those URIs, so the event JSON is searched). Takes this server's
# ``mxc://server/`` prefix twice. The admin API's delete by age uses it;
# retention reads the avatars once per run instead (get_avatar_media_ids).
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
        self, before_ms: int, after: tuple[int, str] | None, limit: int
    ) -> list[tuple[int, str]]:
        """Up to ``limit`` uploaded local media last served (or, if never
        served, uploaded) before ``before_ms``, neither quarantined (kept as
        evidence) nor protected by an admin, as ``(last used, media ID)``, in
        that order, after ``after`` (the last pair of the previous page)."""
        used = "COALESCE(last_access_ts, created_ts)"
        sql = (
            f"SELECT {used} AS used_ts, media_id FROM local_media"
            f" WHERE {used} < ? AND media_length >= 0"
            " AND NOT quarantined AND NOT safe_from_quarantine"
        )
        args: list[object] = [before_ms]
        if after is not None:
            sql += f" AND ({used} > ? OR ({used} = ? AND media_id > ?))"
            args += [after[0], after[0], after[1]]
        sql += " ORDER BY used_ts, media_id LIMIT ?"
        args.append(limit)

        def txn_fn(txn: Transaction) -> list[tuple[int, str]]:
            return [(int(r.used_ts), r.media_id) for r in txn.query(sql, args)]

        return await self.db.run_interaction("get_unused_local_media", txn_fn)

    async def get_avatar_media_ids(self, server_name: str) -> set[str]:
        """The IDs of this server's media that is an avatar: a profile's, or
        named by a room's current ``m.room.avatar`` (``url``) or
        ``m.room.member`` (``avatar_url``) event. Read once per retention run
        (one pass over the current avatar events, not one per media)."""
        prefix = f"mxc://{server_name}/"

        def txn_fn(txn: Transaction) -> set[str]:
            uris = [
                r.avatar_url
                for r in txn.query(
                    "SELECT avatar_url FROM profiles WHERE avatar_url LIKE ?",
                    (prefix + "%",),
                )
            ]
            for row in txn.query(
                "SELECT e.json FROM current_state_events AS c"
                " JOIN events AS e ON e.event_id = c.event_id"
                " WHERE c.type IN ('m.room.avatar', 'm.room.member')"
                " AND e.json LIKE ?",
                ("%" + prefix + "%",),
            ):
                content = json.loads(row.json).get("content")
                if isinstance(content, dict):
                    uris += [content.get("url"), content.get("avatar_url")]
            return {
                uri[len(prefix) :]
                for uri in uris
                if isinstance(uri, str) and uri.startswith(prefix)
            }

        return await self.db.run_interaction("get_avatar_media_ids", txn_fn)

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
