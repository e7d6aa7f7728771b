"""Dehydrated devices (MSC3814, unstable prefix ``org.matrix.msc3814.v1``).

A client parks an extra device of the user on the server, its keys published
like any device's and its private state encrypted (``device_data``) with a key
from secret storage. Messages sent to it wait in its to-device inbox; a new
client of the user later fetches ``device_data``, decrypts it and reads those
messages (``events``, which unlike /sync never deletes them), then replaces it.
Each user has at most one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from homeserver.errors import Codes, MatrixError, NotFound
from homeserver.services.accounts.auth import Requester
from homeserver.services.e2ee.key_checks import bad, check_device_keys
from homeserver.services.e2ee.keys import E2eKeyService, check_key_upload
from homeserver.storage.stores.dehydrated_devices import DehydratedDeviceStore
from homeserver.storage.stores.devices import DeviceStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

BATCH = 100
MAX_DEVICE_ID = 255


class DeviceInbox(Protocol):
    """To-device messages waiting for a device (the sync_data domain's)."""

    async def get_to_device(
        self, user_id: str, device_id: str, since: int, upto: int, limit: int = ...
    ) -> tuple[list[JsonDict], int]:
        """Messages in (since, upto] and the position reached."""
        ...


class DehydratedDeviceService:
    """PUT, GET, DELETE /dehydrated_device and its /events.

    Args:
        store: each user's dehydrated device.
        devices: device rows.
        keys: the device's keys are uploaded like any device's.
        inbox: its to-device messages.
        inbox_position: the to_device stream's current position.
        clock: for the device's last-seen time.
    """

    def __init__(
        self,
        *,
        store: DehydratedDeviceStore,
        devices: DeviceStore,
        keys: E2eKeyService,
        inbox: DeviceInbox,
        inbox_position: Any,
        clock: Clock,
    ) -> None:
        self.store = store
        self.devices = devices
        self.keys = keys
        self.inbox = inbox
        self.inbox_position = inbox_position
        self.clock = clock

    async def put(
        self,
        requester: Requester,
        device_id: str,
        data: JsonDict,
        name: str | None,
        device_keys: JsonDict,
        one_time_keys: Mapping[str, Any] | None,
        fallback_keys: Mapping[str, Any] | None,
    ) -> JsonDict:
        """Replace the user's dehydrated device with a new one.

        Raises:
            MatrixError: 400 for a malformed field, or device keys that are not
                the new device's; nothing changes then.
        """
        user_id = requester.user_id
        if not 0 < len(device_id) <= MAX_DEVICE_ID:
            raise bad("device_id must be 1 to 255 characters")
        if not isinstance(data.get("algorithm"), str):
            raise bad("device_data must have an algorithm")
        if await self.devices.get_device(user_id, device_id) is not None:
            raise bad("A device with this ID exists already")
        device_keys = check_device_keys(device_keys, user_id, device_id)
        check_key_upload(one_time_keys, [fallback_keys])
        old = await self.store.get(user_id)
        if old is not None:
            await self.devices.delete_devices(user_id, [old.device_id])
        await self.devices.upsert_device(
            user_id, device_id, name, self.clock.time_msec(), None
        )
        try:
            await self.keys.upload_for(
                user_id,
                device_id,
                device_keys,
                one_time_keys,
                [fallback_keys],
            )
        except MatrixError:
            await self.devices.delete_devices(user_id, [device_id])
            raise
        await self.store.set(user_id, device_id, data)
        return {"device_id": device_id}

    async def get(self, requester: Requester) -> JsonDict:
        """The user's dehydrated device: its ID and data."""
        device = await self.store.get(requester.user_id)
        if device is None:
            raise NotFound("No dehydrated device available")
        return {"device_id": device.device_id, "device_data": device.device_data}

    async def delete(self, requester: Requester) -> JsonDict:
        """Delete the user's dehydrated device."""
        device = await self.store.get(requester.user_id)
        if device is None:
            raise NotFound("No dehydrated device available")
        await self.devices.delete_devices(requester.user_id, [device.device_id])
        await self.store.delete(requester.user_id)
        return {"device_id": device.device_id}

    async def events(
        self, requester: Requester, device_id: str, since: str | None
    ) -> JsonDict:
        """The dehydrated device's to-device messages after ``since`` (a
        ``next_batch``), a batch at a time; ``next_batch`` is left out once
        there are no more. Nothing is deleted: an aborted rehydration can
        start over."""
        device = await self.store.get(requester.user_id)
        if device is None or device.device_id != device_id:
            raise MatrixError(403, "Not the dehydrated device", Codes.FORBIDDEN)
        try:
            position = int(since) if since else 0
        except ValueError:
            raise MatrixError(400, "Bad next_batch", Codes.INVALID_PARAM) from None
        upto = self.inbox_position()
        events, reached = await self.inbox.get_to_device(
            requester.user_id, device_id, position, upto, BATCH
        )
        body: JsonDict = {"events": events}
        if events:
            body["next_batch"] = str(reached)
        return body
