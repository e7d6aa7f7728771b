"""GET /_matrix/federation/v1/version.

Spec: server-server-api.md "Server implementation". Needs no authentication
(the spec declares none); a signed request is accepted like any other.
"""

from __future__ import annotations

from homeserver import __version__
from homeserver.api.http.request import ApiRequest
from homeserver.types import JsonDict


class FederationVersionEndpoint:
    """Our implementation name and version."""

    PATTERNS = ["/_matrix/federation/v1/version"]

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        return {"server": {"name": "Chatly", "version": __version__}}
