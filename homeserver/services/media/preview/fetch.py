"""Fetching for previews: pages, oEmbed answers and images through the
guarded client, and an image stored as local media.

Every URL goes through ``UntrustedHttpClient`` (SSRF guards: addresses checked
after DNS and on every redirect, size and time caps) and the configured
``url_blacklist``. Pillow reads image headers off the reactor thread.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import attrs
from PIL import Image, UnidentifiedImageError

from homeserver.config.sections.outbound import UrlPreviewConfig
from homeserver.errors import Codes, MatrixError
from homeserver.http_client.untrusted import (
    DeniedAddressError,
    DeniedUrlError,
    OutboundRequestError,
    OutboundResponse,
    UntrustedHttpClient,
)
from homeserver.services.media.preview.rules import url_blocked
from homeserver.services.media.repository import MediaRepository, Upload
from homeserver.storage.database import Runner
from homeserver.types import UserID

logger = logging.getLogger(__name__)


def content_type_of(response: OutboundResponse) -> str:
    """The response's Content-Type (octet-stream if it sends none)."""
    values = response.headers.getRawHeaders(b"content-type")
    if not values:
        return "application/octet-stream"
    return values[0].decode("latin-1").strip()


def media_type(content_type: str) -> str:
    """``type/subtype`` of a Content-Type, lower case, without parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def header(response: OutboundResponse, name: str) -> str | None:
    """One response header as text, if present."""
    values = response.headers.getRawHeaders(name.encode("ascii"))
    return values[0].decode("latin-1") if values else None


@attrs.frozen
class StoredImage:
    """An image of a preview, stored as local media."""

    mxc: str
    media_id: str
    mime: str
    size: int
    width: int
    height: int

    def og(self) -> dict[str, Any]:
        """Its Open Graph keys (the Matrix additions included)."""
        return {
            "og:image": self.mxc,
            "og:image:type": self.mime,
            "og:image:width": self.width,
            "og:image:height": self.height,
            "matrix:image:size": self.size,
        }


def _identify(data: bytes) -> tuple[str, int, int] | None:
    """MIME type, width and height of an image, from its header only (no
    decoding, so no decompression bomb); None if Pillow does not know it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            mime = Image.MIME.get(image.format or "")
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    if mime is None or not mime.startswith("image/"):
        return None
    return mime, width, height


class PreviewFetcher:
    """Fetches URLs for previews and stores their images.

    Args:
        config: the ``url_preview`` section.
        client: the guarded client (``preview_client``).
        media: where preview images are stored.
        runner: runs Pillow off the reactor thread.
    """

    def __init__(
        self,
        *,
        config: UrlPreviewConfig,
        client: UntrustedHttpClient,
        media: MediaRepository,
        runner: Runner,
    ) -> None:
        self.config = config
        self.client = client
        self.media = media
        self.runner = runner

    def blocked(self, url: str) -> bool:
        """Whether ``url_blacklist`` refuses ``url``."""
        return url_blocked(url, self.config.url_blacklist)

    async def fetch(self, url: str) -> OutboundResponse:
        """GET ``url``; a 2xx answer.

        Raises:
            MatrixError: 403 M_UNKNOWN for a URL (or a redirect target)
                blocked by ``url_blacklist`` or whose addresses are all
                denied (nothing was connected to); 502 M_UNKNOWN when it cannot be fetched or does not
                answer 2xx.
        """
        if self.blocked(url):
            logger.info("URL preview blocked by url_blacklist", extra={"url": url})
            raise MatrixError(
                403, "URL blocked by url pattern blocklist entry", Codes.UNKNOWN
            )
        headers = {}
        if self.config.accept_language:
            headers["Accept-Language"] = ", ".join(self.config.accept_language)
        try:
            response = await self.client.get(
                url, headers=headers, allow_url=lambda hop: not self.blocked(hop)
            )
        except DeniedUrlError:
            raise MatrixError(
                403, "URL blocked by url pattern blocklist entry", Codes.UNKNOWN
            ) from None
        except DeniedAddressError:
            raise MatrixError(
                403, "IP address blocked by the IP range blacklist", Codes.UNKNOWN
            ) from None
        except OutboundRequestError as exc:
            logger.info("URL preview fetch failed: %s", exc)
            raise MatrixError(
                502, f"Failed to download content: {exc}", Codes.UNKNOWN
            ) from None
        if response.code // 100 != 2:
            raise MatrixError(
                502, f"The URL answered with HTTP {response.code}", Codes.UNKNOWN
            )
        return response

    async def store_image(
        self, response: OutboundResponse, user: UserID
    ) -> StoredImage | None:
        """Store a fetched image as local media for ``user``; None if it is not
        an image Pillow knows, or is larger than uploads may be."""
        data = response.body
        found = await self.runner(lambda: _identify(data))
        if found is None:
            return None
        mime, width, height = found
        try:
            mxc = await self.media.store_upload(user, Upload(data, mime, None))
        except MatrixError as exc:
            logger.info("URL preview image not stored: %s", exc.msg)
            return None
        media_id = mxc.rsplit("/", 1)[1]
        return StoredImage(mxc, media_id, mime, len(data), width, height)

    async def fetch_image(self, url: str, user: UserID) -> StoredImage | None:
        """Fetch and store the image at ``url``; None (logged) if that fails:
        a missing image never fails a preview."""
        try:
            response = await self.fetch(url)
        except MatrixError as exc:
            logger.info("URL preview image not fetched: %s", exc.msg)
            return None
        if not media_type(content_type_of(response)).startswith("image/"):
            return None
        return await self.store_image(response, user)
