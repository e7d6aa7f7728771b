"""End-to-end encryption keys between servers.

Spec: server-server API, "End-to-End Encryption" (POST
/_matrix/federation/v1/user/keys/query and /user/keys/claim) and "Device
Management" (GET /_matrix/federation/v1/user/devices/{userId}).
``FederationUserKeys`` answers other servers about our users;
``RemoteUserKeys`` (the e2ee domain's ``RemoteKeysPort``) asks them about
theirs, serving users whose device list is cached from the cache.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

from homeserver.events.ids import has_domain
from homeserver.federation.errors import HttpResponseError, RequestSendFailed
from homeserver.federation.interfaces import FederationTransport
from homeserver.services.e2ee.ports import RemoteKeysUnavailable
from homeserver.services.e2ee.query import KeyQueryService
from homeserver.storage.stores.cross_signing import CrossSigningStore
from homeserver.storage.stores.devices import DeviceStore
from homeserver.storage.stores.remote_devices import RemoteDeviceStore
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)

QUERY_PATH = "/_matrix/federation/v1/user/keys/query"
CLAIM_PATH = "/_matrix/federation/v1/user/keys/claim"
DEVICES_PATH = "/_matrix/federation/v1/user/devices/"
PUBLIC_CROSS_SIGNING = {"master": "master_keys", "self_signing": "self_signing_keys"}


class DevicePositions(Protocol):
    """The device_lists stream (the devices domain's tracker)."""

    async def latest_position(self, user_id: str) -> int:
        """The user's newest position (the m.device_list_update chain's)."""
        ...


class Resyncer(Protocol):
    """Fills the remote device list cache (edus/device_list_resync.py)."""

    def start_if_shared(self, user_ids: list[str]) -> None:
        """Resync those who share a room with our users, in the background."""
        ...


class FederationUserKeys:
    """Answers other servers' key queries, claims and device list fetches.

    Args:
        server_name: this server.
        query: the key query service (local users' keys).
        devices: local devices (their names).
        positions: the device_lists stream, for user/devices' ``stream_id``.
    """

    def __init__(
        self,
        *,
        server_name: str,
        query: KeyQueryService,
        devices: DeviceStore,
        positions: DevicePositions,
    ) -> None:
        self.server_name = server_name
        self.query = query
        self.devices = devices
        self.positions = positions

    def _ours(self, by_user: Mapping[str, Any]) -> dict[str, Any]:
        return {u: v for u, v in by_user.items() if has_domain(u, self.server_name)}

    async def query_keys(self, device_keys: Mapping[str, list[str]]) -> JsonDict:
        """user/keys/query: our users' device keys, master and self-signing
        keys (never a user-signing key)."""
        return await self.query.query_local(self._ours(device_keys), None)

    async def claim_keys(
        self, one_time_keys: Mapping[str, Mapping[str, str]]
    ) -> JsonDict:
        """user/keys/claim: one key per device asked for."""
        answer = await self.query.claim(self._ours(one_time_keys), None)
        return {"one_time_keys": answer["one_time_keys"]}

    async def user_devices(self, user_id: str) -> JsonDict:
        """user/devices/{userId}: every device, with keys where uploaded.

        The position is read first: a change landing while the devices are
        read can then only make the answer newer than its ``stream_id`` (the
        receiver applies that change's update again, harmlessly), never
        older (it would drop the update as already seen and keep a stale
        device list).
        """
        stream_id = await self.positions.latest_position(user_id)
        local = await self.query.query_local({user_id: []}, None)
        keyed = local["device_keys"].get(user_id, {})
        out = []
        for device in await self.devices.get_devices(user_id):
            entry: JsonDict = {"device_id": device.device_id}
            if device.display_name:
                entry["device_display_name"] = device.display_name
            if device.device_id in keyed:
                keys = dict(keyed[device.device_id])
                keys.pop("unsigned", None)
                entry["keys"] = keys
            out.append(entry)
        body: JsonDict = {
            "user_id": user_id,
            "stream_id": stream_id,
            "devices": out,
        }
        for key_type, field in PUBLIC_CROSS_SIGNING.items():
            key = local.get(field, {}).get(user_id)
            if key is not None:
                body[f"{key_type}_key"] = key
        return body


class RemoteUserKeys:
    """Asks other servers for their users' keys (RemoteKeysPort).

    Args:
        transport: signed requests to other servers.
        cache: the remote device list cache.
        cross_signing: cross-signing keys (remote users' from the cache).
        resync: starts caching users asked about who share a room with ours.
    """

    def __init__(
        self,
        *,
        transport: FederationTransport,
        cache: RemoteDeviceStore,
        cross_signing: CrossSigningStore,
        resync: Resyncer,
    ) -> None:
        self.transport = transport
        self.cache = cache
        self.cross_signing = cross_signing
        self.resync = resync

    async def query_keys(
        self, destination: str, device_keys: dict[str, list[str]], timeout_ms: int
    ) -> JsonDict:
        cached = await self.cache.get_cached_users(device_keys)
        answer = await self._from_cache({u: device_keys[u] for u in cached})
        uncached = {u: d for u, d in device_keys.items() if u not in cached}
        if uncached:
            fetched = await self._post(
                destination, QUERY_PATH, {"device_keys": uncached}, timeout_ms
            )
            for field in ("device_keys", *PUBLIC_CROSS_SIGNING.values()):
                part = fetched.get(field)
                if isinstance(part, dict):
                    answer[field].update(part)
            self.resync.start_if_shared(sorted(uncached))
        return answer

    async def claim_keys(
        self,
        destination: str,
        one_time_keys: dict[str, dict[str, str]],
        timeout_ms: int,
    ) -> JsonDict:
        return await self._post(
            destination, CLAIM_PATH, {"one_time_keys": one_time_keys}, timeout_ms
        )

    async def _post(
        self, destination: str, path: str, body: JsonDict, timeout_ms: int
    ) -> JsonDict:
        try:
            answer = await self.transport.post_json(
                destination, path, body, timeout_ms=timeout_ms
            )
        except (HttpResponseError, RequestSendFailed) as exc:
            raise RemoteKeysUnavailable(str(exc)) from None
        if not isinstance(answer, dict):
            raise RemoteKeysUnavailable("The answer is not a JSON object")
        return answer

    async def _from_cache(self, wanted: Mapping[str, list[str]]) -> JsonDict:
        answer: JsonDict = {
            "device_keys": {},
            **{field: {} for field in PUBLIC_CROSS_SIGNING.values()},
        }
        if not wanted:
            return answer
        for user_id, devices in (await self.cache.get_devices(wanted)).items():
            mine = answer["device_keys"].setdefault(user_id, {})
            for device in devices:
                if device.keys is None or (
                    wanted[user_id] and device.device_id not in wanted[user_id]
                ):
                    continue
                keys = dict(device.keys)
                name = device.display_name
                keys["unsigned"] = {"device_display_name": name} if name else {}
                mine[device.device_id] = keys
        for user_id in wanted:
            answer["device_keys"].setdefault(user_id, {})
        stored = await self.cross_signing.get_keys(wanted, tuple(PUBLIC_CROSS_SIGNING))
        for user_id, keys in stored.items():
            for key_type, field in PUBLIC_CROSS_SIGNING.items():
                if key_type in keys:
                    answer[field][user_id] = keys[key_type]
        return answer


def user_devices_path(user_id: str) -> str:
    """The path of GET user/devices for ``user_id``."""
    return DEVICES_PATH + quote(user_id, safe="")
