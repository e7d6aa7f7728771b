"""Send-to-device messaging.

Spec: client-server API, "Send-to-Device messaging". A message is stored
per recipient device with its own to_device stream position, delivered by
/sync in order of arrival (at most 100 per response), and deleted once the
device syncs with a later token, so each is delivered exactly once. A
repeated ``txnId`` from the same device is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from homeserver.errors import InvalidParam
from homeserver.services.accounts.auth import Requester
from homeserver.storage.stores.device_inbox import DeviceInboxStore, OutgoingMessage
from homeserver.storage.stores.devices import DeviceStore
from homeserver.streams.notifier import Notifier
from homeserver.types import JsonDict, UserID
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

TO_DEVICE_STREAM = "to_device"
ALL_DEVICES = "*"
MAX_TYPE_BYTES = 255
DEFAULT_LIMIT = 100
RemoteSender = Callable[[str, str, dict[str, dict[str, JsonDict]]], Awaitable[None]]


class ToDeviceService:
    """Queues to-device messages and hands them to /sync.

    Args:
        server_name: to tell local recipients from remote ones.
        store: the device inboxes.
        devices: to expand ``*`` and to skip unknown devices.
        notifier: woken for each recipient user.
        clock: for transaction-ID expiry.
    """

    def __init__(
        self,
        server_name: str,
        store: DeviceInboxStore,
        devices: DeviceStore,
        notifier: Notifier,
        clock: Clock,
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.devices = devices
        self.notifier = notifier
        self.clock = clock
        # Sends messages for users of other servers: (sender, type,
        # user ID -> device ID -> content). Set by the federation sender.
        self.remote_sender: RemoteSender | None = None

    async def send_to_device(
        self,
        requester: Requester,
        event_type: str,
        txn_id: str,
        messages: Mapping[str, Mapping[str, JsonDict]],
    ) -> JsonDict:
        """PUT /sendToDevice/{eventType}/{txnId}.

        Args:
            requester: the sender.
            event_type: the messages' type.
            txn_id: the client's transaction ID (a repeat is ignored).
            messages: user ID -> device ID (or ``*``) -> content.

        Raises:
            InvalidParam: the type is too long, or a key of ``messages`` is
                not a user ID (Synapse answers 400 too).
        """
        if len(event_type.encode()) > MAX_TYPE_BYTES:
            raise InvalidParam("Event type is too long")
        for user_id in messages:
            UserID.parse(user_id)
        sender = requester.user_id
        outgoing: list[OutgoingMessage] = []
        remote: dict[str, dict[str, JsonDict]] = {}
        for user_id, by_device in messages.items():
            if UserID.parse(user_id).domain != self.server_name:
                remote[user_id] = dict(by_device)
                continue
            outgoing += await self._local_messages(
                sender, event_type, user_id, by_device
            )
        added = await self.store.add_messages(
            sender, requester.device_id, txn_id, outgoing, self.clock.time_msec()
        )
        if added and outgoing:
            recipients = sorted({m.user_id for m in outgoing})
            self.notifier.notify(TO_DEVICE_STREAM, users=recipients)
        if added and remote:
            if self.remote_sender is None:
                logger.debug("no federation: dropping to-device for %s", sorted(remote))
            else:
                await self.remote_sender(sender, event_type, remote)
        return {}

    async def _local_messages(
        self,
        sender: str,
        event_type: str,
        user_id: str,
        by_device: Mapping[str, JsonDict],
    ) -> list[OutgoingMessage]:
        """The messages for a local user's devices (``*``: every device);
        unknown devices are skipped."""
        known = {d.device_id for d in await self.devices.get_devices(user_id)}
        out: list[OutgoingMessage] = []
        for device_id, content in by_device.items():
            targets = sorted(known) if device_id == ALL_DEVICES else [device_id]
            message = {"type": event_type, "sender": sender, "content": content}
            out += [
                OutgoingMessage(user_id, target, message)
                for target in targets
                if target in known
            ]
        return out

    async def deliver_remote(
        self,
        origin: str,
        sender: str,
        event_type: str,
        message_id: str,
        messages: dict[str, dict[str, JsonDict]],
    ) -> bool:
        """Deliver an m.direct_to_device EDU to local devices, once per
        (origin, message_id). Recipients on other servers are ignored.

        Returns:
            False if that message_id was already delivered.
        """
        outgoing: list[OutgoingMessage] = []
        for user_id, by_device in messages.items():
            if UserID.parse(user_id).domain != self.server_name:
                continue
            outgoing += await self._local_messages(
                sender, event_type, user_id, by_device
            )
        added = await self.store.add_messages(
            sender, f"federation:{origin}", message_id, outgoing, self.clock.time_msec()
        )
        if added and outgoing:
            recipients = sorted({m.user_id for m in outgoing})
            self.notifier.notify(TO_DEVICE_STREAM, users=recipients)
        return added

    # -- for /sync ----------------------------------------------------------

    async def get_to_device(
        self,
        user_id: str,
        device_id: str,
        since: int,
        upto: int,
        limit: int = DEFAULT_LIMIT,
    ) -> tuple[list[JsonDict], int]:
        """A device's messages with positions in (since, upto], oldest first.

        Args:
            since: the client's to_device position (0 for an initial sync).
            upto: the position the response is built at.
            limit: at most this many messages.

        Returns:
            ``({type, sender, content}`` messages, the position reached)``: ``upto``
            when every message up to it was returned, else the position of the
            last message returned, which the next_batch token should carry.
        """
        limit = max(1, limit)
        found = await self.store.get_messages(
            user_id, device_id, since, upto, limit + 1
        )
        if len(found) > limit:
            found = found[:limit]
            return [m.message for m in found], found[-1].stream_id
        return [m.message for m in found], upto

    async def delete_to_device_up_to(
        self, user_id: str, device_id: str, position: int
    ) -> None:
        """Forget a device's messages at or below ``position``: the client has
        synced with a token past them, so it has them."""
        await self.store.delete_messages_up_to(user_id, device_id, position)
