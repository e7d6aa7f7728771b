"""m.device_list_update EDUs (server-server API, "Device Management").

The device_lists stream itself is the devices domain's
(``services/devices/device_lists.py``). This module plugs into it:
- a local change (announced on ``device_list_changed`` with its positions)
  goes to every other server sharing a room with the user, one EDU per device
  carrying its keys, whose ``stream_id``/``prev_id`` chain lets that server
  notice a missed update;
- a remote update wakes the local users who share a room with its user, and
  is applied to the remote device list cache when it continues the chain the
  cache holds; otherwise (a gap, or a user new to us) the whole list is
  resynced in the background (``device_list_resync.py``).
"""

from __future__ import annotations

import logging

from homeserver.events.ids import domains_of, has_domain
from homeserver.federation.edus.device_list_resync import DeviceListResync, parse_device
from homeserver.federation.sender.sender import FederationSender
from homeserver.services.devices.device_lists import DeviceListTracker
from homeserver.signals import DeviceListChanged
from homeserver.storage.stores.device_lists import USER_ROW, DeviceListStore
from homeserver.storage.stores.devices import DeviceStore
from homeserver.storage.stores.e2e_keys import E2eKeyStore
from homeserver.storage.stores.remote_devices import RemoteDeviceStore
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background
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
        keys: local devices' keys (they go into the EDUs too).
        cache: the remote device list cache.
        resync: fetches a remote user's whole list.
    """

    def __init__(
        self,
        *,
        server_name: str,
        sender: FederationSender,
        tracker: DeviceListTracker,
        store: DeviceListStore,
        devices: DeviceStore,
        keys: E2eKeyStore,
        cache: RemoteDeviceStore,
        resync: DeviceListResync,
    ) -> None:
        self.server_name = server_name
        self.sender = sender
        self.tracker = tracker
        self.store = store
        self.devices = devices
        self.keys = keys
        self.cache = cache
        self.resync = resync
        self._outbound = Linearizer()

    async def on_local_change(self, change: DeviceListChanged) -> None:
        """``device_list_changed`` receiver: tell the other servers sharing a
        room with the user, one EDU per device, in the stream's order."""
        user_id = change.user_id
        servers = domains_of(change.audience) - {self.server_name}
        if not servers:
            return
        async with self._outbound.queue(user_id):
            for entry in change.changes:
                if entry.device_id == USER_ROW:
                    continue
                content = await self._content(user_id, entry.device_id, change.deleted)
                content["stream_id"] = entry.stream_id
                content["prev_id"] = [] if entry.prev_id is None else [entry.prev_id]
                logger.info(
                    "device list update for %s (%s) to %s",
                    user_id,
                    entry.device_id,
                    sorted(servers),
                )
                await self.sender.send_persistent_edu(servers, EDU_TYPE, content)

    async def _content(self, user_id: str, device_id: str, deleted: bool) -> JsonDict:
        content: JsonDict = {"user_id": user_id, "device_id": device_id}
        if deleted:
            content["deleted"] = True
            return content
        device = await self.devices.get_device(user_id, device_id)
        if device is None:
            content["deleted"] = True
            return content
        if device.display_name:
            content["device_display_name"] = device.display_name
        keys = await self.keys.get_device_keys(user_id, device_id)
        if keys is not None:
            content["keys"] = keys
        return content

    async def handle(self, origin: str, content: JsonDict) -> None:
        """An inbound m.device_list_update."""
        user_id = content.get("user_id")
        stream_id = content.get("stream_id")
        device = parse_device(content, user_id) if isinstance(user_id, str) else None
        if device is None or not isinstance(stream_id, int):
            logger.info("ignoring malformed m.device_list_update from %s", origin)
            return
        assert isinstance(user_id, str)
        if not has_domain(user_id, origin):
            logger.warning(
                "%s sent a device list update for %s: ignored", origin, user_id
            )
            return
        local = await self.resync.local_audience(user_id)
        if not local:
            logger.debug(
                "device list update for %s: no local user shares a room", user_id
            )
            return
        async with self.resync.linearizer.queue(user_id):
            known = await self.store.get_remote_stream_id(user_id)
            if known is not None and stream_id <= known:
                return  # already seen (or older)
            prev = content.get("prev_id")
            prev = prev if isinstance(prev, list) else []
            cached = user_id in await self.cache.get_cached_users([user_id])
            # The cache is right before anyone is woken to re-query it.
            if cached and known in prev:
                deleted = content.get("deleted") is True
                await self.cache.apply_update(user_id, stream_id, device, deleted)
                await self.tracker.remote_changed(user_id, [device.device_id], local)
                return
            # Stale until the resync: queries ask the user's server meanwhile.
            await self.cache.mark_stale(user_id, self.resync.clock.time_msec())
            await self.store.set_remote_stream_id(user_id, stream_id)
            await self.tracker.remote_changed(user_id, [device.device_id], local)
        logger.info(
            "device list of %s needs a resync (had %s, prev %s)", user_id, known, prev
        )
        run_in_background("device_list_resync", self.resync.resync(user_id))
