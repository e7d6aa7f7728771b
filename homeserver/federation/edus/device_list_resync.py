"""Resyncing a remote user's whole device list into the cache.

Spec: server-server API, "Device Management": when an m.device_list_update's
``prev_id`` names an update we never had, or the user is new to us, fetch
GET /_matrix/federation/v1/user/devices/{userId} and start over from its
``stream_id``. A user whose resync fails stays stale: their keys are asked
of their server directly until a later update or query resyncs them.
"""

from __future__ import annotations

import logging
from typing import Any

from homeserver.events.ids import has_domain
from homeserver.federation.errors import HttpResponseError, RequestSendFailed
from homeserver.federation.interfaces import FederationTransport
from homeserver.federation.serving.user_keys import user_devices_path
from homeserver.services.devices.device_lists import CoMembers, DeviceListTracker
from homeserver.storage.stores.device_lists import USER_ROW
from homeserver.storage.stores.remote_devices import RemoteDevice, RemoteDeviceStore
from homeserver.types import JsonDict, UserID
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock
from homeserver.util.linearizer import Linearizer

logger = logging.getLogger(__name__)

RESYNC_TIMEOUT_MS = 30_000
MAX_DEVICES = 1000


class DeviceListResync:
    """Fetches remote users' device lists.

    Args:
        server_name: this server.
        transport: signed requests to other servers.
        cache: the remote device list cache.
        tracker: the device_lists stream (local users are told).
        co_members: who shares a room with whom.
        clock: for the stale marks.
        linearizer: the per-user queue shared with inbound updates.
    """

    def __init__(
        self,
        *,
        server_name: str,
        transport: FederationTransport,
        cache: RemoteDeviceStore,
        tracker: DeviceListTracker,
        co_members: CoMembers,
        clock: Clock,
        linearizer: Linearizer,
    ) -> None:
        self.server_name = server_name
        self.transport = transport
        self.cache = cache
        self.tracker = tracker
        self.co_members = co_members
        self.clock = clock
        self.linearizer = linearizer
        self._running: set[str] = set()

    async def local_audience(self, user_id: str) -> set[str]:
        """Our users who share a room with ``user_id``."""
        audience = await self.co_members.get_users_sharing_a_room([user_id])
        return {u for u in audience if has_domain(u, self.server_name)}

    def start_if_shared(self, user_ids: list[str]) -> None:
        """Resync, in the background, those of ``user_ids`` who share a room
        with one of our users (so that their keys are cached from now on)."""
        for user_id in user_ids:
            if user_id not in self._running:
                run_in_background("device_list_resync", self._resync_if_shared(user_id))

    async def _resync_if_shared(self, user_id: str) -> None:
        if await self.local_audience(user_id):
            await self.resync(user_id)

    async def resync(self, user_id: str) -> bool:
        """Fetch and cache the user's devices; whether it worked."""
        self._running.add(user_id)
        try:
            return await self._resync(user_id)
        finally:
            self._running.discard(user_id)

    async def _resync(self, user_id: str) -> bool:
        async with self.linearizer.queue(user_id):
            await self.cache.mark_stale(user_id, self.clock.time_msec())
            domain = UserID.parse(user_id).domain
            try:
                answer = await self.transport.get_json(
                    domain, user_devices_path(user_id), timeout_ms=RESYNC_TIMEOUT_MS
                )
            except (HttpResponseError, RequestSendFailed) as exc:
                logger.info("device list resync of %s failed: %s", user_id, exc)
                return False
            parsed = _parse(answer, user_id)
            if parsed is None:
                logger.warning(
                    "bad user/devices answer for %s from %s", user_id, domain
                )
                return False
            stream_id, devices, cross_signing = parsed
            await self.cache.replace_user(user_id, stream_id, devices, cross_signing)
            audience = await self.local_audience(user_id)
            await self.tracker.remote_changed(user_id, [USER_ROW], audience)
            logger.info("resynced %d devices of %s", len(devices), user_id)
            return True


def _parse(
    answer: Any, user_id: str
) -> tuple[int, list[RemoteDevice], dict[str, JsonDict]] | None:
    if not isinstance(answer, dict) or answer.get("user_id") != user_id:
        return None
    stream_id = answer.get("stream_id")
    devices = answer.get("devices")
    if not isinstance(stream_id, int) or not isinstance(devices, list):
        return None
    out = []
    for entry in devices[:MAX_DEVICES]:
        device = parse_device(entry, user_id)
        if device is not None:
            out.append(device)
    cross_signing = {
        key_type: answer[f"{key_type}_key"]
        for key_type in ("master", "self_signing")
        if _is_users_key(answer.get(f"{key_type}_key"), user_id)
    }
    return stream_id, out, cross_signing


def parse_device(entry: Any, user_id: str) -> RemoteDevice | None:
    """One device of user/devices (or an m.device_list_update): its keys are
    kept only if they are the user's and the device's."""
    if not isinstance(entry, dict) or not isinstance(entry.get("device_id"), str):
        return None
    device_id = entry["device_id"]
    name = entry.get("device_display_name")
    keys = entry.get("keys")
    if not (
        isinstance(keys, dict)
        and keys.get("user_id") == user_id
        and keys.get("device_id") == device_id
    ):
        keys = None
    return RemoteDevice(device_id, name if isinstance(name, str) else None, keys)


def _is_users_key(key: Any, user_id: str) -> bool:
    return isinstance(key, dict) and key.get("user_id") == user_id
