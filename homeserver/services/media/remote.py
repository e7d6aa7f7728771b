"""Other servers' media: fetched over federation once, then served from a cache.

Spec: client-server API "Content repository" (a download of
``mxc://<other server>/<id>`` is fetched from that server) and server-server
API "Content Repository". The fetch itself is the federation wing's
(``RemoteMediaFetcher``, plugged in at bind time); this service keeps the
cache: one fetch per file however many ask at once, the bytes written
through the ``MediaStorage`` seam before the row (so a failure leaves
nothing), quarantined entries never served, and each access noted for
retention.
"""

from __future__ import annotations

import logging

import attrs

from homeserver.config.sections.media import MediaConfig
from homeserver.errors import Codes, MatrixError, NotFound
from homeserver.services.media.ports import NoRemoteMedia, RemoteMediaFetcher
from homeserver.services.media.remote_paths import (
    check_server_name,
    remote_media_path,
    remote_thumbnail_path,
)
from homeserver.services.media.storage import MEDIA_ID_RE, MediaStorage
from homeserver.storage.stores.remote_media import RemoteMedia, RemoteMediaStore
from homeserver.util.clock import Clock
from homeserver.util.coalesce import Coalescer
from homeserver.util.ports import Port
from homeserver.util.tokens import random_string

logger = logging.getLogger(__name__)

ACCESS_WRITE_INTERVAL_MS = 60_000


@attrs.frozen
class CachedFile:
    """A remote file to serve: its cache entry and bytes."""

    media: RemoteMedia
    data: bytes


class RemoteMediaCache:
    """Downloads of other servers' media, through the local cache.

    Args:
        store: the cache entries.
        storage: where their bytes go.
        config: the ``media`` section (``max_upload_size`` bounds remote
            files too).
        clock: for timestamps.
    """

    def __init__(
        self,
        *,
        store: RemoteMediaStore,
        storage: MediaStorage,
        config: MediaConfig,
        clock: Clock,
    ) -> None:
        self.store = store
        self.storage = storage
        self.config = config
        self.clock = clock
        self.fetcher: Port[RemoteMediaFetcher] = Port(NoRemoteMedia())
        self._fetches: Coalescer[tuple[str, str], CachedFile] = Coalescer()

    async def download(
        self, server_name: str, media_id: str, *, legacy: bool = False
    ) -> CachedFile:
        """The file of ``mxc://server_name/media_id``, from the cache or
        fetched (and cached) now.

        Args:
            legacy: asked for on a legacy unauthenticated route: while
                ``enable_authenticated_media`` is on, only a file cached
                before it was turned on is served there, and nothing is
                fetched (as Synapse).

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a malformed server name or
                media ID; 404 M_NOT_FOUND for a quarantined file, one the
                remote does not have, or one frozen for legacy routes; 502
                when it cannot be fetched.
        """
        _check(server_name, media_id)
        cached = await self._cached(server_name, media_id, legacy)
        if cached is not None:
            return cached
        if legacy and self.config.enable_authenticated_media:
            raise NotFound("Media not found")
        return await self._fetches.run(
            (server_name, media_id), lambda: self._fetch(server_name, media_id)
        )

    async def _cached(
        self, server_name: str, media_id: str, legacy: bool = False
    ) -> CachedFile | None:
        media = await self.store.get_remote_media(server_name, media_id)
        if media is None:
            return None
        frozen = legacy and self.config.enable_authenticated_media
        if media.quarantined or (frozen and media.authenticated):
            raise NotFound("Media not found")
        data = await self.storage.fetch(
            remote_media_path(server_name, media.filesystem_id)
        )
        if data is None:
            # The file went (deleted by hand, or mid-purge): fetch it again.
            logger.warning(
                "remote media %s/%s has a record but no file", server_name, media_id
            )
            await self.store.delete_remote_media(server_name, media_id)
            return None
        now = self.clock.time_msec()
        # Retention needs minutes, not milliseconds: write at most once a
        # minute per file, so a popular file costs no write per download.
        if now - media.last_access_ts >= ACCESS_WRITE_INTERVAL_MS:
            await self.store.update_last_access(server_name, media_id, now)
        return CachedFile(media, data)

    async def _fetch(self, server_name: str, media_id: str) -> CachedFile:
        # Another waiter may have cached it between our look and this run.
        cached = await self._cached(server_name, media_id)
        if cached is not None:
            return cached
        fetched = await self.fetcher.get().fetch_media(
            server_name, media_id, max_bytes=int(self.config.max_upload_size)
        )
        now = self.clock.time_msec()
        media = RemoteMedia(
            server_name=server_name,
            media_id=media_id,
            media_type=fetched.media_type,
            upload_name=fetched.upload_name,
            media_length=len(fetched.data),
            created_ts=now,
            last_access_ts=now,
            filesystem_id=random_string(24),
            # As Synapse: fetched while the legacy routes are frozen.
            authenticated=self.config.enable_authenticated_media,
        )
        path = remote_media_path(server_name, media.filesystem_id)
        await self.storage.store(path, fetched.data)
        try:
            inserted = await self.store.insert_remote_media(media)
        except BaseException:
            await self._discard(path)
            raise
        if not inserted:  # another process cached it meanwhile: keep theirs
            await self._discard(path)
            existing = await self.store.get_remote_media(server_name, media_id)
            if existing is not None:
                media = existing
        logger.info(
            "cached remote media %s/%s (%d bytes)",
            server_name,
            media_id,
            len(fetched.data),
        )
        return CachedFile(media, fetched.data)

    async def delete_cached(self, server_name: str, media_id: str) -> bool:
        """Drop a file from the cache (for retention and the admin purge):
        its thumbnails' files, its file, then the rows. A later download
        fetches it again. False if it was not cached.

        Raises:
            Exception: a file could not be deleted (the rows are kept, so
                that a retry finds them).
        """
        media = await self.store.get_remote_media(server_name, media_id)
        if media is None:
            return False
        for thumb in await self.store.get_remote_thumbnails(server_name, media_id):
            await self.storage.delete(
                remote_thumbnail_path(
                    server_name,
                    thumb.filesystem_id,
                    thumb.width,
                    thumb.height,
                    thumb.media_type,
                    thumb.method,
                    thumb.animated,
                )
            )
        await self.storage.delete(remote_media_path(server_name, media.filesystem_id))
        await self.store.delete_remote_media(server_name, media_id)
        return True

    async def _discard(self, path: str) -> None:
        try:
            await self.storage.delete(path)
        except Exception:
            logger.exception("could not remove remote media file %s", path)


def _check(server_name: str, media_id: str) -> None:
    if not MEDIA_ID_RE.match(media_id):
        raise MatrixError(400, "Invalid media ID", Codes.INVALID_PARAM)
    try:
        check_server_name(server_name)
    except ValueError:
        raise MatrixError(400, "Invalid server name", Codes.INVALID_PARAM) from None
