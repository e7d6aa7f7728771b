"""OpenID tokens for widgets and integration managers.

Spec: client-server API, "OpenID" (data/api/client-server/openid.yaml).
"""

from __future__ import annotations

from homeserver.api.http.auth import requester_of
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.services.accounts.auth import Auth
from homeserver.services.extras.openid import OpenIdService
from homeserver.types import JsonDict


class OpenIdRequestTokenEndpoint:
    """POST /user/{userId}/openid/request_token."""

    PATTERNS = client_patterns("/user/{user_id}/openid/request_token")

    def __init__(self, auth: Auth, openid: OpenIdService) -> None:
        self.auth = auth
        self.openid = openid

    async def on_POST(self, request: ApiRequest, user_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        # The body is an empty object; a body that is not JSON is still refused.
        request.json(allow_empty=True)
        return await self.openid.request_token(requester, user_id)
