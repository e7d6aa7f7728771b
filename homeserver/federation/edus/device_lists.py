"""m.device_list_update EDUs (server-server API, "Device Management").

The device_lists stream itself is the devices domain's
(``services/devices/device_lists.py``). This module plugs into it: a local
change (announced on ``device_list_changed`` with its positions) goes to every
other server sharing a room with the user as an m.device_list_update, whose
``stream_id``/``prev_id`` chain lets that server notice a missed update; a
remote update is handed to the tracker for local users' /sync.
"""

from __future__ import annotations

import logging

from homeserver.events.ids import domains_of, has_domain
from homeserver.federation.sender.sender import FederationSender
from homeserver.services.devices.device_lists import CoMembers, DeviceListTracker
from homeserver.signals import DeviceListChanged
from homeserver.storage.stores.device_lists import DeviceListStore
from homeserver.storage.stores.devices import DeviceStore
from homeserver.types import JsonDict
from homeserver.util.linearizer import Linearizer

logger = logging.getLogger(__name__)

EDU_TYPE = "m.device_list_update"


class DeviceListEdus:
    """Sends and receives m.device_list_update.

    Args:
        server_name: this server.
        sender: the federation sender.
        tracker: the device_lists stream.
        store: the device_lists tables (remote users' last ``stream_id``).
        devices: local devices (their names go into the EDUs).
        co_members: who shares a room with whom.
    """

    def __init__(
        self,
        *,
        server_name: str,
        sender: FederationSender,
        tracker: DeviceListTracker,
        store: DeviceListStore,
        devices: DeviceStore,
        co_members: CoMembers,
    ) -> None:
        self.server_name = server_name
        self.sender = sender
        self.tracker = tracker
        self.store = store
        self.devices = devices
        self.co_members = co_members
        self._linearizer = Linearizer()

    async def on_local_change(self, change: DeviceListChanged) -> None:
        """``device_list_changed`` receiver: tell the other servers sharing a
        room with the user, one EDU per device, in the stream's order."""
        user_id = change.user_id
        servers = domains_of(change.audience) - {self.server_name}
        if not servers:
            return
        async with self._linearizer.queue(user_id):
            for entry in change.changes:
                content: JsonDict = {
                    "user_id": user_id,
                    "device_id": entry.device_id,
                    "stream_id": entry.stream_id,
                    "prev_id": [] if entry.prev_id is None else [entry.prev_id],
                }
                if change.deleted:
                    content["deleted"] = True
                else:
                    device = await self.devices.get_device(user_id, entry.device_id)
                    if device is not None and device.display_name:
                        content["device_display_name"] = device.display_name
                logger.info(
                    "device list update for %s (%s) to %s",
                    user_id,
                    entry.device_id,
                    sorted(servers),
                )
                await self.sender.send_persistent_edu(servers, EDU_TYPE, content)

    async def handle(self, origin: str, content: JsonDict) -> None:
        """An inbound m.device_list_update."""
        user_id = content.get("user_id")
        device_id = content.get("device_id")
        stream_id = content.get("stream_id")
        if (
            not isinstance(user_id, str)
            or not isinstance(device_id, str)
            or not isinstance(stream_id, int)
        ):
            logger.info("ignoring malformed m.device_list_update from %s", origin)
            return
        if not has_domain(user_id, origin):
            logger.warning(
                "%s sent a device list update for %s: ignored", origin, user_id
            )
            return
        audience = await self.co_members.get_users_sharing_a_room([user_id])
        local = {u for u in audience if has_domain(u, self.server_name)}
        if not local:
            logger.debug(
                "device list update for %s: no local user shares a room", user_id
            )
            return
        async with self._linearizer.queue(user_id):
            known = await self.store.get_remote_stream_id(user_id)
            if known is not None and stream_id <= known:
                return  # already seen (or older)
            prev = content.get("prev_id")
            if known is not None and isinstance(prev, list) and known not in prev:
                # A gap: with no cached remote device keys yet there is nothing
                # to resync, but clients re-query the user's keys on this.
                logger.info(
                    "device list gap for %s (had %s, prev %s)", user_id, known, prev
                )
            await self.tracker.remote_changed(user_id, [device_id], local)
            await self.store.set_remote_stream_id(user_id, stream_id)

    async def user_devices(self, user_id: str) -> JsonDict:
        """The body of GET /_matrix/federation/v1/user/devices/{userId}."""
        devices = await self.devices.get_devices(user_id)
        out = []
        for device in devices:
            entry: JsonDict = {"device_id": device.device_id, "keys": {}}
            if device.display_name:
                entry["device_display_name"] = device.display_name
            out.append(entry)
        return {
            "user_id": user_id,
            "stream_id": await self.tracker.latest_position(user_id),
            "devices": out,
        }
