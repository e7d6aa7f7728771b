"""Device management endpoints.

Spec: client-server API, "Device management".
"""

from __future__ import annotations

from homeserver.api.client.bodies.accounts import (
    DeleteDevicesBody,
    DeviceUpdateBody,
    UiaBody,
)
from homeserver.api.http.auth import requester_of, uia_operation
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import client_patterns
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
        requester = await requester_of(self.auth, request, allow_guest=True)
        return await self.devices.list_devices(requester)


class DeviceEndpoint:
    """GET, PUT and DELETE /devices/{deviceId}."""

    PATTERNS = client_patterns("/devices/{device_id}")

    def __init__(self, auth: Auth, devices: DeviceService) -> None:
        self.auth = auth
        self.devices = devices

    async def on_GET(self, request: ApiRequest, device_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        return await self.devices.get_device(requester, device_id)

    async def on_PUT(self, request: ApiRequest, device_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request, allow_guest=True)
        body = request.parse(DeviceUpdateBody)
        return await self.devices.update_device(
            requester,
            device_id,
            "display_name" in body.model_fields_set,
            body.display_name,
        )

    async def on_DELETE(self, request: ApiRequest, device_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(UiaBody, allow_empty=True)
        return await self.devices.delete_devices(
            requester,
            [device_id],
            uia_operation(request),
            body.uia_auth(),
            body.uia_params(),
        )


class DeleteDevicesEndpoint:
    """POST /delete_devices."""

    PATTERNS = client_patterns("/delete_devices")

    def __init__(self, auth: Auth, devices: DeviceService) -> None:
        self.auth = auth
        self.devices = devices

    async def on_POST(self, request: ApiRequest) -> JsonDict:
        requester = await requester_of(self.auth, request)
        body = request.parse(DeleteDevicesBody)
        return await self.devices.delete_devices(
            requester,
            body.devices,
            uia_operation(request),
            body.uia_auth(),
            body.uia_params(),
        )


class WhoisEndpoint:
    """GET /admin/whois/{userId} (spec: "Server administration"): the
    user's devices, sessions and connections; a server admin, or the user."""

    PATTERNS = client_patterns("/admin/whois/{user_id}")

    def __init__(self, auth: Auth, devices: DeviceService) -> None:
        self.auth = auth
        self.devices = devices

    async def on_GET(self, request: ApiRequest, user_id: str) -> JsonDict:
        requester = await requester_of(self.auth, request)
        return await self.devices.whois(requester, user_id)
