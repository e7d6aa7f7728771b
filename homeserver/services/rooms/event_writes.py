"""Persisting events handed over by other processes (the event persister).

In worker mode (docs/architecture.md, "Workers") any process builds and
checks an event; the event persister of its room writes it and takes its
events-stream position. A hand-over may be retried (the sender could not
tell whether its first try arrived), so an event this process already holds
as a DAG event is answered with where it landed, never written twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from homeserver.errors import Codes, MatrixError
from homeserver.events.model import Event
from homeserver.storage.stores.event_persistence import EventPersister, PersistedEvent
from homeserver.storage.stores.event_routing import EventWrite
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.state import StateStore


class EventWriterService:
    """The event persister's side of the persist hand-over.

    Args:
        persister: writes the events (its route must say this process
            writes their rooms).
        events: to recognise an event written by an earlier try.
        state: its state group, for the answer.
    """

    def __init__(
        self, *, persister: EventPersister, events: EventStore, state: StateStore
    ) -> None:
        self.persister = persister
        self.events = events
        self.state = state

    def _check_writer(self, room_id: str) -> None:
        if not self.persister.route.get().is_local(room_id):
            raise MatrixError(
                400, f"This process does not persist {room_id}", Codes.UNKNOWN
            )

    async def persist(self, write: EventWrite) -> PersistedEvent:
        """Persist ``write.event`` here, once.

        Raises:
            MatrixError: 400 when another process writes its room.
        """
        event = write.event
        self._check_writer(event.room_id)
        earlier = await self.events.get_event(event.event_id)
        if earlier is not None and not earlier.outlier:
            assert earlier.stream_ordering is not None
            groups = await self.state.get_state_groups_for_events([event.event_id])
            return PersistedEvent(earlier.stream_ordering, groups.get(event.event_id))
        return await self.persister.persist_event(
            event,
            write.context,
            write.device_id,
            write.txn_id,
            backfilled=write.backfilled,
        )

    async def persist_outliers(self, events: Sequence[Event]) -> dict[str, int]:
        """Store outliers here (already stored ones are left alone); the
        stream ordering of each.

        Raises:
            MatrixError: 400 when another process writes one's room.
        """
        for event in events:
            self._check_writer(event.room_id)
        await self.persister.persist_outliers(events)
        stored = await self.events.get_events([e.event_id for e in events])
        return {
            event_id: event.stream_ordering
            for event_id, event in stored.items()
            if event.stream_ordering is not None
        }
