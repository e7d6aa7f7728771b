"""Thumbnails of media: made on upload, made on demand, stored, served.

Spec: client-server API "Content repository" -> "Thumbnails"
(``GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}``). Every
configured size is made right after an image is uploaded. A request is
answered with the closest configured size (Synapse's choice), made then if it
is missing; with ``dynamic_thumbnails`` on, with exactly the size asked for.
Made thumbnails are stored through ``MediaStorage`` at ``thumbnail_path`` and
recorded in ``local_media_thumbnails``; concurrent requests for the same
missing thumbnail make it once. Another server's media goes to the
``remote`` port (remote media over federation plugs in there).
"""

from __future__ import annotations

import logging

from homeserver.config.sections.media import MediaConfig
from homeserver.errors import Codes, MatrixError
from homeserver.events.ids import is_valid_server_name
from homeserver.services.media.ports import (
    NoRemoteThumbnails,
    RemoteThumbnailSource,
    ServedThumbnail,
    ThumbnailRequest,
)
from homeserver.services.media.repository import MediaRepository
from homeserver.services.media.storage import (
    MEDIA_ID_RE,
    MediaStorage,
    thumbnail_path,
)
from homeserver.services.media.thumbnail_sizes import (
    ThumbnailMethod,
    ThumbnailSize,
    select_thumbnail,
)
from homeserver.services.media.thumbnailer import (
    THUMBNAILABLE_TYPES,
    ImageTooLarge,
    Thumbnail,
    Thumbnailer,
    ThumbnailError,
)
from homeserver.storage.stores.media_thumbnails import StoredThumbnail, ThumbnailStore
from homeserver.util.coalesce import Coalescer
from homeserver.util.ports import Port

logger = logging.getLogger(__name__)

# (media ID, width, height, method, animated): one thumbnail to make.
_Key = tuple[str, int, int, ThumbnailMethod, bool]


def thumbnailable(media_type: str | None) -> bool:
    """Whether media uploaded as ``media_type`` gets thumbnails (JPEG, PNG,
    GIF and WebP, as Synapse's list; parameters and case ignored)."""
    if not media_type:
        return False
    return media_type.split(";", 1)[0].strip().lower() in THUMBNAILABLE_TYPES


def _refusal(error: ThumbnailError) -> MatrixError:
    if isinstance(error, ImageTooLarge):
        return MatrixError(413, "The image is too large to thumbnail", Codes.TOO_LARGE)
    return MatrixError(400, f"Cannot thumbnail this media: {error}", Codes.UNKNOWN)


