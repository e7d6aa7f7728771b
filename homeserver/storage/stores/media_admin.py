"""What the media admin API reads and changes (schema 0020 ``local_media``,
0025 quarantine columns, 0022 ``remote_media_cache``): quarantine, protection,
listing a user's media, the media IDs to delete by age and size, the cached
remote media to purge, and the event JSON of a room that names ``mxc://``
URIs."""

from __future__ import annotations

from collections.abc import Collection

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row
from homeserver.storage.stores.media_lifecycle import KEEP_AVATARS_SQL
from homeserver.storage.stores.remote_media import RemoteMedia


@attrs.frozen
class MediaRecord:
    """One local media ID, as an admin sees it.

    Args:
        media_id: the ID.
        user_id: who uploaded (or created) it.
        media_type: its Content-Type; None while pending.
        upload_name: its file name, if any.
        media_length: its size in bytes; None while pending.
        created_ts: when the ID was made (ms).
        last_access_ts: when it was last downloaded (ms), if known.
        quarantined_by: the admin who quarantined it, or None.
        quarantined: it is quarantined (not served).
        safe_from_quarantine: protected from quarantine.
        authenticated: uploaded while the legacy routes were frozen (served
            only by the authenticated ones).
    """

    media_id: str
    user_id: str
    media_type: str | None
    upload_name: str | None
    media_length: int | None
    created_ts: int
    last_access_ts: int | None
    quarantined_by: str | None
    quarantined: bool
    safe_from_quarantine: bool
    authenticated: bool


# When the file was last served (schema 0024; NULL if never since upload).
_LAST_ACCESS = "last_access_ts"
_COLUMNS = (
    "media_id, user_id, media_type, upload_name, media_length, created_ts,"
    f" {_LAST_ACCESS} AS last_access_ts, quarantined_by, quarantined,"
    " safe_from_quarantine, authenticated"
)
# order_by value -> the column (Synapse's MediaSortOrder).
ORDER_COLUMNS = {
    "media_id": "media_id",
    "upload_name": "upload_name",
    "created_ts": "created_ts",
    "last_access_ts": _LAST_ACCESS,
    "media_length": "media_length",
    "media_type": "media_type",
    "quarantined_by": "quarantined_by",
    "safe_from_quarantine": "safe_from_quarantine",
}


def _record(row: Row) -> MediaRecord:
    values = row._asdict()
    values["safe_from_quarantine"] = bool(values["safe_from_quarantine"])
    values["authenticated"] = bool(values["authenticated"])
    values["quarantined"] = bool(values["quarantined"])
    return MediaRecord(**values)


def _order(order_by: str, forwards: bool) -> str:
    """ORDER BY ``order_by`` (NULLs first going forwards on both engines),
    then ascending media ID so that pages are stable."""
    column = ORDER_COLUMNS[order_by]
    way = "ASC" if forwards else "DESC"
    nulls = f"CASE WHEN {column} IS NULL THEN 0 ELSE 1 END"
    if column == "media_id":
        return f"media_id {way}"
    return f"{nulls} {way}, {column} {way}, media_id ASC"


