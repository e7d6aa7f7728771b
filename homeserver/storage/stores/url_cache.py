"""Cached URL previews (schema 0023: ``url_cache``)."""

from __future__ import annotations

import hashlib

import attrs

from homeserver.storage.database import Database, Transaction


@attrs.frozen
class CachedPreview:
    """One stored preview.

    Args:
        download_ts: when the URL was fetched (ms).
        expires_ts: until when it may be answered (ms).
        response_code: the HTTP status of the page.
        og: the preview, as JSON text.
        image_media_id: the local media ID of its image, if any.
    """

    download_ts: int
    expires_ts: int
    response_code: int
    og: str
    image_media_id: str | None


def _url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


_COLUMNS = "download_ts, expires_ts, response_code, og, image_media_id"


class UrlCacheStore:
    """Stores previews per URL and time, and forgets them once expired."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_url_cache(self, url: str, ts: int) -> CachedPreview | None:
        """The preview of ``url`` closest to ``ts``: the latest fetched at or
        before ``ts``, else the earliest fetched after it; None if there is none.
        """
        url_hash = _url_hash(url)

        def txn_fn(txn: Transaction) -> CachedPreview | None:
            row = txn.query_one(
                f"SELECT {_COLUMNS} FROM url_cache WHERE url_hash = ? AND url = ?"
                " AND download_ts <= ? ORDER BY download_ts DESC LIMIT 1",
                (url_hash, url, ts),
            )
            if row is None:
                row = txn.query_one(
                    f"SELECT {_COLUMNS} FROM url_cache WHERE url_hash = ?"
                    " AND url = ? AND download_ts > ? ORDER BY download_ts LIMIT 1",
                    (url_hash, url, ts),
                )
            return CachedPreview(*row) if row is not None else None

        return await self.db.run_interaction("get_url_cache", txn_fn)

    async def insert_url_cache(
        self, url: str, preview: CachedPreview, now_ms: int
    ) -> None:
        """Store a preview of ``url``, and drop every expired one (of any URL),
        so the table holds only previews that may still be answered."""
        url_hash = _url_hash(url)

        def txn_fn(txn: Transaction) -> None:
            txn.execute("DELETE FROM url_cache WHERE expires_ts <= ?", (now_ms,))
            txn.execute(
                f"INSERT INTO url_cache (url_hash, url, {_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    url_hash,
                    url,
                    preview.download_ts,
                    preview.expires_ts,
                    preview.response_code,
                    preview.og,
                    preview.image_media_id,
                ),
            )

        await self.db.run_interaction("insert_url_cache", txn_fn)