class ThumbnailService:
    """Makes, stores and serves thumbnails of this server's media.

    Args:
        repository: this server's media (records and files).
        store: the thumbnail records.
        storage: where thumbnail files go (the media storage back end).
        thumbnailer: makes thumbnails off the reactor thread.
        config: the ``media`` config section.
    """

    def __init__(
        self,
        *,
        repository: MediaRepository,
        store: ThumbnailStore,
        storage: MediaStorage,
        thumbnailer: Thumbnailer,
        config: MediaConfig,
    ) -> None:
        self.repository = repository
        self.store = store
        self.storage = storage
        self.thumbnailer = thumbnailer
        self.dynamic = config.dynamic_thumbnails
        self.sizes = tuple(
            ThumbnailSize(s.width, s.height, s.method) for s in config.thumbnail_sizes
        )
        # Another server's media: remote media plugs in here.
        self.remote: Port[RemoteThumbnailSource] = Port(NoRemoteThumbnails())
        self._making: Coalescer[_Key, ServedThumbnail] = Coalescer()

    async def thumbnail(
        self,
        server_name: str,
        media_id: str,
        request: ThumbnailRequest,
        *,
        legacy: bool = False,
    ) -> ServedThumbnail:
        """A thumbnail of ``mxc://server_name/media_id``.

        Args:
            legacy: asked for on a legacy unauthenticated route (media made
                while ``enable_authenticated_media`` is on is 404 there).

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a malformed media ID or
                server name; as :meth:`local_thumbnail`; for another server's
                media, what the ``remote`` port raises (404 M_NOT_FOUND
                while remote media is off).
        """
        if not MEDIA_ID_RE.match(media_id):
            raise MatrixError(400, "Invalid media ID", Codes.INVALID_PARAM)
        if not is_valid_server_name(server_name):
            raise MatrixError(400, "Invalid server name", Codes.INVALID_PARAM)
        if server_name != self.repository.server_name:
            return await self.remote.get().remote_thumbnail(
                server_name, media_id, request, legacy=legacy
            )
        return await self.local_thumbnail(media_id, request, legacy=legacy)

    async def local_thumbnail(
        self, media_id: str, request: ThumbnailRequest, *, legacy: bool = False
    ) -> ServedThumbnail:
        """A thumbnail of one of this server's media IDs (also what the
        federation thumbnail endpoint serves): a stored one, or one made now.

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a malformed media ID; 404
                M_NOT_FOUND for an unknown or quarantined one; 504
                M_NOT_YET_UPLOADED for a pending one; 400 M_UNKNOWN for media
                that is not an image we can thumbnail (or is broken); 413
                M_TOO_LARGE for an image over ``max_image_pixels``.
        """
        media = await self.repository.local_media(media_id, legacy=legacy)
        if not thumbnailable(media.media_type):
            raise MatrixError(
                400,
                f"Cannot thumbnail media of type {media.media_type}",
                Codes.UNKNOWN,
            )
        box = self._box(request)
        key: _Key = (media_id, box.width, box.height, box.method, request.animated)
        stored = await self._stored(key)
        if stored is not None:
            return stored
        return await self._making.run(key, lambda: self._make(key))

    def size_for(self, request: ThumbnailRequest) -> ThumbnailSize:
        """The size that answers ``request`` (remote media's thumbnails are
        chosen the same way: services/media/remote_thumbnails.py)."""
        return self._box(request)

    def _box(self, request: ThumbnailRequest) -> ThumbnailSize:
        """The size to answer ``request`` with: itself when thumbnails are
        dynamic, else the closest configured size (of the same method if
        there is one)."""
        asked = ThumbnailSize(request.width, request.height, request.method)
        if self.dynamic:
            return asked
        other: ThumbnailMethod = "scale" if request.method == "crop" else "crop"
        for method in (request.method, other):
            chosen = select_thumbnail(self.sizes, asked.width, asked.height, method)
            if chosen is not None:
                return chosen
        raise MatrixError(
            400, "No thumbnail sizes are configured on this server", Codes.UNKNOWN
        )

    async def _stored(self, key: _Key) -> ServedThumbnail | None:
        media_id, width, height, method, animated = key
        for row in await self.store.get_thumbnails(media_id):
            if (row.width, row.height, row.method, row.animated) != key[1:]:
                continue
            path = thumbnail_path(
                media_id, width, height, row.content_type, method, animated
            )
            content = await self.storage.fetch(path)
            if content is not None:
                return ServedThumbnail(content, row.content_type)
            logger.warning("thumbnail %s has a record but no file", path)
        return None

    async def _make(self, key: _Key) -> ServedThumbnail:
        media_id, width, height, method, animated = key
        original = await self.repository.download(self.repository.server_name, media_id)
        try:
            thumb = await self.thumbnailer.thumbnail(
                original.data, width, height, method, animated=animated
            )
        except ThumbnailError as e:
            logger.info("cannot thumbnail %s: %s", media_id, e)
            raise _refusal(e) from None
        try:
            await self._save(
                media_id, ThumbnailSize(width, height, method), thumb, animated
            )
        except Exception:  # still answer with it; the next request tries again
            logger.exception("could not store a thumbnail of %s", media_id)
        return ServedThumbnail(thumb.content, thumb.content_type)

    async def _save(
        self, media_id: str, box: ThumbnailSize, thumb: Thumbnail, animated: bool
    ) -> None:
        """Store a made thumbnail's file, then its record (the file is removed
        again if the record cannot be written)."""
        path = thumbnail_path(
            media_id, box.width, box.height, thumb.content_type, box.method, animated
        )
        await self.storage.store(path, thumb.content)
        try:
            await self.store.insert_thumbnail(
                StoredThumbnail(
                    media_id=media_id,
                    width=box.width,
                    height=box.height,
                    method=box.method,
                    content_type=thumb.content_type,
                    animated=animated,
                    length=thumb.length,
                )
            )
        except BaseException:
            await self.storage.delete(path)
            raise

    async def delete_thumbnails(self, media_id: str) -> None:
        """Remove every stored thumbnail of ``media_id``: files, then rows (a
        row left by a failed file removal only costs a remake)."""
        for row in await self.store.get_thumbnails(media_id):
            await self.storage.delete(
                thumbnail_path(
                    media_id,
                    row.width,
                    row.height,
                    row.content_type,
                    row.method,
                    row.animated,
                )
            )
        await self.store.delete_thumbnails(media_id)

    async def on_uploaded(self, media_id: str, media_type: str, data: bytes) -> None:
        """Make and store every configured size of a new upload that is an
        image. A failure is logged, never raised: the upload stands."""
        if not thumbnailable(media_type) or not self.sizes:
            return
        try:
            thumbs = await self.thumbnailer.thumbnails(data, self.sizes)
        except ThumbnailError as e:
            logger.info("no thumbnails for upload %s: %s", media_id, e)
            return
        for size, thumb in zip(self.sizes, thumbs, strict=True):
            try:
                await self._save(media_id, size, thumb, animated=False)
            except Exception:
                logger.exception("could not store a thumbnail of %s", media_id)
