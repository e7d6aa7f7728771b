"""Device management.

Spec: client-server API, "Device management".
"""

from __future__ import annotations

from homeserver.api.http.request import ApiRequest
from homeserver.errors import BadJson, NotFound
from homeserver.services.accounts.auth import Requester
from homeserver.services.accounts.ui_auth import UserInteractiveAuth
from homeserver.services.accounts.ui_auth_stages import PASSWORD
from homeserver.storage.stores.devices import Device, DeviceStore
from homeserver.types import JsonDict

MAX_DISPLAY_NAME = 100


def device_json(device: Device) -> JsonDict:
    """The client-facing shape of a device."""
    body: JsonDict = {"device_id": device.device_id}
    for key in ("display_name", "last_seen_ip", "last_seen_ts"):
        value = getattr(device, key)
        if value is not None:
            body[key] = value
    return body


class DeviceService:
    """Lists, renames and deletes a user's devices."""

    def __init__(self, devices: DeviceStore, uia: UserInteractiveAuth) -> None:
        self.devices = devices
        self.uia = uia

    async def list_devices(self, requester: Requester) -> JsonDict:
        """GET /devices."""
        return {
            "devices": [
                device_json(d)
                for d in await self.devices.get_devices(requester.user_id)
            ]
        }

    async def get_device(self, requester: Requester, device_id: str) -> JsonDict:
        """GET /devices/{deviceId}."""
        device = await self.devices.get_device(requester.user_id, device_id)
        if device is None:
            raise NotFound("Device not found")
        return device_json(device)

    async def update_device(
        self, requester: Requester, device_id: str, body: JsonDict
    ) -> JsonDict:
        """PUT /devices/{deviceId}."""
        name = body.get("display_name")
        if name is not None and not isinstance(name, str):
            raise BadJson("display_name must be a string")
        if name is not None and len(name) > MAX_DISPLAY_NAME:
            raise BadJson(f"display_name is longer than {MAX_DISPLAY_NAME} characters")
        if "display_name" in body and not await self.devices.update_display_name(
            requester.user_id, device_id, name
        ):
            raise NotFound("Device not found")
        if (
            "display_name" not in body
            and await self.devices.get_device(requester.user_id, device_id) is None
        ):
            raise NotFound("Device not found")
        return {}

    async def delete_devices(
        self, request: ApiRequest, requester: Requester, device_ids: list[str]
    ) -> JsonDict:
        """DELETE /devices/{id} and POST /delete_devices, behind UIA."""
        body = request.json(allow_empty=True)
        result = await self.uia.authenticate(request, body, [[PASSWORD]], requester)
        await self.devices.delete_devices(requester.user_id, device_ids)
        await self.uia.finish(result)
        return {}
