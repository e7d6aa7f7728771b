"""m.typing EDUs (server-server API, "Typing Notifications")."""

from __future__ import annotations

import logging

from homeserver.events.ids import has_domain
from homeserver.federation.sender.sender import FederationSender
from homeserver.services.rooms.room_permissions import RoomPermissions
from homeserver.services.sync_data.typing import TypingService
from homeserver.signals import TypingChanged
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background

logger = logging.getLogger(__name__)

EDU_TYPE = "m.typing"
# How long a remote user counts as typing without a renewal (their server
# sends typing: false when they stop; this covers a lost one).
REMOTE_TIMEOUT_MS = 60_000


class TypingEdus:
    """Forwards local typing to the room's other servers; applies remote typing.

    Args:
        server_name: this server.
        sender: the federation sender.
        typing: the typing service.
        permissions: to check a remote typist is joined.
    """

    def __init__(
        self,
        *,
        server_name: str,
        sender: FederationSender,
        typing: TypingService,
        permissions: RoomPermissions,
    ) -> None:
        self.server_name = server_name
        self.sender = sender
        self.typing = typing
        self.permissions = permissions

    def on_typing(self, change: TypingChanged) -> None:
        """``typing_changed`` receiver: forward a local user's change."""
        if not has_domain(change.user_id, self.server_name) or not self.sender.enabled:
            return
        run_in_background(
            "federation_typing",
            self._send(change.room_id, change.user_id, change.typing),
        )

    async def _send(self, room_id: str, user_id: str, typing: bool) -> None:
        servers = await self.sender.servers_in_rooms([room_id])
        content = {"room_id": room_id, "user_id": user_id, "typing": typing}
        self.sender.send_edu(servers, EDU_TYPE, content)

    async def handle(self, origin: str, content: JsonDict) -> None:
        """An inbound m.typing EDU."""
        room_id = content.get("room_id")
        user_id = content.get("user_id")
        typing = content.get("typing")
        if not isinstance(room_id, str) or not isinstance(user_id, str):
            logger.info("ignoring malformed m.typing from %s", origin)
            return
        if not has_domain(user_id, origin):
            logger.warning("%s sent m.typing for %s: ignored", origin, user_id)
            return
        if not await self.permissions.is_joined(room_id, user_id):
            logger.info("m.typing from %s: %s is not in %s", origin, user_id, room_id)
            return
        if typing is True:
            self.typing.started_typing(room_id, user_id, REMOTE_TIMEOUT_MS)
        else:
            self.typing.stopped_typing(room_id, user_id)
