"""Send-to-device messaging.

Spec: client-server API, "Send-to-Device messaging". A message is stored
per recipient device with its own to_device stream position, delivered by
/sync in order of arrival (at most 100 per response), and deleted once the
device syncs with a later token, so each is delivered exactly once. A
repeated ``txnId`` from the same device is a no-op.

One request may address at most ``to_device.max_messages_per_request``
(user, device) entries and ``to_device.max_servers_per_request`` other servers
(413 M_TOO_LARGE past either); requests count against
``rate_limiting.to_device``, and servers never sent to before against
``rate_limiting.new_destinations`` (429). All are checked before anything is
stored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from homeserver.config.model import RateLimitConfig, ToDeviceConfig
from homeserver.errors import Codes, InvalidParam, MatrixError
from homeserver.services.accounts.auth import Requester
from homeserver.services.sync_data.stream_writers import ToDeviceBatch, ToDeviceWriter
from homeserver.signals import Signal, ToDeviceDelivered
from homeserver.storage.stores.device_inbox import DeviceInboxStore, OutgoingMessage
from homeserver.storage.stores.devices import DeviceStore
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import TO_DEVICE
from homeserver.types import JsonDict, UserID
from homeserver.util.clock import Clock
from homeserver.util.ports import Port
from homeserver.util.ratelimit import Ratelimiter

logger = logging.getLogger(__name__)

TO_DEVICE_STREAM = TO_DEVICE.name
ALL_DEVICES = "*"
MAX_TYPE_BYTES = 255
DEFAULT_LIMIT = 100


class RemoteToDevicePort(Protocol):
    """Delivers to-device messages to other servers' users (federation)."""

    async def admit(self, requester: Requester, servers: set[str]) -> None:
        """Refuse (429, 413) a request that would reach too many servers never
        sent to before, before anything is stored."""
        ...

    async def send(
        self, sender: str, event_type: str, messages: dict[str, dict[str, JsonDict]]
    ) -> None:
        """Queue ``messages`` (user ID -> device ID -> content) for their servers."""
        ...


class NoRemoteToDevice:
    """Federation off: messages for other servers' users are dropped."""

    async def admit(self, requester: Requester, servers: set[str]) -> None:
        return None

    async def send(
        self, sender: str, event_type: str, messages: dict[str, dict[str, JsonDict]]
    ) -> None:
        logger.debug("no federation: dropping to-device for %s", sorted(messages))


class ToDeviceService:
    """Queues to-device messages and hands them to /sync.

    Args:
        server_name: to tell local recipients from remote ones.
        store: the device inboxes.
        devices: to expand ``*`` and to skip unknown devices.
        notifier: woken for each recipient user.
        clock: for transaction-ID expiry.
        config: the per-request bounds.
        ratelimiter: for ``rates.to_device``.
        rates: the rate limits.
        delivered: emitted with the messages stored for local devices.
    """

    def __init__(
        self,
        *,
        server_name: str,
        store: DeviceInboxStore,
        devices: DeviceStore,
        notifier: Notifier,
        clock: Clock,
        config: ToDeviceConfig,
        ratelimiter: Ratelimiter,
        rates: RateLimitConfig,
        delivered: Signal[ToDeviceDelivered] | None = None,
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.devices = devices
        self.notifier = notifier
        self.clock = clock
        self.config = config
        self.ratelimiter = ratelimiter
        self.rates = rates
        self.delivered = delivered
        # Admits and sends messages for users of other servers (federation
        # plugs itself in).
        self.remote: Port[RemoteToDevicePort] = Port(NoRemoteToDevice())
        # The to-device stream's writer: here unless worker mode plugs another.
        self.writer: Port[ToDeviceWriter] = Port(_LocalToDevice(self))

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
        local: dict[str, dict[str, JsonDict]] = {}
        remote: dict[str, dict[str, JsonDict]] = {}
        for user_id, by_device in messages.items():
            is_local = UserID.parse(user_id).domain == self.server_name
            (local if is_local else remote)[user_id] = dict(by_device)
        servers = {UserID.parse(user_id).domain for user_id in remote}
        self._check_bounds(messages, servers)
        await self.ratelimiter.check_requester(
            "to_device", requester, self.rates.to_device
        )
        if servers:
            await self.remote.get().admit(requester, servers)
        outgoing = await self._local_messages(sender, event_type, local)
        added = await self.writer.get().store_messages(
            ToDeviceBatch(
                sender, requester.device_id, txn_id, outgoing, self.clock.time_msec()
            )
        )
        if added and remote:
            await self.remote.get().send(sender, event_type, remote)
        return {}

    def _stored(self, outgoing: list[OutgoingMessage]) -> None:
        recipients = sorted({m.user_id for m in outgoing})
        self.notifier.notify(TO_DEVICE_STREAM, users=recipients)
        if self.delivered is not None:
            self.delivered.emit(ToDeviceDelivered(tuple(outgoing)))

    def _check_bounds(
        self, messages: Mapping[str, Mapping[str, JsonDict]], servers: set[str]
    ) -> None:
        """413 M_TOO_LARGE for a request that addresses too much at once."""
        count = sum(len(by_device) for by_device in messages.values())
        if count > self.config.max_messages_per_request:
            raise MatrixError(
                413,
                f"A sendToDevice request may address at most "
                f"{self.config.max_messages_per_request} devices; this one "
                f"addresses {count}",
                Codes.TOO_LARGE,
            )
        if len(servers) > self.config.max_servers_per_request:
            raise MatrixError(
                413,
                f"A sendToDevice request may address users of at most "
                f"{self.config.max_servers_per_request} other servers; this one "
                f"addresses {len(servers)}",
                Codes.TOO_LARGE,
            )

    async def _local_messages(
        self,
        sender: str,
        event_type: str,
        messages: dict[str, dict[str, JsonDict]],
    ) -> list[OutgoingMessage]:
        """The messages for local users' devices (``*``: every device of the
        user); unknown users and devices are skipped. One query for all."""
        if not messages:
            return []
        devices = await self.devices.get_device_ids(messages)
        out: list[OutgoingMessage] = []
        for user_id, by_device in messages.items():
            known = devices.get(user_id, set())
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
        local = {
            user_id: by_device
            for user_id, by_device in messages.items()
            if UserID.parse(user_id).domain == self.server_name
        }
        outgoing = await self._local_messages(sender, event_type, local)
        origin_device = f"federation:{origin}"
        return await self.writer.get().store_messages(
            ToDeviceBatch(
                sender, origin_device, message_id, outgoing, self.clock.time_msec()
            )
        )

    async def store_messages_here(self, batch: ToDeviceBatch) -> bool:
        """Store checked messages here, on the to-device stream's writer
        (``ToDeviceWriter.store_messages``)."""
        added = await self.store.add_messages(
            batch.sender,
            batch.sender_device_id,
            batch.txn_id,
            batch.messages,
            batch.now_ms,
        )
        if added and batch.messages:
            self._stored(batch.messages)
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


class _LocalToDevice:
    """The null writer: messages are stored by this process."""

    def __init__(self, service: ToDeviceService) -> None:
        self.service = service

    async def store_messages(self, batch: ToDeviceBatch) -> bool:
        return await self.service.store_messages_here(batch)
