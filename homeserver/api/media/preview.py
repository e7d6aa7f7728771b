"""URL preview endpoints.

Spec: client-server API "Content repository": ``GET
/_matrix/client/v1/media/preview_url`` and the deprecated ``GET
/_matrix/media/v3/preview_url`` (and r0). Both need an access token (the
legacy one too, as in the spec and Synapse); guests may not preview. Only
routed when ``url_preview.enabled``: otherwise 404 M_UNRECOGNIZED, as Synapse.
"""

from __future__ import annotations

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.media.endpoints import media_patterns
from homeserver.errors import MissingParam
from homeserver.services.accounts.auth import Auth
from homeserver.services.media.preview.previewer import UrlPreviewer
from homeserver.types import JsonDict


class PreviewUrlEndpoint:
    """GET /_matrix/client/v1/media/preview_url, /_matrix/media/v3/preview_url."""

    PATTERNS = [
        "/_matrix/client/v1/media/preview_url",
        *media_patterns("/preview_url"),
    ]

    def __init__(self, auth: Auth, previewer: UrlPreviewer) -> None:
        self.auth = auth
        self.previewer = previewer

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        url = request.query_str("url")
        if not url:
            raise MissingParam("url")
        ts = request.query_int("ts")
        return await self.previewer.preview(requester.user, url, ts)
