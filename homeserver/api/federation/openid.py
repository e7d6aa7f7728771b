"""The OpenID userinfo endpoint a third party calls with a user's token.

Spec: server-server API, "OpenID" (data/api/server-server/openid.yaml). It is
not signed with X-Matrix: the caller is usually no homeserver but an
integration manager, and the token is its only credential.
"""

from __future__ import annotations

from homeserver.api.federation.membership import FED
from homeserver.api.http.request import ApiRequest
from homeserver.services.extras.openid import OpenIdService
from homeserver.types import JsonDict


class OpenIdUserInfoEndpoint:
    """GET /_matrix/federation/v1/openid/userinfo?access_token=..."""

    PATTERNS = [f"{FED}/v1/openid/userinfo"]

    def __init__(self, openid: OpenIdService) -> None:
        self.openid = openid

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        return await self.openid.userinfo(request.query_str("access_token"))
