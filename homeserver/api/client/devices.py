"""Device management endpoints.

Spec: client-server API, "Device management".
"""

from __future__ import annotations

from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
from homeserver.errors import BadJson
from homeserver.services.accounts.auth import Auth
from homeserver.services.devices.devices import DeviceService
from homeserver.types import JsonDict


class DevicesEndpoint:
    """GET /devices."""

    PATTERNS = client_patterns("/devices")

    def __init__(self, auth: Auth, devices: DeviceService) -> None:
        self.auth = auth
        self.devices = devices

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        requester = await self.auth.get_user_by_req(request)
        return await self.devices.list_devices(requester)


class DeviceEndpoint:
    """GET, PUT and DELETE /devices/{deviceId}."""

    PATTERNS = client_patterns("/devices/{device_id}")

    def __init__(self, auth: Auth, devices: DeviceService) -> None:
        self.auth = auth
        self.devices = devices

    async def on_GET(self, request: ApiRequest, device_id: str) -> JsonDict:
        requester = await self.auth.get_user_by_req(request)
        return await self.devices.get_device(requester, device_id)

    async def on_PUT(self, request: ApiRequest, device_id: str) -> JsonDict:
        requester = await self.auth.get_user_by_req(request)
        return await self.devices.update_device(requester, device_id, request.json())

    async def on_DELETE(self, request: ApiRequest, device_id: str) -> JsonDict:
        requester = await self.auth.get_user_by_req(request)
        return await self.devices.delete_devices(request, requester, [device_id])


class DeleteDevicesEndpoint:
    """POST /delete_devices."""

    PATTERNS = client_patterns("/delete_devices")

    def __init__(self, auth: Auth, devices: DeviceService) -> None:
        self.auth = auth
        self.devices = devices

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await self.auth.get_user_by_req(request)
        device_ids = request.json().get("devices")
        if not isinstance(device_ids, list) or not all(
            isinstance(d, str) for d in device_ids
        ):
            raise BadJson("devices must be a list of strings")
        return await self.devices.delete_devices(request, requester, device_ids)
