"""m.signing_key_update EDUs (server-server API, "End-to-End Encryption":
"Cross-signing").

A local user's new master or self-signing key goes to every server sharing a
room with them; another server's update for its user goes into our cache of
remote cross-signing keys and wakes the local users who share a room.
"""

from __future__ import annotations

import logging

from homeserver.events.ids import domains_of, has_domain
from homeserver.federation.edus.device_list_resync import DeviceListResync
from homeserver.federation.sender.sender import FederationSender
from homeserver.services.devices.device_lists import CoMembers, DeviceListTracker
from homeserver.services.e2ee.query import KeyQueryService
from homeserver.signals import CrossSigningChanged
from homeserver.storage.stores.device_lists import USER_ROW
from homeserver.storage.stores.remote_devices import RemoteDeviceStore
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)

EDU_TYPE = "m.signing_key_update"
KEY_FIELDS = {"master_key": "master", "self_signing_key": "self_signing"}


class SigningKeyEdus:
    """Sends and receives m.signing_key_update.

    Args:
        server_name: this server.
        sender: the federation sender.
        query: local users' keys, as other servers see them.
        co_members: who shares a room with whom.
        cache: remote users' keys.
        tracker: the device_lists stream.
        resync: the remote-audience lookup and per-user queue.
    """

    def __init__(
        self,
        *,
        server_name: str,
        sender: FederationSender,
        query: KeyQueryService,
        co_members: CoMembers,
        cache: RemoteDeviceStore,
        tracker: DeviceListTracker,
        resync: DeviceListResync,
    ) -> None:
        self.server_name = server_name
        self.sender = sender
        self.query = query
        self.co_members = co_members
        self.cache = cache
        self.tracker = tracker
        self.resync = resync

    async def on_cross_signing_changed(self, change: CrossSigningChanged) -> None:
        """``cross_signing_changed`` receiver: our user's public keys changed."""
        if change.signed_users:
            return  # user-signing signatures stay on this server
        user_id = change.user_id
        audience = await self.co_members.get_users_sharing_a_room([user_id])
        servers = domains_of(audience) - {self.server_name}
        if not servers:
            return
        keys = await self.query.query_local({user_id: []}, None)
        content: JsonDict = {"user_id": user_id}
        for field, key_type in KEY_FIELDS.items():
            key = keys.get(f"{key_type}_keys", {}).get(user_id)
            if key is not None:
                content[field] = key
        logger.info("signing key update for %s to %s", user_id, sorted(servers))
        await self.sender.send_persistent_edu(servers, EDU_TYPE, content)

    async def handle(self, origin: str, content: JsonDict) -> None:
        """An inbound m.signing_key_update."""
        user_id = content.get("user_id")
        if not isinstance(user_id, str) or not has_domain(user_id, origin):
            logger.info("ignoring m.signing_key_update from %s", origin)
            return
        keys = {
            key_type: content[field]
            for field, key_type in KEY_FIELDS.items()
            if isinstance(content.get(field), dict)
            and content[field].get("user_id") == user_id
        }
        local = await self.resync.local_audience(user_id)
        if not keys or not local:
            return
        async with self.resync.linearizer.queue(user_id):
            await self.cache.set_cross_signing(user_id, keys)
            await self.tracker.remote_changed(user_id, [USER_ROW], local)
