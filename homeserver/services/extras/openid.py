"""OpenID tokens for widgets and integration managers.

Spec: client-server API, "OpenID" (POST /user/{userId}/openid/request_token)
and server-server API, "OpenID" (GET /_matrix/federation/v1/openid/userinfo).
A third party given the token asks our server who it belongs to.
"""

from __future__ import annotations

from homeserver.errors import Codes, Forbidden, MatrixError
from homeserver.services.accounts.auth import Requester
from homeserver.storage.stores.openid import OpenIdStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.tokens import hash_token, random_string

# How long a token is valid: an hour, as in Synapse.
OPENID_TOKEN_LIFETIME_MS = 3600 * 1000


class OpenIdService:
    """Mints OpenID tokens and tells third parties whose they are."""

    def __init__(self, server_name: str, store: OpenIdStore, clock: Clock) -> None:
        self.server_name = server_name
        self.store = store
        self.clock = clock

    async def request_token(self, requester: Requester, user_id: str) -> JsonDict:
        """A new token for ``user_id``, who must be the requester.

        Raises:
            Forbidden: 403 when asking for another user's token.
        """
        if user_id != requester.user_id:
            raise Forbidden("Cannot request tokens for other users.")
        token = random_string(32)
        now = self.clock.time_msec()
        await self.store.insert_token(
            hash_token(token),
            requester.user_id,
            now + OPENID_TOKEN_LIFETIME_MS,
            now,
        )
        return {
            "access_token": token,
            "token_type": "Bearer",
            "matrix_server_name": self.server_name,
            "expires_in": OPENID_TOKEN_LIFETIME_MS // 1000,
        }

    async def userinfo(self, token: str | None) -> JsonDict:
        """``{"sub": user_id}`` for a valid token.

        Raises:
            MatrixError: 401 M_MISSING_TOKEN without a token, 401
                M_UNKNOWN_TOKEN for an unknown or expired one.
        """
        if not token:
            raise MatrixError(401, "Access Token required", Codes.MISSING_TOKEN)
        user_id = await self.store.get_user_for_token(
            hash_token(token), self.clock.time_msec()
        )
        if user_id is None:
            raise MatrixError(
                401, "Access Token unknown or expired", Codes.UNKNOWN_TOKEN
            )
        return {"sub": user_id}
