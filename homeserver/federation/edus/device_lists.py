"""m.device_list_update EDUs and the device_lists stream (server-server API,
"Device Management"; client-server API, ``device_lists`` in /sync).

A local device added, renamed or deleted takes a position on the
device_lists stream: local users sharing a room see the user in
``device_lists.changed``, and every other server sharing a room gets an
m.device_list_update whose ``stream_id``/``prev_id`` chain lets it notice a
missed update. Remote updates take a position too, for local users' /sync.
"""

from __future__ import annotations

import logging

from homeserver.events.ids import domains_of, has_domain
from homeserver.federation.sender.sender import FederationSender
from homeserver.storage.stores.device_lists import DeviceListStore
from homeserver.storage.stores.devices import DeviceStore
from homeserver.storage.stores.presence import PresenceStore
from homeserver.streams.notifier import Notifier
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background
from homeserver.util.linearizer import Linearizer

logger = logging.getLogger(__name__)

EDU_TYPE = "m.device_list_update"
STREAM = "device_lists"


class DeviceListEdus:
    """Tracks device list changes, sends and receives m.device_list_update.

    Args:
        server_name: this server.
        sender: the federation sender.
        store: the device_lists stream.
        devices: local devices (their changes are hooked here).
        co_members: who shares a room with whom.
        notifier: woken on the device_lists stream.
    """

    def __init__(
        self,
        server_name: str,
        sender: FederationSender,
        store: DeviceListStore,
        devices: DeviceStore,
        co_members: PresenceStore,
        notifier: Notifier,
    ) -> None:
        self.server_name = server_name
        self.sender = sender
        self.store = store
        self.devices = devices
        self.co_members = co_members
        self.notifier = notifier
        self._linearizer = Linearizer()
        devices.on_change.append(self.on_local_change)
        notifier.add_stream(STREAM, store.stream_ids.current_position)

    def current_position(self) -> int:
        """The device_lists stream's position."""
        return self.store.stream_ids.current_position()

    def on_local_change(
        self, user_id: str, device_ids: list[str], deleted: bool
    ) -> None:
        """DeviceStore listener."""
        run_in_background(
            "device_list_change", self._local_change(user_id, device_ids, deleted)
        )

    async def _local_change(
        self, user_id: str, device_ids: list[str], deleted: bool
    ) -> None:
        async with self._linearizer.queue(user_id):
            changes = await self.store.add_changes(user_id, device_ids)
            audience = await self.co_members.get_users_sharing_a_room([user_id])
            self.notifier.notify(STREAM, users=audience | {user_id})
            servers = domains_of(audience) - {self.server_name}
            if not servers:
                return
            for change in changes:
                content: JsonDict = {
                    "user_id": user_id,
                    "device_id": change.device_id,
                    "stream_id": change.stream_id,
                    "prev_id": [] if change.prev_id is None else [change.prev_id],
                }
                if deleted:
                    content["deleted"] = True
                else:
                    device = await self.devices.get_device(user_id, change.device_id)
                    if device is not None and device.display_name:
                        content["device_display_name"] = device.display_name
                logger.info(
                    "device list update for %s (%s) to %s",
                    user_id,
                    change.device_id,
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
            await self.store.add_changes(user_id, [device_id])
            await self.store.set_remote_stream_id(user_id, stream_id)
        self.notifier.notify(STREAM, users=local)

    # -- reads -----------------------------------------------------------------

    async def get_changed(self, user_id: str, since: int, upto: int) -> list[str]:
        """/sync source: users sharing a room with ``user_id`` (or the user)
        whose devices changed in (since, upto]."""
        if since >= upto:
            return []
        changed = await self.store.get_changed_users(since, upto)
        if not changed:
            return []
        visible = await self.co_members.get_users_sharing_a_room([user_id])
        return sorted(changed & (visible | {user_id}))

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
            "stream_id": await self.store.get_latest_stream_id(user_id),
            "devices": out,
        }
