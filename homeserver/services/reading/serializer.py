"""Serialising events for clients, with their related events fetched in batches."""

from __future__ import annotations

from collections.abc import Sequence

from homeserver.events.model import Event
from homeserver.events.serialize import serialize_event
from homeserver.services.accounts.auth import Requester
from homeserver.storage.stores.events import EventStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock


class EventSerializer:
    """Adds prev_content and redacted_because, then shapes events for clients."""

    def __init__(self, events: EventStore, clock: Clock) -> None:
        self.events = events
        self.clock = clock

    async def serialize(
        self,
        events: Sequence[Event],
        requester: Requester | None,
        *,
        include_room_id: bool = True,
        event_format: str = "client",
        fields: Sequence[str] | None = None,
    ) -> list[JsonDict]:
        """The client form of each event, in order."""
        related_ids = {e.replaces_state for e in events if e.replaces_state}
        related_ids |= {e.redacted_by for e in events if e.redacted_by}
        related = await self.events.get_events(related_ids) if related_ids else {}
        now = self.clock.time_msec()
        device = (requester.user_id, requester.device_id) if requester else None
        out = []
        for event in events:
            redaction = None
            if event.redacted_by and event.redacted_by in related:
                redaction = serialize_event(
                    related[event.redacted_by], now, include_room_id=include_room_id
                )
            prev = related.get(event.replaces_state) if event.replaces_state else None
            out.append(
                serialize_event(
                    event,
                    now,
                    requester_device=device,
                    prev_event=prev,
                    redaction=redaction,
                    include_room_id=include_room_id,
                    event_format=event_format,
                    fields=fields,
                )
            )
        return out

    async def serialize_one(
        self, event: Event, requester: Requester | None
    ) -> JsonDict:
        """One event in client form."""
        return (await self.serialize([event], requester))[0]
