"""Serialising events for clients, with their related events fetched in batches.

Bundled aggregations (``unsigned["m.relations"]``, spec "Aggregations of
child events") come from an ``AggregationSource`` plugged in by the
relations domain; every endpoint that serves events serialises them here,
so each gets them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from homeserver.events.model import Event
from homeserver.events.serialize import serialize_event
from homeserver.services.accounts.auth import Requester
from homeserver.storage.stores.events import EventStore
from homeserver.types import JsonDict
from homeserver.util.clock import Clock
from homeserver.util.ports import Port


class AggregationSource(Protocol):
    """The bundled aggregations of events, as one user may see them."""

    async def bundle(
        self,
        events: Sequence[Event],
        requester: Requester,
        *,
        nested: bool,
        include_room_id: bool = True,
    ) -> dict[str, JsonDict]:
        """``m.relations`` by event ID, for the events that have any.

        Args:
            nested: for events inside another's aggregation (a thread's
                latest event, an edit): no thread summaries, so no loops.
            include_room_id: whether events in the aggregations carry their
                ``room_id`` (not inside /sync's per-room sections).
        """
        ...


class NoAggregations:
    """No relations domain: nothing is bundled."""

    async def bundle(
        self,
        events: Sequence[Event],
        requester: Requester,
        *,
        nested: bool,
        include_room_id: bool = True,
    ) -> dict[str, JsonDict]:
        return {}


class EventSerializer:
    """Adds prev_content, redacted_because and bundled aggregations, then
    shapes events for clients."""

    def __init__(self, events: EventStore, clock: Clock) -> None:
        self.events = events
        self.clock = clock
        self.aggregations: Port[AggregationSource] = Port(NoAggregations())

    async def serialize(
        self,
        events: Sequence[Event],
        requester: Requester | None,
        *,
        include_room_id: bool = True,
        event_format: str = "client",
        fields: Sequence[str] | None = None,
        nested: bool = False,
    ) -> list[JsonDict]:
        """The client form of each event, in order.

        Args:
            nested: the events are part of another event's aggregation.
        """
        related_ids = {e.replaces_state for e in events if e.replaces_state}
        related_ids |= {e.redacted_by for e in events if e.redacted_by}
        related = await self.events.get_events(related_ids) if related_ids else {}
        now = self.clock.time_msec()
        device = (requester.user_id, requester.device_id) if requester else None
        bundled: dict[str, JsonDict] = {}
        if requester is not None and events:
            bundled = await self.aggregations.get().bundle(
                events, requester, nested=nested, include_room_id=include_room_id
            )
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
                    relations=bundled.get(event.event_id),
                )
            )
        return out

    async def serialize_one(
        self, event: Event, requester: Requester | None
    ) -> JsonDict:
        """One event in client form."""
        return (await self.serialize([event], requester))[0]
