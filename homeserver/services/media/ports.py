"""What the media domain needs from elsewhere, as Protocols with null versions.

``RemoteThumbnailSource`` is filled by remote media (federation) when that is
on; until then another server's media has no thumbnails (404 M_NOT_FOUND).
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
        self, server_name: str, media_id: str, request: ThumbnailRequest
    ) -> ServedThumbnail:
        """A thumbnail of ``mxc://server_name/media_id`` (``media_id`` is
        already checked against ``MEDIA_ID_RE``).

        Raises:
            MatrixError: 404 M_NOT_FOUND when the media cannot be found, or
                what the remote server answered.
        """
        ...


class NoRemoteThumbnails:
    """Remote media off: nothing of another server can be found."""

    async def remote_thumbnail(
        self, server_name: str, media_id: str, request: ThumbnailRequest
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
