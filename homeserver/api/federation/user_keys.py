"""Federation endpoints for users' devices and end-to-end encryption keys.

Spec: server-server API, "End-to-End Encryption" (POST
/_matrix/federation/v1/user/keys/query, /user/keys/claim) and "Device
Management" (GET /_matrix/federation/v1/user/devices/{userId}).
"""

from __future__ import annotations

import logging
from typing import Any

from homeserver.api.federation.bodies import UserKeysClaimBody, UserKeysQueryBody
from homeserver.api.federation.membership import FED, Authenticator
from homeserver.api.http.request import ApiRequest
from homeserver.errors import Codes, MatrixError
from homeserver.federation.serving.user_keys import FederationUserKeys
from homeserver.types import JsonDict, UserID

logger = logging.getLogger(__name__)


class _Endpoint:
    def __init__(self, authenticator: Authenticator, keys: FederationUserKeys) -> None:
        self.authenticator = authenticator
        self.keys = keys


class UserKeysQueryEndpoint(_Endpoint):
    """POST /_matrix/federation/v1/user/keys/query."""

    PATTERNS = [f"{FED}/v1/user/keys/query"]

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        await self.authenticator.authenticate(request)
        body = request.parse(UserKeysQueryBody)
        return await self.keys.query_keys(body.device_keys)


class UserKeysClaimEndpoint(_Endpoint):
    """POST /_matrix/federation/v1/user/keys/claim."""

    PATTERNS = [f"{FED}/v1/user/keys/claim"]

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        await self.authenticator.authenticate(request)
        body = request.parse(UserKeysClaimBody)
        return await self.keys.claim_keys(body.one_time_keys)


class UserDevicesEndpoint(_Endpoint):
    """GET /_matrix/federation/v1/user/devices/{userId}."""

    PATTERNS = [f"{FED}/v1/user/devices/{{user_id}}"]

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        origin = await self.authenticator.authenticate(request)
        if UserID.parse(user_id).domain != self.keys.server_name:
            raise MatrixError(
                400, "User is not hosted on this homeserver", Codes.INVALID_PARAM
            )
        logger.debug("%s queried the devices of %s", origin, user_id)
        return await self.keys.user_devices(user_id)


def user_key_endpoints(
    authenticator: Authenticator, keys: FederationUserKeys
) -> list[Any]:
    """Every endpoint of this module."""
    return [
        cls(authenticator, keys)
        for cls in (UserKeysQueryEndpoint, UserKeysClaimEndpoint, UserDevicesEndpoint)
    ]
