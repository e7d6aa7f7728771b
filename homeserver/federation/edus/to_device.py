"""m.direct_to_device EDUs (server-server API, "Send-to-device messaging")."""

from __future__ import annotations

import logging
import secrets

from homeserver.config.model import RateLimit
from homeserver.errors import Codes, MatrixError
from homeserver.events.ids import has_domain, try_domain_of
from homeserver.federation.sender.sender import FederationSender
from homeserver.services.accounts.auth import Requester
from homeserver.services.sync_data.to_device import ToDeviceService
from homeserver.types import JsonDict
from homeserver.util.ratelimit import Ratelimiter

logger = logging.getLogger(__name__)

EDU_TYPE = "m.direct_to_device"


class ToDeviceEdus:
    """Sends to-device messages for remote users; delivers inbound ones.

    Args:
        sender: the federation sender.
        to_device: the to-device service (delivers inbound messages; this
            class is its ``RemoteToDevicePort``).
        ratelimiter: for ``new_destinations``.
        new_destinations: ``rate_limiting.new_destinations``.
    """

    def __init__(
        self,
        sender: FederationSender,
        to_device: ToDeviceService,
        ratelimiter: Ratelimiter,
        new_destinations: RateLimit,
    ) -> None:
        self.sender = sender
        self.to_device = to_device
        self.ratelimiter = ratelimiter
        self.new_destinations = new_destinations

    async def admit(self, requester: Requester, servers: set[str]) -> None:
        """Refuse a request that would make this server contact too many
        servers it has never sent to (each such server costs one token of
        ``rate_limiting.new_destinations``), before anything is stored.

        Raises:
            MatrixError: 413 M_TOO_LARGE for more new servers than the burst
                allows at all; 429 M_LIMIT_EXCEEDED past the rate.
        """
        if requester.ratelimit_exempt or not self.ratelimiter.enabled:
            return
        wanted = {
            s
            for s in servers
            if s != self.sender.server_name and self.sender.allowed(s)
        }
        if not wanted:
            return
        new = wanted - await self.sender.store.known_destinations(wanted)
        if not new:
            return
        if len(new) > self.new_destinations.burst_count:
            raise MatrixError(
                413,
                f"A sendToDevice request may address users of at most "
                f"{self.new_destinations.burst_count} servers this server has "
                f"never sent to; this one addresses {len(new)}",
                Codes.TOO_LARGE,
            )
        await self.ratelimiter.check_requester(
            "new_destinations", requester, self.new_destinations, cost=len(new)
        )

    async def send(
        self, sender: str, event_type: str, messages: dict[str, dict[str, JsonDict]]
    ) -> None:
        """One EDU per destination server, stored until delivered."""
        by_server: dict[str, dict[str, dict[str, JsonDict]]] = {}
        for user_id, by_device in messages.items():
            domain = try_domain_of(user_id)
            if domain is not None:
                by_server.setdefault(domain, {})[user_id] = by_device
        for destination, part in sorted(by_server.items()):
            content = {
                "sender": sender,
                "type": event_type,
                "message_id": secrets.token_urlsafe(16),
                "messages": part,
            }
            await self.sender.send_persistent_edu([destination], EDU_TYPE, content)

    async def handle(self, origin: str, content: JsonDict) -> None:
        """An inbound m.direct_to_device EDU; a repeated message_id is ignored."""
        sender = content.get("sender")
        event_type = content.get("type")
        message_id = content.get("message_id")
        messages = content.get("messages")
        if (
            not isinstance(sender, str)
            or not isinstance(event_type, str)
            or not isinstance(message_id, str)
            or not isinstance(messages, dict)
        ):
            logger.info("ignoring malformed m.direct_to_device from %s", origin)
            return
        if not has_domain(sender, origin):
            logger.warning("%s sent to-device as %s: ignored", origin, sender)
            return
        clean = {
            user_id: {d: c for d, c in by_device.items() if isinstance(c, dict)}
            for user_id, by_device in messages.items()
            if isinstance(user_id, str) and isinstance(by_device, dict)
        }
        await self.to_device.deliver_remote(
            origin, sender, event_type, message_id, clean
        )
