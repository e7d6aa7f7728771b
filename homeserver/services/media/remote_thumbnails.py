"""Thumbnails of other servers' media, made here from the cached original.

Spec: client-server API "Content repository" -> "Thumbnails" for
``mxc://<other server>/<id>``. As Synapse does, the original is fetched (and
cached) over federation and the thumbnail is made locally, at the size the
local thumbnail service would choose, then kept at ``remote_thumbnail_path``
and in ``remote_media_cache_thumbnails``; concurrent requests for the same
missing thumbnail make it once. This is the ``RemoteThumbnailSource`` the
thumbnail service asks for another server's media.
"""

from __future__ import annotations

import logging

from homeserver.errors import Codes, MatrixError
from homeserver.services.media.ports import ServedThumbnail, ThumbnailRequest
from homeserver.services.media.remote import CachedFile, RemoteMediaCache
from homeserver.services.media.remote_paths import remote_thumbnail_path
from homeserver.services.media.storage import MediaStorage
from homeserver.services.media.thumbnail_sizes import ThumbnailSize
from homeserver.services.media.thumbnailer import (
    ImageTooLarge,
    Thumbnailer,
    ThumbnailError,
)
from homeserver.services.media.thumbnails import ThumbnailService, thumbnailable
from homeserver.storage.stores.remote_media import RemoteThumbnail
from homeserver.util.clock import Clock
from homeserver.util.coalesce import Coalescer

logger = logging.getLogger(__name__)

# (server, media ID, width, height, method, animated): one thumbnail to make.
_Key = tuple[str, str, int, int, str, bool]


class RemoteThumbnails:
    """Makes, keeps and serves thumbnails of cached remote media.

    Args:
        cache: the remote media cache (fetches the original if needed).
        thumbnails: the local thumbnail service (which size answers a request).
        thumbnailer: makes thumbnails off the reactor thread.
        storage: where thumbnail files go.
        clock: for timestamps.
    """

    def __init__(
        self,
        *,
        cache: RemoteMediaCache,
        thumbnails: ThumbnailService,
        thumbnailer: Thumbnailer,
        storage: MediaStorage,
        clock: Clock,
    ) -> None:
        self.cache = cache
        self.thumbnails = thumbnails
        self.thumbnailer = thumbnailer
        self.storage = storage
        self.clock = clock
        self._making: Coalescer[_Key, ServedThumbnail] = Coalescer()

    async def remote_thumbnail(
        self,
        server_name: str,
        media_id: str,
        request: ThumbnailRequest,
        *,
        legacy: bool = False,
    ) -> ServedThumbnail:
        """A thumbnail of ``mxc://server_name/media_id`` (``legacy``: on a
        legacy route, where the freeze applies as to downloads).

        Raises:
            MatrixError: as ``RemoteMediaCache.download`` (400, 404, 502);
                400 M_UNKNOWN for media that is not an image we thumbnail;
                413 M_TOO_LARGE for an image over the pixel limit.
        """
        original = await self.cache.download(server_name, media_id, legacy=legacy)
        media_type = original.media.media_type
        if not thumbnailable(media_type):
            raise MatrixError(
                400, f"Cannot thumbnail media of type {media_type}", Codes.UNKNOWN
            )
        box = self.thumbnails.size_for(request)
        key: _Key = (
            server_name,
            media_id,
            box.width,
            box.height,
            box.method,
            request.animated,
        )
        stored = await self._stored(key, original)
        if stored is not None:
            return stored
        return await self._making.run(key, lambda: self._make(key, box, original))

    async def _stored(self, key: _Key, original: CachedFile) -> ServedThumbnail | None:
        server_name, media_id, width, height, method, animated = key
        rows = await self.cache.store.get_remote_thumbnails(server_name, media_id)
        for row in rows:
            if (row.width, row.height, row.method, row.animated) != key[2:]:
                continue
            path = remote_thumbnail_path(
                server_name,
                original.media.filesystem_id,
                width,
                height,
                row.media_type,
                method,
                animated,
            )
            content = await self.storage.fetch(path)
            if content is not None:
                return ServedThumbnail(content, row.media_type)
            logger.warning("remote thumbnail %s has a record but no file", path)
        return None

    async def _make(
        self, key: _Key, box: ThumbnailSize, original: CachedFile
    ) -> ServedThumbnail:
        server_name, media_id, width, height, method, animated = key
        try:
            thumb = await self.thumbnailer.thumbnail(
                original.data, width, height, box.method, animated=animated
            )
        except ThumbnailError as e:
            logger.info("cannot thumbnail %s/%s: %s", server_name, media_id, e)
            if isinstance(e, ImageTooLarge):
                raise MatrixError(
                    413, "The image is too large to thumbnail", Codes.TOO_LARGE
                ) from None
            raise MatrixError(
                400, f"Cannot thumbnail this media: {e}", Codes.UNKNOWN
            ) from None
        row = RemoteThumbnail(
            width=width,
            height=height,
            method=method,
            media_type=thumb.content_type,
            animated=animated,
            media_length=len(thumb.content),
            filesystem_id=original.media.filesystem_id,
        )
        path = remote_thumbnail_path(
            server_name,
            row.filesystem_id,
            width,
            height,
            row.media_type,
            method,
            animated,
        )
        try:
            await self.storage.store(path, thumb.content)
            try:
                await self.cache.store.insert_remote_thumbnail(
                    server_name, media_id, row, self.clock.time_msec()
                )
            except BaseException:
                await self.storage.delete(path)
                raise
        except Exception:  # still answer with it; the next request tries again
            logger.exception(
                "could not store a thumbnail of %s/%s", server_name, media_id
            )
        return ServedThumbnail(thumb.content, thumb.content_type)
