"""GET /.well-known/matrix/server: delegating federation to another host.

Spec: server-server-api.md "Resolving server names" (the ``m.server``
document). Served on client listeners, as it is fetched from
``https://<server_name>/`` (port 443).
"""

from __future__ import annotations

from homeserver.api.http.request import ApiRequest
from homeserver.api.http.site import Response, encode_json
from homeserver.errors import NotFound

# Other servers cache the answer this long (spec default: 24 hours).
CACHE_SECONDS = 24 * 3600


class WellKnownServerEndpoint:
    """The ``m.server`` delegation, when ``well_known.server`` is set; 404
    otherwise."""

    PATTERNS = ["/.well-known/matrix/server"]

    def __init__(self, delegated: str | None) -> None:
        self.delegated = delegated

    async def on_GET(self, request: ApiRequest) -> Response:
        if not self.delegated:
            raise NotFound(".well-known/matrix/server is not configured")
        return Response(
            encode_json({"m.server": self.delegated}),
            headers={"Cache-Control": f"max-age={CACHE_SECONDS}"},
        )
