"""Device management.

Spec: client-server API, "Device management".
"""

from __future__ import annotations

from homeserver.errors import Forbidden, NotFound
from homeserver.services.accounts.auth import Requester
from homeserver.services.accounts.ui_auth import UiaOperation, UserInteractiveAuth
from homeserver.services.accounts.ui_auth_stages import PASSWORD
from homeserver.storage.stores.devices import Device, DeviceStore
from homeserver.types import JsonDict, UserID
from homeserver.util.clock import Clock


def device_json(device: Device) -> JsonDict:
    """The client-facing shape of a device."""
    # display_name is always there (null when unset), as Synapse answers:
    # matrix-nio rejects a device without it.
    body: JsonDict = {
        "device_id": device.device_id,
        "display_name": device.display_name,
    }
    for key in ("last_seen_ip", "last_seen_ts"):
        value = getattr(device, key)
        if value is not None:
            body[key] = value
    return body


class DeviceService:
    """Lists, renames and deletes a user's devices."""

    def __init__(
        self, devices: DeviceStore, uia: UserInteractiveAuth, clock: Clock
    ) -> None:
        self.devices = devices
        self.uia = uia
        self.clock = clock

    async def list_devices(self, requester: Requester) -> JsonDict:
        """GET /devices."""
        return {
            "devices": [
                device_json(d)
                for d in await self.devices.get_devices(requester.user_id)
            ]
        }

    async def whois(self, requester: Requester, user_id: str) -> JsonDict:
        """GET /admin/whois/{userId}: a user's devices, each with one session
        whose connection is the device's last seen address and time.

        Raises:
            MatrixError: 400 for a malformed user ID; 403 M_FORBIDDEN unless
                the requester is that user or a server admin.
        """
        UserID.parse(user_id)
        if user_id != requester.user_id and not requester.is_admin:
            raise Forbidden("You are not a server admin")
        devices: JsonDict = {}
        for device in await self.devices.get_devices(user_id):
            connections = []
            if device.last_seen_ts is not None or device.last_seen_ip is not None:
                connection: JsonDict = {
                    "ip": device.last_seen_ip,
                    "last_seen": device.last_seen_ts,
                }
                if device.last_seen_user_agent is not None:
                    connection["user_agent"] = device.last_seen_user_agent
                connections.append(connection)
            devices[device.device_id] = {"sessions": [{"connections": connections}]}
        return {"user_id": user_id, "devices": devices}

    async def get_device(self, requester: Requester, device_id: str) -> JsonDict:
        """GET /devices/{deviceId}."""
        device = await self.devices.get_device(requester.user_id, device_id)
        if device is None:
            raise NotFound("Device not found")
        return device_json(device)

    async def update_device(
        self,
        requester: Requester,
        device_id: str,
        rename: bool,
        display_name: str | None,
    ) -> JsonDict:
        """PUT /devices/{deviceId}.

        Args:
            requester: whose device.
            device_id: the device.
            rename: whether the body gave a ``display_name`` (else nothing
                changes, but an unknown device is still 404).
            display_name: the new name; None clears it.

        An application service creates the device of one of its users if
        it is new (spec v1.17, MSC4190), with the name if given.
        """
        if requester.app_service_id is not None:
            created = await self.devices.upsert_device(
                requester.user_id,
                device_id,
                display_name,
                self.clock.time_msec(),
                None,
            )
            if created:
                return {}
        if rename:
            found = await self.devices.update_display_name(
                requester.user_id, device_id, display_name
            )
        else:
            found = (
                await self.devices.get_device(requester.user_id, device_id) is not None
            )
        if not found:
            raise NotFound("Device not found")
        return {}

    async def delete_devices(
        self,
        requester: Requester,
        device_ids: list[str],
        operation: UiaOperation,
        auth: JsonDict | None,
        clientdict: JsonDict,
    ) -> JsonDict:
        """DELETE /devices/{id} and POST /delete_devices, behind UIA (but for
        application services, spec v1.17 / MSC4190).

        Args:
            requester: whose devices.
            device_ids: the devices to delete.
            operation: the request, for UIA.
            auth: the body's ``auth`` object, if any.
            clientdict: the body's other parameters.
        """
        if requester.app_service_id is not None:
            await self.devices.delete_devices(requester.user_id, device_ids)
            return {}
        result = await self.uia.authenticate(
            operation, auth, clientdict, [[PASSWORD]], requester
        )
        await self.devices.delete_devices(requester.user_id, device_ids)
        await self.uia.finish(result)
        return {}
