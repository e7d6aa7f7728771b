"""Thumbnails of local media (schema 0021: ``local_media_thumbnails``)."""

from __future__ import annotations

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row


@attrs.frozen
class StoredThumbnail:
    """One stored thumbnail of a local media ID.

    Args:
        media_id: the original's media ID.
        width: the width of the box it was made for.
        height: the height of the box it was made for.
        method: ``scale`` or ``crop``.
        content_type: its Content-Type (``image/jpeg``, ``image/png``, ...).
        animated: made for an ``animated=true`` request.
        length: its size in bytes.
    """

    media_id: str
    width: int
    height: int
    method: str
    content_type: str
    animated: bool
    length: int


_COLUMNS = "media_id, width, height, method, type, animated, length"


def _thumbnail(row: Row) -> StoredThumbnail:
    return StoredThumbnail(
        media_id=row.media_id,
        width=int(row.width),
        height=int(row.height),
        method=row.method,
        content_type=row.type,
        animated=bool(row.animated),
        length=int(row.length),
    )


class ThumbnailStore:
    """Records and lists the thumbnails of local media."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_thumbnail(self, thumbnail: StoredThumbnail) -> None:
        """Record a stored thumbnail; recording the same one twice (two
        concurrent makers) is not an error: the row stays as it was."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                f"INSERT INTO local_media_thumbnails ({_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (media_id, width, height, method, type, animated)"
                " DO NOTHING",
                (
                    thumbnail.media_id,
                    thumbnail.width,
                    thumbnail.height,
                    thumbnail.method,
                    thumbnail.content_type,
                    thumbnail.animated,
                    thumbnail.length,
                ),
            )

        await self.db.run_interaction("insert_local_thumbnail", txn_fn)

    async def get_thumbnails(self, media_id: str) -> list[StoredThumbnail]:
        """Every stored thumbnail of ``media_id``."""

        def txn_fn(txn: Transaction) -> list[StoredThumbnail]:
            rows = txn.query(
                f"SELECT {_COLUMNS} FROM local_media_thumbnails WHERE media_id = ?"
                " ORDER BY width, height, method, type, animated",
                (media_id,),
            )
            return [_thumbnail(row) for row in rows]

        return await self.db.run_interaction("get_local_thumbnails", txn_fn)

    async def delete_thumbnails(self, media_id: str) -> None:
        """Forget every thumbnail of ``media_id``."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "DELETE FROM local_media_thumbnails WHERE media_id = ?", (media_id,)
            )

        await self.db.run_interaction("delete_local_thumbnails", txn_fn)
