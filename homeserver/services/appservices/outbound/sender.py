"""The application-service sender: every event and ephemeral update an AS is
interested in, into its durable queue.

Spec: application-service API v1.19, "Pushing events" and the registration's
namespaces. As the federation sender (``federation/sender/sender.py``), it
follows the events stream rather than event-creation listeners, so every
event persisted by any path is considered once; the rows it queues and its
position are written in one transaction, so a restart loses nothing and an AS
that was down receives everything it missed, in order.

An AS is interested in an event (as Synapse decides it) when the event's
sender, or the ``state_key`` of a member event, is in its users namespace;
when the room ID is in its rooms namespace or one of the room's aliases in its
aliases namespace; or when one of the room's joined members is in its users
namespace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence

from homeserver.events.model import Event, EventTypes
from homeserver.services.appservices.outbound.queue import AppServiceQueue, QueueConfig
from homeserver.services.appservices.outbound.target import AppServiceTarget
from homeserver.signals import EventPersisted
from homeserver.storage.stores.appservice_outbox import AppServiceOutboxStore
from homeserver.storage.stores.directory import DirectoryStore
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.federation_stream import FederationStreamStore
from homeserver.storage.stores.new_events import NewEventsReader
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

STREAM_BATCH = 100
# Without anything to queue, the position is written at most this often.
POSITION_WRITE_EVERY = 1000
Services = Callable[[], Sequence[AppServiceTarget]]
QueueRelay = Callable[[Collection[str]], None]
"""Wakes these ASs' queues on the process that sends to application services."""


class RoomFacts:
    """The aliases and joined members of rooms, read once per batch."""

    def __init__(
        self, directory: DirectoryStore, stream: FederationStreamStore
    ) -> None:
        self.directory = directory
        self.stream = stream
        self._aliases: dict[str, list[str]] = {}
        self._members: dict[str, set[str]] = {}

    async def aliases(self, room_id: str) -> list[str]:
        if room_id not in self._aliases:
            self._aliases[room_id] = await self.directory.get_aliases_for_room(room_id)
        return self._aliases[room_id]

    async def members(self, room_id: str) -> set[str]:
        if room_id not in self._members:
            self._members[room_id] = await self.stream.get_joined_users([room_id])
        return self._members[room_id]


async def interested_in_room(
    service: AppServiceTarget, room_id: str, facts: RoomFacts
) -> bool:
    """The room is the AS's by ID, alias or a joined member."""
    if service.is_interested_in_room(room_id):
        return True
    if any(service.is_interested_in_alias(a) for a in await facts.aliases(room_id)):
        return True
    return any(service.is_interested_in_user(u) for u in await facts.members(room_id))


async def interested_in_event(
    service: AppServiceTarget, event: Event, facts: RoomFacts
) -> bool:
    """The module docstring's rule."""
    if service.is_interested_in_user(event.sender):
        return True
    if (
        event.type == EventTypes.MEMBER
        and event.state_key
        and service.is_interested_in_user(event.state_key)
    ):
        return True
    return await interested_in_room(service, event.room_id, facts)


