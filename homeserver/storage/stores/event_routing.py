"""Where an event is persisted: here, or on its room's event persister.

With several processes (docs/architecture.md, "Workers") the events stream
has writers chosen per room; every other process builds and checks events as
usual, then hands them to the writer of their room. ``EventPersister`` asks
its ``route`` port first, in the one place an event is persisted, so every
path (local sends, federation ingest, backfill, outliers of a join) goes the
same way. The null route keeps everything here (one process).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import attrs

if TYPE_CHECKING:
    from homeserver.events.model import Event
    from homeserver.storage.stores.event_persistence import (
        EventContext,
        PersistedEvent,
    )


@attrs.frozen
class EventWrite:
    """One event to persist, as ``EventPersister.persist_event`` takes it."""

    event: Event
    context: EventContext
    device_id: str | None = None
    txn_id: str | None = None
    backfilled: bool = False


class EventWriteRoute(Protocol):
    """Sends events of rooms this process does not write to their writer."""

    def is_local(self, room_id: str) -> bool:
        """Whether this process persists the room's events."""

    async def persist_remotely(self, write: EventWrite) -> PersistedEvent:
        """Have the room's writer persist ``write.event``; where it landed.

        Raises:
            MatrixError: 503 (retryable) when the writer cannot be reached;
                nothing is written here either way.
        """

    async def persist_outliers_remotely(self, events: Sequence[Event]) -> None:
        """Have the writer of their room store these outliers (one room)."""


class LocalEventWrites:
    """The null route: this process writes every room."""

    def is_local(self, room_id: str) -> bool:
        return True

    async def persist_remotely(self, write: EventWrite) -> PersistedEvent:
        raise AssertionError("every room is written here")

    async def persist_outliers_remotely(self, events: Sequence[Event]) -> None:
        raise AssertionError("every room is written here")
