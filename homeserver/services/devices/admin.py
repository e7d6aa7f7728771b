"""A user's devices for server admins: Synapse's ``/_synapse/admin/v2/users/
{userId}/devices`` (``docs/admin_api/user_admin_api.md``, "User devices").
No user-interactive auth: the admin flag is the authority."""

from __future__ import annotations

from homeserver.errors import Codes, MatrixError, NotFound
from homeserver.storage.stores.devices import Device, DeviceStore
from homeserver.storage.stores.users import UserStore
from homeserver.types import JsonDict, UserID
from homeserver.util.clock import Clock


def admin_device_json(device: Device) -> JsonDict:
    """Synapse's admin shape of a device: every field, null when unknown."""
    return {
        "device_id": device.device_id,
        "display_name": device.display_name,
        "last_seen_ip": device.last_seen_ip,
        "last_seen_user_agent": device.last_seen_user_agent,
        "last_seen_ts": device.last_seen_ts,
        "user_id": device.user_id,
    }


class DeviceAdmin:
    """Lists, creates, renames and deletes any local user's devices."""

    def __init__(
        self, *, server_name: str, devices: DeviceStore, users: UserStore, clock: Clock
    ) -> None:
        self.server_name = server_name
        self.devices = devices
        self.users = users
        self.clock = clock

    async def _user(self, user_id: str) -> str:
        if UserID.parse(user_id).domain != self.server_name:
            raise MatrixError(400, "Can only lookup local users", Codes.UNKNOWN)
        if await self.users.get_user(user_id) is None:
            raise NotFound("Unknown user")
        return user_id

    async def list_devices(self, user_id: str) -> JsonDict:
        """GET .../devices."""
        devices = await self.devices.get_devices(await self._user(user_id))
        body = [{**admin_device_json(d), "dehydrated": False} for d in devices]
        return {"devices": body, "total": len(body)}

    async def create_device(self, user_id: str, device_id: str) -> JsonDict:
        """POST .../devices {device_id}: a device without a token (for
        bridges that log in as the user later)."""
        await self._user(user_id)
        now = self.clock.time_msec()
        await self.devices.upsert_device(user_id, device_id, None, now, None)
        return {}

    async def get_device(self, user_id: str, device_id: str) -> JsonDict:
        """GET .../devices/{deviceId}."""
        device = await self.devices.get_device(await self._user(user_id), device_id)
        if device is None:
            raise NotFound("Device not found")
        return admin_device_json(device)

    async def rename_device(
        self, user_id: str, device_id: str, display_name: str | None
    ) -> JsonDict:
        """PUT .../devices/{deviceId} {display_name}."""
        await self._user(user_id)
        if not await self.devices.update_display_name(user_id, device_id, display_name):
            raise NotFound("Device not found")
        return {}

    async def delete_devices(self, user_id: str, device_ids: list[str]) -> JsonDict:
        """DELETE .../devices/{deviceId} and POST .../delete_devices: the
        devices with their tokens and keys (unknown ones are ignored)."""
        await self.devices.delete_devices(await self._user(user_id), device_ids)
        return {}
