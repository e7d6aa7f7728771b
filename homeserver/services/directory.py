"""Room aliases and directory visibility.

Spec: client-server API, "Room aliases", "Listing rooms".
"""

from __future__ import annotations

import re

from homeserver.errors import Codes, MatrixError, NotFound
from homeserver.storage.stores.directory import DirectoryStore
from homeserver.util.clock import Clock

_ALIAS = re.compile(r"^#[^:\s]+:[^\s]+$")
MAX_ALIAS_LENGTH = 255


class DirectoryService:
    """Creates, resolves and removes aliases; publishes rooms."""

    def __init__(self, server_name: str, store: DirectoryStore, clock: Clock) -> None:
        self.server_name = server_name
        self.store = store
        self.clock = clock

    def validate_alias(self, alias: str) -> None:
        """400 M_INVALID_PARAM unless ``alias`` is a well-formed local alias."""
        if not _ALIAS.match(alias) or len(alias.encode()) > MAX_ALIAS_LENGTH:
            raise MatrixError(400, f"Invalid room alias {alias!r}", Codes.INVALID_PARAM)
        if alias.split(":", 1)[1] != self.server_name:
            raise MatrixError(400, "Room alias must be on this server", Codes.INVALID_PARAM)

    async def check_alias_available(self, alias: str) -> None:
        """For createRoom: 400 M_INVALID_PARAM / M_ROOM_IN_USE."""
        self.validate_alias(alias)
        if await self.store.get_alias(alias) is not None:
            raise MatrixError(400, "Room alias already taken", Codes.ROOM_IN_USE)

    async def create_alias(self, alias: str, room_id: str, creator: str) -> None:
        """Point ``alias`` at ``room_id``; 409 if it exists."""
        self.validate_alias(alias)
        if not await self.store.insert_alias(alias, room_id, creator, self.clock.time_msec()):
            raise MatrixError(409, "Room alias already exists", Codes.UNKNOWN)

    async def resolve_alias(self, alias: str) -> str:
        """The room an alias points at; 404 M_NOT_FOUND if none."""
        found = await self.store.get_alias(alias)
        if found is None:
            raise NotFound(f"Room alias {alias} not found")
        return found[0]

    async def set_visibility_unchecked(self, room_id: str, public: bool) -> None:
        """Publish or unpublish without permission checks (createRoom)."""
        await self.store.set_room_public(room_id, public)
