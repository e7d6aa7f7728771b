"""What the media domain needs from elsewhere, as Protocols with null versions.

``RemoteMediaFetcher`` is filled by the federation wing when federation is
on (another server's files, fetched over federation); ``RemoteThumbnailSource``
by the remote media cache. Without them another server's media is not found
(404 M_NOT_FOUND).
``UploadListener`` hears of every finished local upload (thumbnails are made
then). Both are ``Port``s plugged in ``composition/bind.py``.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from homeserver.errors import NotFound
from homeserver.services.media.thumbnail_sizes import ThumbnailMethod


@attrs.frozen
class ThumbnailRequest:
    """What a client asked for.

    Args:
        width: the desired width (positive).
        height: the desired height (positive).
        method: ``scale`` or ``crop``.
        animated: the client prefers an animated thumbnail; when False the
            thumbnail is never animated (spec).
    """

    width: int
    height: int
    method: ThumbnailMethod
    animated: bool = False


@attrs.frozen
class ServedThumbnail:
    """A thumbnail to answer with: its bytes and Content-Type."""

    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")
    content_type: str


class RemoteThumbnailSource(Protocol):
    """Thumbnails of another server's media."""

    async def remote_thumbnail(
        self,
        server_name: str,
        media_id: str,
        request: ThumbnailRequest,
        *,
        legacy: bool = False,
    ) -> ServedThumbnail:
        """A thumbnail of ``mxc://server_name/media_id`` (``media_id`` is
        already checked against ``MEDIA_ID_RE``; ``legacy``: asked for on a
        legacy unauthenticated route).

        Raises:
            MatrixError: 404 M_NOT_FOUND when the media cannot be found, or
                what the remote server answered.
        """
        ...


class NoRemoteThumbnails:
    """Remote media off: nothing of another server can be found."""

    async def remote_thumbnail(
        self,
        server_name: str,
        media_id: str,
        request: ThumbnailRequest,
        *,
        legacy: bool = False,
    ) -> ServedThumbnail:
        raise NotFound("Media not found")


class UploadListener(Protocol):
    """Told of each local upload once its file and record are stored."""

    async def on_uploaded(self, media_id: str, media_type: str, data: bytes) -> None:
        """React to an upload; it has succeeded whatever this does."""
        ...


class NoUploadListener:
    """Nothing to do after an upload."""

    async def on_uploaded(self, media_id: str, media_type: str, data: bytes) -> None:
        return None


@attrs.frozen(kw_only=True)
class FetchedMedia:
    """A file fetched from another server.

    Args:
        media_type: the Content-Type it was served with.
        upload_name: the file name of its Content-Disposition, if any.
        data: its bytes (at most the ``max_bytes`` asked for).
    """

    media_type: str
    upload_name: str | None
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")


class RemoteMediaFetcher(Protocol):
    """Fetches a file of another server over federation."""

    async def fetch_media(
        self, server_name: str, media_id: str, *, max_bytes: int
    ) -> FetchedMedia:
        """The file of ``mxc://server_name/media_id``.

        Raises:
            MatrixError: 404 (with the remote's errcode) when the remote has
                no such file; 502 M_TOO_LARGE when it is over ``max_bytes``;
                502 M_UNKNOWN when it cannot be fetched; 403 when federation
                with that server is not allowed.
        """
        ...


class NoRemoteMedia:
    """Federation is off: no other server's media can be found."""

    async def fetch_media(
        self, server_name: str, media_id: str, *, max_bytes: int
    ) -> FetchedMedia:
        """Refuse (404 M_NOT_FOUND)."""
        raise NotFound("Remote media is not available: federation is off")