class MediaAdminStore:
    """Local media records for the admin API."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_record(self, media_id: str) -> MediaRecord | None:
        """The media ID's record, or None."""

        def txn_fn(txn: Transaction) -> MediaRecord | None:
            row = txn.query_one(
                f"SELECT {_COLUMNS} FROM local_media WHERE media_id = ?", (media_id,)
            )
            return _record(row) if row is not None else None

        return await self.db.run_interaction("get_media_record", txn_fn)

    async def quarantine(self, media_ids: Collection[str], by: str) -> int:
        """Quarantine those of ``media_ids`` not protected; how many."""

        def txn_fn(txn: Transaction) -> int:
            count = 0
            for media_id in media_ids:
                txn.execute(
                    "UPDATE local_media SET quarantined = TRUE, quarantined_by = ?"
                    " WHERE media_id = ? AND NOT safe_from_quarantine",
                    (by, media_id),
                )
                count += txn.rowcount
            return count

        return await self.db.run_interaction("quarantine_media", txn_fn)

    async def quarantine_user(self, user_id: str, by: str) -> int:
        """Quarantine every unprotected file ``user_id`` uploaded; how many."""

        def txn_fn(txn: Transaction) -> int:
            txn.execute(
                "UPDATE local_media SET quarantined = TRUE, quarantined_by = ?"
                " WHERE user_id = ? AND NOT safe_from_quarantine",
                (by, user_id),
            )
            return txn.rowcount

        return await self.db.run_interaction("quarantine_user_media", txn_fn)

    async def unquarantine(self, media_id: str) -> None:
        """Serve the media ID again."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "UPDATE local_media SET quarantined = FALSE, quarantined_by = NULL"
                " WHERE media_id = ?",
                (media_id,),
            )

        await self.db.run_interaction("unquarantine_media", txn_fn)

    async def set_protected(self, media_id: str, protected: bool) -> None:
        """Protect the media ID from quarantine, or stop protecting it."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "UPDATE local_media SET safe_from_quarantine = ? WHERE media_id = ?",
                (protected, media_id),
            )

        await self.db.run_interaction("protect_media", txn_fn)

    async def list_user_media(
        self, user_id: str, start: int, limit: int, order_by: str, forwards: bool
    ) -> tuple[list[MediaRecord], int]:
        """One page of ``user_id``'s media, and how many they have in all.

        Args:
            user_id: the uploader.
            start: how many to skip.
            limit: the most to return.
            order_by: a key of ``ORDER_COLUMNS``.
            forwards: ascending (else descending).
        """
        order = _order(order_by, forwards)

        def txn_fn(txn: Transaction) -> tuple[list[MediaRecord], int]:
            total = txn.query_one(
                "SELECT COUNT(*) AS n FROM local_media WHERE user_id = ?", (user_id,)
            )
            rows = txn.query(
                f"SELECT {_COLUMNS} FROM local_media WHERE user_id = ?"
                f" ORDER BY {order} LIMIT ? OFFSET ?",
                (user_id, limit, start),
            )
            return [_record(r) for r in rows], int(total.n) if total else 0

        return await self.db.run_interaction("list_user_media", txn_fn)

    async def old_media_ids(
        self, before_ts: int, size_gt: int, keep_profiles: str | None
    ) -> list[str]:
        """Local media last used (or made) before ``before_ts`` and larger
        than ``size_gt`` bytes, neither quarantined nor protected.

        Args:
            before_ts: the cut-off (ms).
            size_gt: only files larger than this many bytes.
            keep_profiles: this server's ``mxc://server/`` prefix to keep the
                media that a profile or a room names as its avatar; None to
                delete those too.
        """
        sql = (
            "SELECT media_id FROM local_media AS m"
            f" WHERE COALESCE({_LAST_ACCESS}, created_ts) < ? AND media_length > ?"
            " AND NOT quarantined AND NOT safe_from_quarantine"
        )
        args: list[object] = [before_ts, size_gt]
        if keep_profiles is not None:
            # Room avatars and per-room member avatars are kept by the current
            # state event whose JSON names the URI (no column holds it).
            sql += f" AND {KEEP_AVATARS_SQL}"
            args += [keep_profiles, keep_profiles]

        def txn_fn(txn: Transaction) -> list[str]:
            return [r.media_id for r in txn.query(sql + " ORDER BY media_id", args)]

        return await self.db.run_interaction("old_media_ids", txn_fn)

    async def delete_records(self, media_ids: Collection[str]) -> list[str]:
        """Delete the records of ``media_ids``; the IDs that had one."""

        def txn_fn(txn: Transaction) -> list[str]:
            deleted = []
            for media_id in media_ids:
                txn.execute("DELETE FROM local_media WHERE media_id = ?", (media_id,))
                if txn.rowcount:
                    deleted.append(media_id)
            return deleted

        return await self.db.run_interaction("delete_media_records", txn_fn)

    async def room_exists(self, room_id: str) -> bool:
        """Whether this server knows the room."""

        def txn_fn(txn: Transaction) -> bool:
            row = txn.query_one(
                "SELECT 1 AS x FROM rooms WHERE room_id = ?", (room_id,)
            )
            return row is not None

        return await self.db.run_interaction("media_room_exists", txn_fn)

    async def room_event_json_with_mxc(self, room_id: str) -> list[str]:
        """The JSON of the room's events that mention ``mxc://`` anywhere
        (the caller picks the URIs out of their content)."""

        def txn_fn(txn: Transaction) -> list[str]:
            rows = txn.query(
                "SELECT json FROM events WHERE room_id = ? AND NOT outlier"
                " AND json LIKE '%mxc://%' ORDER BY stream_ordering",
                (room_id,),
            )
            return [r.json for r in rows]

        return await self.db.run_interaction("room_event_json_with_mxc", txn_fn)

    # --- cached remote media (schema 0022 ``remote_media_cache``) ---------

    async def quarantine_remote(self, placeholder: RemoteMedia) -> None:
        """Quarantine ``mxc://server/id`` of another server: its cache entry,
        or, if it was never fetched, ``placeholder`` (a row with no file) so
        that it is never fetched while quarantined."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "UPDATE remote_media_cache SET quarantined = TRUE"
                " WHERE server_name = ? AND media_id = ?",
                (placeholder.server_name, placeholder.media_id),
            )
            if txn.rowcount:
                return
            txn.execute(
                "INSERT INTO remote_media_cache (server_name, media_id,"
                " media_length, created_ts, last_access_ts, filesystem_id,"
                " quarantined) VALUES (?, ?, 0, ?, ?, ?, TRUE)"
                " ON CONFLICT (server_name, media_id) DO NOTHING",
                (
                    placeholder.server_name,
                    placeholder.media_id,
                    placeholder.created_ts,
                    placeholder.last_access_ts,
                    placeholder.filesystem_id,
                ),
            )

        await self.db.run_interaction("quarantine_remote_media", txn_fn)

    async def unquarantine_remote(self, server_name: str, media_id: str) -> None:
        """Serve a remote file again (a placeholder's first download then
        finds no file, drops the row and fetches it)."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "UPDATE remote_media_cache SET quarantined = FALSE"
                " WHERE server_name = ? AND media_id = ?",
                (server_name, media_id),
            )

        await self.db.run_interaction("unquarantine_remote_media", txn_fn)

    async def remote_purgeable(
        self, before_ts: int, limit: int
    ) -> list[tuple[str, str]]:
        """``(server_name, media_id)`` of cached remote files last used before
        ``before_ts``, least recently first; never quarantined ones (their
        entry is what keeps them from being fetched and served again)."""

        def txn_fn(txn: Transaction) -> list[tuple[str, str]]:
            rows = txn.query(
                "SELECT server_name, media_id FROM remote_media_cache"
                " WHERE last_access_ts < ? AND NOT quarantined"
                " ORDER BY last_access_ts, server_name, media_id LIMIT ?",
                (before_ts, limit),
            )
            return [(r.server_name, r.media_id) for r in rows]

        return await self.db.run_interaction("remote_purgeable", txn_fn)
