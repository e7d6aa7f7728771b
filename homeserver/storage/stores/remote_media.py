"""The cache of other servers' media (schema 0022: ``remote_media_cache`` and
``remote_media_cache_thumbnails``).

Besides what the content repository needs (look up, record, note an access),
the store offers what retention and the admin purge build on: list entries
by last access, and delete one entry with its thumbnails' rows. Deleting the
files is the caller's part (first the files, then the rows).
"""

from __future__ import annotations

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row


@attrs.frozen(kw_only=True)
class RemoteMedia:
    """One cached file of another server.

    Args:
        server_name: the server in its ``mxc://`` URI.
        media_id: the remote media ID.
        media_type: the Content-Type the remote gave.
        upload_name: the file name the remote gave, if any.
        media_length: size in bytes.
        created_ts: when it was fetched (ms).
        last_access_ts: when it was last downloaded here (ms).
        filesystem_id: our ID of its file (``remote_media_path``).
        authenticated: fetched for an authenticated (client v1) download.
        quarantined: an admin quarantined it (not served).
    """

    server_name: str
    media_id: str
    media_type: str | None
    upload_name: str | None
    media_length: int
    created_ts: int
    last_access_ts: int
    filesystem_id: str
    authenticated: bool = False
    quarantined: bool = False


@attrs.frozen(kw_only=True)
class RemoteThumbnail:
    """One thumbnail of a cached remote file (its key and file)."""

    width: int
    height: int
    method: str
    media_type: str
    animated: bool
    media_length: int
    filesystem_id: str


_COLUMNS = (
    "server_name, media_id, media_type, upload_name, media_length, created_ts,"
    " last_access_ts, filesystem_id, authenticated, quarantined"
)
_THUMB_COLUMNS = (
    "width, height, method, media_type, animated, media_length, filesystem_id"
)


def _media(row: Row) -> RemoteMedia:
    values = row._asdict()
    values["authenticated"] = bool(values["authenticated"])
    values["quarantined"] = bool(values["quarantined"])
    return RemoteMedia(**values)


def _thumbnail(row: Row) -> RemoteThumbnail:
    values = row._asdict()
    values["animated"] = bool(values["animated"])
    return RemoteThumbnail(**values)


class RemoteMediaStore:
    """Records and looks up cached remote media and their thumbnails."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_remote_media(
        self, server_name: str, media_id: str
    ) -> RemoteMedia | None:
        """The cache entry of ``mxc://server_name/media_id``, or None."""

        def txn_fn(txn: Transaction) -> RemoteMedia | None:
            row = txn.query_one(
                f"SELECT {_COLUMNS} FROM remote_media_cache"
                " WHERE server_name = ? AND media_id = ?",
                (server_name, media_id),
            )
            return _media(row) if row is not None else None

        return await self.db.run_interaction("get_remote_media", txn_fn)

    async def insert_remote_media(self, media: RemoteMedia) -> bool:
        """Record a fetched file (its bytes already stored); False if an entry
        for it exists already (another process fetched it meanwhile)."""

        def txn_fn(txn: Transaction) -> bool:
            txn.execute(
                f"INSERT INTO remote_media_cache ({_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (server_name, media_id) DO NOTHING",
                (
                    media.server_name,
                    media.media_id,
                    media.media_type,
                    media.upload_name,
                    media.media_length,
                    media.created_ts,
                    media.last_access_ts,
                    media.filesystem_id,
                    media.authenticated,
                    media.quarantined,
                ),
            )
            return txn.rowcount > 0

        return await self.db.run_interaction("insert_remote_media", txn_fn)

    async def update_last_access(
        self, server_name: str, media_id: str, now_ms: int
    ) -> None:
        """Note a download of a cached file (retention keeps what is used)."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "UPDATE remote_media_cache SET last_access_ts = ?"
                " WHERE server_name = ? AND media_id = ? AND last_access_ts < ?",
                (now_ms, server_name, media_id, now_ms),
            )

        await self.db.run_interaction("touch_remote_media", txn_fn)

    async def get_remote_media_before(
        self, last_access_before_ms: int, limit: int = 1000
    ) -> list[RemoteMedia]:
        """Cache entries last accessed before ``last_access_before_ms``,
        least recently accessed first (for retention and purge_media_cache)."""

        def txn_fn(txn: Transaction) -> list[RemoteMedia]:
            rows = txn.query(
                f"SELECT {_COLUMNS} FROM remote_media_cache WHERE last_access_ts < ?"
                " ORDER BY last_access_ts, server_name, media_id LIMIT ?",
                (last_access_before_ms, limit),
            )
            return [_media(row) for row in rows]

        return await self.db.run_interaction("get_remote_media_before", txn_fn)

    async def delete_remote_media(self, server_name: str, media_id: str) -> None:
        """Forget a cache entry and its thumbnails (delete their files first)."""

        def txn_fn(txn: Transaction) -> None:
            for table in ("remote_media_cache_thumbnails", "remote_media_cache"):
                txn.execute(
                    f"DELETE FROM {table} WHERE server_name = ? AND media_id = ?",
                    (server_name, media_id),
                )

        await self.db.run_interaction("delete_remote_media", txn_fn)

    async def get_remote_thumbnails(
        self, server_name: str, media_id: str
    ) -> list[RemoteThumbnail]:
        """Every stored thumbnail of a cached file."""

        def txn_fn(txn: Transaction) -> list[RemoteThumbnail]:
            rows = txn.query(
                f"SELECT {_THUMB_COLUMNS} FROM remote_media_cache_thumbnails"
                " WHERE server_name = ? AND media_id = ?"
                " ORDER BY width, height, method, media_type",
                (server_name, media_id),
            )
            return [_thumbnail(row) for row in rows]

        return await self.db.run_interaction("get_remote_thumbnails", txn_fn)

    async def insert_remote_thumbnail(
        self, server_name: str, media_id: str, thumb: RemoteThumbnail, now_ms: int
    ) -> bool:
        """Record a stored thumbnail; False if it was recorded already."""

        def txn_fn(txn: Transaction) -> bool:
            txn.execute(
                "INSERT INTO remote_media_cache_thumbnails"
                f" (server_name, media_id, {_THUMB_COLUMNS}, created_ts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    server_name,
                    media_id,
                    thumb.width,
                    thumb.height,
                    thumb.method,
                    thumb.media_type,
                    thumb.animated,
                    thumb.media_length,
                    thumb.filesystem_id,
                    now_ms,
                ),
            )
            return txn.rowcount > 0

        return await self.db.run_interaction("insert_remote_thumbnail", txn_fn)
