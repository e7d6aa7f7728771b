"""What the pushers need from other domains: the push actions (the eval
domain's ``PushActionsStore``, Contract 2 of issue 14) and the plugins'
``chatly_push`` hook (plugged in by the bind step; without plugins nobody
answers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from homeserver.types import JsonDict


class PushActionLike(Protocol):
    """One stored push action (``PushAction`` of the push actions store)."""

    @property
    def event_id(self) -> str: ...
    @property
    def room_id(self) -> str: ...
    @property
    def stream_ordering(self) -> int: ...
    @property
    def actions(self) -> list[Any]: ...


class PushActions(Protocol):
    """The push actions store, as pushers read it."""

    async def get_unread_push_actions(
        self, user_id: str, *, after: int, upto: int, limit: int
    ) -> Sequence[PushActionLike]:
        """Notifying actions in (after, upto] the user has not read, ascending."""

    async def badge_count(self, user_id: str, *, by_room: bool) -> int:
        """Rooms with unread notifications, or the total of them."""


class PushDeliveryHook(Protocol):
    """A plugin's in-process delivery (``chatly_push``)."""

    async def deliver(
        self,
        *,
        user_id: str,
        app_id: str,
        pushkey: str,
        kind: str,
        data: JsonDict,
        notification: JsonDict,
    ) -> bool | None:
        """True: delivered; False: the pushkey is rejected for good; None:
        no plugin took it (the server delivers it itself)."""


class NoPushPlugins:
    """No plugin delivers anything."""

    async def deliver(
        self,
        *,
        user_id: str,
        app_id: str,
        pushkey: str,
        kind: str,
        data: JsonDict,
        notification: JsonDict,
    ) -> bool | None:
        return None
