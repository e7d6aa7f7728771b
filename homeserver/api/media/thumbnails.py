"""Thumbnail endpoints.

Spec: client-server API "Content repository" -> "Thumbnails": the
authenticated ``GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}``
(v1.11) and the legacy unauthenticated ``/_matrix/media/v3/thumbnail/...``
(and r0). Query parameters: ``width`` and ``height`` (required), ``method``
(``crop`` or ``scale``, default ``scale``), ``animated``; others (such as
``timeout_ms`` and ``allow_remote``) are ignored.
"""

from __future__ import annotations

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.site import Response
from homeserver.api.media.endpoints import media_patterns
from homeserver.api.media.serving import media_response
from homeserver.errors import InvalidParam, MissingParam
from homeserver.services.accounts.auth import Auth
from homeserver.services.media.ports import ThumbnailRequest
from homeserver.services.media.thumbnail_sizes import parse_method
from homeserver.services.media.thumbnails import ThumbnailService


def _dimension(request: ApiRequest, name: str) -> int:
    if request.query_str(name) is None:
        raise MissingParam(name)
    value = request.query_int(name)
    if value is None or value < 1:
        raise InvalidParam(f"Query parameter {name!r} must be a positive integer")
    return value


def thumbnail_request(request: ApiRequest) -> ThumbnailRequest:
    """The thumbnail asked for in the query string.

    Raises:
        MatrixError: 400 M_MISSING_PARAM without ``width`` or ``height``; 400
            M_INVALID_PARAM when one is not a positive integer, for an unknown
            ``method`` or an ``animated`` that is not a boolean.
    """
    width = _dimension(request, "width")
    height = _dimension(request, "height")
    try:
        method = parse_method(request.query_str("method") or "scale")
    except ValueError:
        raise InvalidParam("Query parameter 'method' must be crop or scale") from None
    return ThumbnailRequest(
        width=width,
        height=height,
        method=method,
        animated=request.query_bool("animated"),
    )


class _Thumbnail:
    authenticated = True

    def __init__(self, auth: Auth, thumbnails: ThumbnailService) -> None:
        self.auth = auth
        self.thumbnails = thumbnails

    async def on_GET(
        self, request: ApiRequest, server_name: str, media_id: str
    ) -> Response:
        if self.authenticated:
            await requester_of(self.auth, request, allow_guest=True)
        asked = thumbnail_request(request)
        found = await self.thumbnails.thumbnail(
            server_name, media_id, asked, legacy=not self.authenticated
        )
        return media_response(
            found.content, found.content_type, None, request.header("range")
        )


class ThumbnailEndpoint(_Thumbnail):
    """GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}."""

    PATTERNS = ["/_matrix/client/v1/media/thumbnail/{server_name}/{media_id}"]


class LegacyThumbnailEndpoint(_Thumbnail):
    """GET /_matrix/media/v3/thumbnail/{serverName}/{mediaId} (and r0):
    unauthenticated, deprecated since v1.11 but still used by older clients."""

    authenticated = False
    PATTERNS = media_patterns("/thumbnail/{server_name}/{media_id}")


def thumbnail_endpoints(auth: Auth, thumbnails: ThumbnailService) -> list[_Thumbnail]:
    """The thumbnail endpoints, for the client listener."""
    return [
        ThumbnailEndpoint(auth, thumbnails),
        LegacyThumbnailEndpoint(auth, thumbnails),
    ]
