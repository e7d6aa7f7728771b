"""GET /_matrix/federation/v1/user/devices/{userId}.

Spec: server-server API, "Device Management": a local user's devices with
the device-list ``stream_id`` the m.device_list_update chain continues from.
Device keys stay empty until end-to-end encryption keys are stored.
"""

from __future__ import annotations

import logging
from typing import Protocol

from homeserver.api.http.request import ApiRequest
from homeserver.errors import Codes, MatrixError
from homeserver.federation.edus.device_lists import DeviceListEdus
from homeserver.types import JsonDict, UserID

logger = logging.getLogger(__name__)


class RequestAuthenticator(Protocol):
    """Checks an inbound request's X-Matrix signature (federation/inbound_auth)."""

    async def authenticate(self, request: ApiRequest) -> str:
        """The origin server of a validly signed request, else raises."""
        ...


class UserDevicesEndpoint:
    """A local user's devices, for another server."""

    PATTERNS = ["/_matrix/federation/v1/user/devices/{user_id}"]

    def __init__(
        self,
        server_name: str,
        authenticator: RequestAuthenticator,
        device_lists: DeviceListEdus,
    ) -> None:
        self.server_name = server_name
        self.authenticator = authenticator
        self.device_lists = device_lists

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        origin = await self.authenticator.authenticate(request)
        if UserID.parse(user_id).domain != self.server_name:
            raise MatrixError(
                400, "User is not hosted on this homeserver", Codes.INVALID_PARAM
            )
        logger.debug("%s queried the devices of %s", origin, user_id)
        return await self.device_lists.user_devices(user_id)
