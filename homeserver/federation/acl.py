"""Enforcing a room's server ACL on inbound federation traffic.

Spec: server-server-api "Server Access Control Lists (ACLs)": a denied server
gets 403 M_FORBIDDEN on every room-scoped endpoint, and its PDUs and room EDUs
in /send are ignored.
"""

from __future__ import annotations

import logging

from homeserver.errors import Forbidden
from homeserver.events.model import EventTypes
from homeserver.events.server_acl import ServerAcl
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore

logger = logging.getLogger(__name__)


class ServerAclChecker:
    """Checks servers against the ``m.room.server_acl`` in a room's current state."""

    def __init__(self, room_state: RoomStateStore, events: EventStore) -> None:
        self.room_state = room_state
        self.events = events
        self._parsed: dict[str, ServerAcl] = {}

    async def is_allowed(self, server_name: str, room_id: str) -> bool:
        """Whether ``server_name`` may take part in ``room_id`` right now."""
        acl_id = await self.room_state.get_current_state_event_id(
            room_id, EventTypes.SERVER_ACL, ""
        )
        if acl_id is None:
            return True
        acl = self._parsed.get(acl_id)
        if acl is None:
            event = await self.events.get_event(acl_id)
            if event is None:
                return True
            acl = ServerAcl.from_content(event.content)
            if len(self._parsed) > 1000:
                self._parsed.clear()
            self._parsed[acl_id] = acl
        return acl.server_allowed(server_name)

    async def check(self, server_name: str, room_id: str) -> None:
        """Raise 403 M_FORBIDDEN if the room's ACL denies ``server_name``."""
        if not await self.is_allowed(server_name, room_id):
            logger.warning(
                "server ACL of %s denies %s: request refused", room_id, server_name
            )
            raise Forbidden("Server is banned from this room")
