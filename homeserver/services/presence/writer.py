"""The port for presence writes: the presence stream has one writer process.

The writer holds every online user's state in memory, runs the idle and
offline timeouts and takes the presence stream's positions; any other process
(a client reader serving /sync) checks a request where it arrives and hands
the change to the writer through this port (docs/architecture.md, "Workers").
The null implementation (``PresenceService``'s own) writes here.
"""

from __future__ import annotations

from typing import Protocol

from homeserver.storage.stores.presence import UserPresence


class PresenceWriter(Protocol):
    """The presence changes, made on the presence writer.

    Each raises ``MatrixError`` 503 (retryable) when the writer cannot be
    reached; the caller has changed nothing.
    """

    async def set_status(
        self, user_id: str, presence: str, status_msg: str | None
    ) -> None:
        """PUT /presence/{userId}/status, checked."""

    async def user_syncing(self, user_id: str, set_presence: str | None) -> None:
        """A /sync request or socket of the user started somewhere."""

    async def user_stopped_syncing(
        self, user_id: str, set_presence: str | None
    ) -> None:
        """That request or socket ended."""

    async def bump_activity(self, user_id: str) -> None:
        """The user did something."""

    async def apply_remote_presence(self, states: list[UserPresence]) -> None:
        """Presence another server sent us."""
