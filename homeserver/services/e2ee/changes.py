"""GET /keys/changes: whose device lists changed between two sync tokens.

Spec: client-server API, "End-to-End Encryption" (GET /keys/changes): the
same ``changed`` and ``left`` that incremental /sync gives for the window.
"""

from __future__ import annotations

from typing import Protocol

from homeserver.streams.registry import DEVICE_LISTS
from homeserver.streams.tokens import StreamToken
from homeserver.types import JsonDict


class DeviceListChanges(Protocol):
    """The device_lists stream (the devices domain's tracker)."""

    async def get_changes(
        self,
        user_id: str,
        since: int,
        upto: int,
        events_since: int,
        events_upto: int,
    ) -> tuple[list[str], list[str]]:
        """(changed, left) in the window."""
        ...


class KeyChangesService:
    """Answers /keys/changes."""

    def __init__(self, device_lists: DeviceListChanges) -> None:
        self.device_lists = device_lists

    async def changes(
        self, user_id: str, since: StreamToken, upto: StreamToken
    ) -> JsonDict:
        """Users to re-query (``changed``) and to forget (``left``)."""
        changed, left = await self.device_lists.get_changes(
            user_id,
            since.get(DEVICE_LISTS.name),
            upto.get(DEVICE_LISTS.name),
            since.events,
            upto.events,
        )
        return {"changed": changed, "left": left}
