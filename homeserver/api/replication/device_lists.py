"""Internal: a device list change recorded on the device_lists stream's writer.

``POST /_chatly/replication/device_lists`` with an ``op`` (``devices``,
``cross_signing``, ``remote``), called by
``workers.remote_user_writes.RemoteDeviceLists`` for a change made where it
arrived (a device renamed or deleted, keys uploaded, cross-signing keys or
signatures, another server's update). The writer takes the positions, wakes
the audience and announces the change (federation's m.device_list_update).
``op`` ``undelivered``: changes a process stored in the database because this
writer was down are waiting; record them now.
"""

from __future__ import annotations

from typing import Literal

from homeserver.api.http.body import RequestBody, Str
from homeserver.api.replication.resource import InternalPost
from homeserver.services.devices.device_lists import DeviceListTracker
from homeserver.types import JsonDict


class DeviceListWriteBody(RequestBody):
    """One change: whose, which devices (or signed users) and who hears."""

    op: Literal["devices", "cross_signing", "remote", "undelivered"]
    user_id: Str = ""
    device_ids: list[Str] = []
    deleted: bool = False
    signed_users: list[Str] = []
    audience: list[Str] = []


class DeviceListWriteEndpoint(InternalPost[DeviceListTracker, DeviceListWriteBody]):
    """POST /_chatly/replication/device_lists."""

    ENDPOINT = "device_lists"
    BODY = DeviceListWriteBody

    async def handle(self, body: DeviceListWriteBody) -> JsonDict:
        if body.op == "undelivered":
            return {"recorded": await self.target.record_undelivered()}
        await self.target.record(body.model_dump())
        return {}