class AppServiceSender:
    """Follows the events stream and feeds the AS queues.

    Args:
        services: the registered application services (current after a
            reload).
        store: the queues.
        stream: room memberships.
        new_events: the events stream's new events, shared with the other
            sender (``storage/stores/new_events.py``).
        directory: room aliases.
        events: to read events.
        clock: the injected clock.
        current_position: the events stream's visible position.
        queue_config: what every queue shares.
    """

    def __init__(
        self,
        *,
        services: Services,
        store: AppServiceOutboxStore,
        stream: FederationStreamStore,
        new_events: NewEventsReader,
        directory: DirectoryStore,
        events: EventStore,
        clock: Clock,
        current_position: Callable[[], int],
        queue_config: QueueConfig,
    ) -> None:
        self.services = services
        self.store = store
        self.stream = stream
        self.new_events = new_events
        self.directory = directory
        self.events = events
        self.clock = clock
        self.current_position = current_position
        self.queue_config = queue_config
        self.queues: dict[str, AppServiceQueue] = {}
        self.position: int | None = None
        self._stored_position = 0
        self._processing = False
        self._again = False
        self._wake_scheduled = False
        self.relay: QueueRelay | None = None
        """Set when another process sends to the application services
        (an ``appservice`` worker): wake-ups of their queues go to it."""

    def service(self, as_id: str) -> AppServiceTarget | None:
        """The registration with ID ``as_id``, if any."""
        return next((s for s in self.services() if s.id == as_id), None)

    def queue(self, as_id: str) -> AppServiceQueue:
        """The AS's queue (created on first use)."""
        queue = self.queues.get(as_id)
        if queue is None:
            queue = self.queues[as_id] = AppServiceQueue(
                as_id, lambda: self.service(as_id), self.queue_config
            )
        return queue

    async def start(self) -> None:
        """Resume after a restart: wake every AS (a transaction may be in
        flight or items queued), and queue the events persisted since the
        stored position."""
        stored = await self.store.get_position()
        if stored is None:
            # A fresh database: history before now is not ours to send.
            stored = self.current_position()
            await self.store.queue_events([], stored)
        self.position = self._stored_position = stored
        self.wake_all()
        self.notify_new_events()

    def wake_all(self) -> None:
        """Wake every registered AS's queue (at start-up, and after the
        registrations changed)."""
        self.wake_queues([service.id for service in self.services()])

    def retry_now(self, as_id: str) -> None:
        """Forget the AS's wait and push now (an admin asked); on another
        process, its queue is woken there."""
        if self.relay is not None:
            self.relay([as_id])
        else:
            self.queue(as_id).retry_now()

    def wake_queues(self, as_ids: Collection[str]) -> None:
        """Items were queued for these ASs: wake their queues, here or on
        the process that sends to application services."""
        if self.relay is not None:
            if as_ids:
                self.relay(sorted(as_ids))
            return
        for as_id in sorted(as_ids):
            self.queue(as_id).wake()

    def stop(self) -> None:
        """Cancel every retry timer."""
        for queue in self.queues.values():
            queue.stop()

    def on_persisted(self, _persisted: EventPersisted) -> None:
        """``event_persisted`` receiver: the position becomes visible right
        after this returns, so the stream is read on the next reactor turn."""
        if self.position is not None and not self._wake_scheduled:
            self._wake_scheduled = True
            self.clock.call_later(0, self._wake)

    def _wake(self) -> None:
        self._wake_scheduled = False
        self.notify_new_events()

    def notify_new_events(self) -> None:
        """Read the events stream up to its current position (in the background)."""
        if self.position is None:
            return
        if self._processing:
            self._again = True
            return
        self._processing = True
        run_in_background("appservice_sender_stream", self._process())

    async def _process(self) -> None:
        try:
            while True:
                self._again = False
                assert self.position is not None
                upto = self.current_position()
                if upto <= self.position:
                    if not self._again:
                        return
                    continue
                found = await self.new_events.events_after(
                    self.position, upto, STREAM_BATCH
                )
                new_position = (
                    found[-1].stream_ordering if len(found) == STREAM_BATCH else upto
                )
                await self._handle_batch([e.event_id for e in found], new_position)
                self.position = new_position
        finally:
            self._processing = False

    async def _handle_batch(self, event_ids: list[str], new_position: int) -> None:
        services = [s for s in self.services() if s.url]
        rows: list[tuple[str, str]] = []
        if services and event_ids:
            found = await self.events.get_events(event_ids)
            facts = RoomFacts(self.directory, self.stream)
            for event_id in event_ids:
                event = found.get(event_id)
                if event is None:
                    continue
                for service in services:
                    if await interested_in_event(service, event, facts):
                        rows.append((service.id, event_id))
        if not rows and new_position - self._stored_position < POSITION_WRITE_EVERY:
            return
        await self.store.queue_events(rows, new_position)
        self._stored_position = new_position
        for as_id in sorted({r[0] for r in rows}):
            self.queue(as_id).wake()

    async def queue_data(self, rows: Collection[tuple[str, str, JsonDict]]) -> None:
        """Queue ephemeral (AS ID, kind, content) rows and wake their queues."""
        await self.store.queue_data(list(rows))
        self.wake_queues({r[0] for r in rows})
