"""Federation media: our files, served to other servers.

Spec: server-server-api.md "Content Repository" (content_repository.yaml):
``GET /_matrix/federation/v1/media/download/{mediaId}`` and
``.../thumbnail/{mediaId}``, signed (X-Matrix) requests, answered with a
two-part multipart/mixed body (JSON metadata, then the bytes). Only this
server's own media is served (never media cached from a third server), and
quarantined media is not.
"""

from __future__ import annotations

from typing import Any

from homeserver.api.federation.membership import FED, Authenticator
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.site import Response
from homeserver.api.media.serving import content_disposition
from homeserver.api.media.thumbnails import thumbnail_request
from homeserver.federation.media import multipart
from homeserver.services.media.repository import MediaRepository
from homeserver.services.media.thumbnails import ThumbnailService


def multipart_response(data: bytes, media_type: str, filename: str | None) -> Response:
    """The two-part answer for one file."""
    content_type, body = multipart.encode(
        data, media_type, content_disposition(media_type, filename)
    )
    return Response(body, content_type)


class FederationMediaDownloadEndpoint:
    """GET /_matrix/federation/v1/media/download/{mediaId}."""

    PATTERNS = [f"{FED}/v1/media/download/{{media_id}}"]

    def __init__(self, authenticator: Authenticator, media: MediaRepository) -> None:
        self.authenticator = authenticator
        self.media = media

    async def on_GET(self, request: ApiRequest, media_id: str) -> Response:
        await self.authenticator.authenticate(request)
        found = await self.media.download(
            self.media.server_name, media_id, allow_remote=False
        )
        media = found.media
        return multipart_response(
            found.data,
            media.media_type or "application/octet-stream",
            media.upload_name,
        )


class FederationMediaThumbnailEndpoint:
    """GET /_matrix/federation/v1/media/thumbnail/{mediaId}: ``width``,
    ``height``, ``method``, ``animated`` as for clients; a thumbnail of our
    own media only (what the local thumbnail service serves)."""

    PATTERNS = [f"{FED}/v1/media/thumbnail/{{media_id}}"]

    def __init__(
        self, authenticator: Authenticator, thumbnails: ThumbnailService
    ) -> None:
        self.authenticator = authenticator
        self.thumbnails = thumbnails

    async def on_GET(self, request: ApiRequest, media_id: str) -> Response:
        await self.authenticator.authenticate(request)
        asked = thumbnail_request(request)
        found = await self.thumbnails.local_thumbnail(media_id, asked)
        return multipart_response(found.content, found.content_type, None)


def media_endpoints(
    authenticator: Authenticator,
    media: MediaRepository,
    thumbnails: ThumbnailService,
) -> list[Any]:
    """Every federation media endpoint."""
    return [
        FederationMediaDownloadEndpoint(authenticator, media),
        FederationMediaThumbnailEndpoint(authenticator, thumbnails),
    ]
