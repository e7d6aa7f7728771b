"""The one place that chooses which related events a user gets back.

GET /relations, GET /threads and every bundled aggregation (edits, thread
summaries and counts, references) pass the events they found through
``RelatedEventsViewer.choose``. History visibility applies here, and the
``EventHider`` port lets a per-user filter (ignored users, events deleted
for me) drop more; nothing else in this package decides what a user sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from homeserver.events.model import Event
from homeserver.services.reading.visibility import VisibilityService
from homeserver.util.ports import Port


class EventHider(Protocol):
    """Drops, for one user, events they asked not to see."""

    async def hide(self, user_id: str, events: Sequence[Event]) -> list[Event]:
        """``events`` without the ones ``user_id`` must not get, in order."""
        ...


class HideNothing:
    """No per-user hiding: every visible event is shown."""

    async def hide(self, user_id: str, events: Sequence[Event]) -> list[Event]:
        return list(events)


class RelatedEventsViewer:
    """Chooses the related events a user may get back."""

    def __init__(self, visibility: VisibilityService) -> None:
        self.visibility = visibility
        self.hider: Port[EventHider] = Port(HideNothing())

    async def choose(self, user_id: str, events: Sequence[Event]) -> list[Event]:
        """The events of ``events`` (any rooms) that ``user_id`` may get back,
        in their original order."""
        if not events:
            return []
        # As the user sees them (erased senders' events redacted).
        shown = await self.visibility.filter_events_for_user(user_id, events)
        return await self.hider.get().hide(user_id, shown)
