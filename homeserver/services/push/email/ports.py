"""What email pushers need from the other parts of push (Protocols, so this
package depends on their shapes, not their modules): the stored push
actions (issue 14's Contract 2) and the pusher pool (Contract 3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from homeserver.util.clock import Clock


class PushActionLike(Protocol):
    """One stored notification (``PushAction`` of the push actions store)."""

    @property
    def event_id(self) -> str: ...
    @property
    def room_id(self) -> str: ...
    @property
    def stream_ordering(self) -> int: ...
    @property
    def received_ts(self) -> int: ...


class UnreadActions(Protocol):
    """The push actions store."""

    async def get_unread_push_actions(
        self, user_id: str, *, after: int, upto: int, limit: int
    ) -> Sequence[PushActionLike]:
        """Notifying actions in (after, upto] the user has not read, oldest
        first."""


class PusherLike(Protocol):
    """A stored pusher (``PusherRecord``)."""

    @property
    def id(self) -> int: ...
    @property
    def user_id(self) -> str: ...
    @property
    def app_id(self) -> str: ...
    @property
    def pushkey(self) -> str: ...
    @property
    def last_stream_ordering(self) -> int: ...


class RunnerHost(Protocol):
    """What a runner may ask of the pusher pool (``PusherHost``)."""

    clock: Clock

    async def save_progress(
        self,
        record: Any,
        *,
        last_stream_ordering: int,
        failing_since: int | None,
        last_success_ts: int | None = None,
    ) -> bool:
        """Save the position durably; False when the pusher is gone."""
