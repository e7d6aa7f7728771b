"""Local media metadata (schema 0020: ``local_media``; 0024 adds
``authenticated`` and ``last_access_ts``, see stores/media_lifecycle.py)."""

from __future__ import annotations

import attrs

from homeserver.storage.database import Database, Transaction
from homeserver.storage.rows import Row


@attrs.frozen
class LocalMedia:
    """One local media ID.

    Args:
        media_id: the ID (the path part of ``mxc://server/ID``).
        user_id: who uploaded it, or created it (async upload).
        media_type: its Content-Type; None while pending.
        upload_name: the file name given at upload, if any.
        media_length: its size in bytes; None while the upload is pending,
            -1 while its one upload is being written (``claim_upload``).
        created_ts: when the ID was made (ms).
        unused_expires_ts: for a pending upload, when the ID expires (ms).
        quarantined: an admin quarantined it (not served).
        authenticated: made while ``media.enable_authenticated_media`` was on:
            the legacy unauthenticated routes do not serve it.
    """

    media_id: str
    user_id: str
    media_type: str | None
    upload_name: str | None
    media_length: int | None
    created_ts: int
    unused_expires_ts: int | None
    quarantined: bool
    authenticated: bool = False

    @property
    def pending(self) -> bool:
        """Created with /create but not uploaded yet (or being uploaded)."""
        return self.media_length is None or self.media_length < 0

    @property
    def claimed(self) -> bool:
        """Its upload has started (or finished): no other may start."""
        return self.media_length is not None


_COLUMNS = (
    "media_id, user_id, media_type, upload_name, media_length, created_ts,"
    " unused_expires_ts, quarantined, authenticated"
)


def _media(row: Row) -> LocalMedia:
    values = row._asdict()
    values["quarantined"] = bool(values["quarantined"])
    values["authenticated"] = bool(values["authenticated"])
    return LocalMedia(**values)


class MediaStore:
    """Records, completes and looks up local media."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_media(
        self,
        media_id: str,
        user_id: str,
        created_ts: int,
        *,
        media_type: str | None = None,
        upload_name: str | None = None,
        media_length: int | None = None,
        unused_expires_ts: int | None = None,
        authenticated: bool = False,
    ) -> None:
        """Record a new media ID (uploaded, or pending when ``media_length`` is None)."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                f"INSERT INTO local_media ({_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, FALSE, ?)",
                (
                    media_id,
                    user_id,
                    media_type,
                    upload_name,
                    media_length,
                    created_ts,
                    unused_expires_ts,
                    authenticated,
                ),
            )

        await self.db.run_interaction("insert_local_media", txn_fn)

    async def claim_upload(self, media_id: str, now_ms: int) -> bool:
        """Start the one upload of a pending, unexpired media ID; False if
        another upload started first (or it expired)."""

        def txn_fn(txn: Transaction) -> bool:
            txn.execute(
                "UPDATE local_media SET media_length = -1 WHERE media_id = ?"
                " AND media_length IS NULL AND unused_expires_ts > ?",
                (media_id, now_ms),
            )
            return txn.rowcount > 0

        return await self.db.run_interaction("claim_local_upload", txn_fn)

    async def release_claim(self, media_id: str) -> None:
        """An upload started by ``claim_upload`` failed: pending again."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "UPDATE local_media SET media_length = NULL"
                " WHERE media_id = ? AND media_length = -1",
                (media_id,),
            )

        await self.db.run_interaction("release_local_upload", txn_fn)

    async def release_all_claims(self) -> int:
        """Make every claimed upload pending again; how many were claimed.

        Run at start-up: an upload claimed by a process that then died would
        otherwise keep its media ID claimed (409 to every retry) for good. Only
        the process that serves uploads may call it, before it serves any.
        """

        def txn_fn(txn: Transaction) -> int:
            txn.execute(
                "UPDATE local_media SET media_length = NULL WHERE media_length = -1"
            )
            return max(txn.rowcount, 0)

        return await self.db.run_interaction("release_all_local_uploads", txn_fn)

    async def complete_upload(
        self,
        media_id: str,
        media_type: str,
        upload_name: str | None,
        media_length: int,
    ) -> None:
        """Fill in the record of a claimed upload whose file is stored."""

        def txn_fn(txn: Transaction) -> None:
            txn.execute(
                "UPDATE local_media SET media_type = ?, upload_name = ?,"
                " media_length = ?, unused_expires_ts = NULL"
                " WHERE media_id = ? AND media_length = -1",
                (media_type, upload_name, media_length, media_id),
            )

        await self.db.run_interaction("complete_local_upload", txn_fn)

    async def get_media(self, media_id: str) -> LocalMedia | None:
        """The media ID's record, or None."""

        def txn_fn(txn: Transaction) -> LocalMedia | None:
            row = txn.query_one(
                f"SELECT {_COLUMNS} FROM local_media WHERE media_id = ?", (media_id,)
            )
            return _media(row) if row is not None else None

        return await self.db.run_interaction("get_local_media", txn_fn)

    async def count_pending(self, user_id: str, now_ms: int) -> int:
        """How many unexpired pending uploads ``user_id`` has."""

        def txn_fn(txn: Transaction) -> int:
            row = txn.query_one(
                "SELECT COUNT(*) AS n FROM local_media WHERE user_id = ?"
                " AND media_length IS NULL AND unused_expires_ts > ?",
                (user_id, now_ms),
            )
            return int(row.n) if row is not None else 0

        return await self.db.run_interaction("count_pending_media", txn_fn)
