"""The federation sender: every local event and EDU to the servers that need it.

Spec: server-server API, "Transactions" and "PDUs". The sender follows the
events stream (not the event-creation listeners), so events persisted by any
path — local sends, and the joins and leaves the handshakes persist — are sent
once each. For each event whose sender is local it queues the event for every
other server with a joined member in the room after the event; the server of
a kicked or banned remote user gets its own kick too. Queues and the sender's
position are persisted in the same transaction, so nothing is lost when we
restart, and a destination that was down receives everything it missed, in
stream order, when it comes back.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Collection, Iterable

import attrs

from homeserver.events.ids import domains_of, has_domain
from homeserver.events.model import EventTypes, Membership
from homeserver.federation.interfaces import FederationTransport
from homeserver.federation.sender.queue import DestinationQueue, QueueConfig
from homeserver.federation.sender.shard import SenderShard
from homeserver.signals import EventPersisted
from homeserver.storage.stores.event_state import EventStateStore, StateSelection
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.federation_outbox import (
    Backoff,
    FederationOutboxStore,
)
from homeserver.storage.stores.federation_stream import (
    FederationStreamStore,
    StreamEvent,
)
from homeserver.storage.stores.new_events import NewEventsReader
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

# Events read from the stream per step.
STREAM_BATCH = 100
# Without anything to queue, the position is written at most this often.
POSITION_WRITE_EVERY = 1000
ROOM_CACHE_SIZE = 100_000
# A destination's sender in another process is told it talked to us at most
# this often (it retries at once only if it was backing off).
ALIVE_TELL_EVERY_MS = 60_000
CurrentPosition = Callable[[], int]
_MEMBERS = StateSelection(types=frozenset({EventTypes.MEMBER}))


class FederationSender:
    """Follows the events stream and feeds the destination queues.

    Args:
        server_name: this server.
        enabled: ``federation.enabled``; when off nothing is ever sent.
        transport: signed outbound requests.
        store: the outbound queues.
        stream: room memberships.
        new_events: the events stream's new events, shared with the other
            sender (``storage/stores/new_events.py``).
        events: to read events.
        event_state: the room state after each event.
        clock: the injected clock.
        current_position: the events stream's visible position.
        max_retry_interval_ms: the backoff cap.
        request_timeout_ms: how long one transaction may take.
        allowed: whether we may send to a server (federation.domain_whitelist);
            every server when None.
        shard: the destinations this process sends to (all of them unless
            there are federation sender workers) and the relay to the others.
    """

    def __init__(
        self,
        *,
        server_name: str,
        enabled: bool,
        transport: FederationTransport,
        store: FederationOutboxStore,
        stream: FederationStreamStore,
        new_events: NewEventsReader,
        events: EventStore,
        event_state: EventStateStore,
        clock: Clock,
        current_position: CurrentPosition,
        max_retry_interval_ms: int,
        request_timeout_ms: int,
        allowed: Callable[[str], bool] | None = None,
        shard: SenderShard | None = None,
    ) -> None:
        self.server_name = server_name
        self.enabled = enabled
        self.store = store
        self.stream = stream
        self.new_events = new_events
        self.events = events
        self.event_state = event_state
        self.clock = clock
        self.current_position = current_position
        self.queue_config = QueueConfig(
            server_name=server_name,
            transport=transport,
            store=store,
            events=events,
            clock=clock,
            max_retry_interval_ms=max_retry_interval_ms,
            request_timeout_ms=request_timeout_ms,
            # Unique across restarts: receivers answer a repeated ID from cache.
            txn_prefix=f"{clock.time_msec()}{secrets.token_hex(4)}.",
        )
        self.queues: dict[str, DestinationQueue] = {}
        self.position: int | None = None
        self._stored_position = 0
        # Rooms known to have had a remote member, and rooms known not to.
        self._remote_rooms: set[str] = set()
        self._local_rooms: set[str] = set()
        self._room_generation = 0
        self.allowed: Callable[[str], bool] = allowed or (lambda destination: True)
        self.shard = shard or SenderShard()
        self._alive_told: dict[str, int] = {}
        self._processing = False
        self._again = False
        # A wake-up is already scheduled (one per reactor turn, however many
        # events a batch persists).
        self._wake_scheduled = False
        # Other servers' events we accepted directly (send_join, send_leave,
        # send_knock): the resident server passes them on like its own, to
        # every server but the one it came from (event ID -> that origin).
        self.relayed: dict[str, str] = {}

    @property
    def transport(self) -> FederationTransport:
        """The outbound transport every queue uses."""
        return self.queue_config.transport

    @transport.setter
    def transport(self, transport: FederationTransport) -> None:
        self.queue_config = attrs.evolve(self.queue_config, transport=transport)
        for queue in self.queues.values():
            queue.config = self.queue_config

    async def start(self) -> None:
        """Resume after a restart: wake every destination with a backlog, and
        send the events persisted since the stored position."""
        stored = await self.store.get_position()
        if stored is None:
            # A fresh database: history before now is not ours to send.
            stored = self.current_position()
            await self.store.queue_pdus([], stored)
        self.position = self._stored_position = stored
        if not self.enabled:
            return
        pending = await self.store.get_destinations_with_pending()
        for destination in self.shard.split(pending)[0]:
            self.queue(destination).wake()
        self.notify_new_events()

    def stop(self) -> None:
        """Cancel every retry timer."""
        for queue in self.queues.values():
            queue.stop()

    def queue(self, destination: str) -> DestinationQueue:
        """The destination's queue (created on first use)."""
        queue = self.queues.get(destination)
        if queue is None:
            queue = self.queues[destination] = DestinationQueue(
                destination, self.queue_config
            )
        return queue

    def on_persisted(self, persisted: EventPersisted) -> None:
        """``event_persisted`` receiver: the position becomes visible right
        after this returns, so the stream is read on the next reactor turn."""
        event = persisted.event
        if not has_domain(event.sender, self.server_name) or (
            event.type == EventTypes.MEMBER
            and not has_domain(event.state_key or "", self.server_name)
        ):
            self._room_generation += 1
            self._local_rooms.discard(event.room_id)
        if self.enabled and self.position is not None and not self._wake_scheduled:
            self._wake_scheduled = True
            self.clock.call_later(0, self._wake)

    def _wake(self) -> None:
        self._wake_scheduled = False
        self.notify_new_events()

    def already_at(self, event_id: str, destination: str) -> None:
        """A local event ``destination`` has already (our join made through
        its send_join): queue it for the room's other servers only. Call
        before persisting it."""
        self.relay(event_id, destination)

    def relay(self, event_id: str, origin: str) -> None:
        """Send an event of another server to the room's servers, except
        ``origin`` (which sent it to us), once it is persisted (call before
        persisting it). As Synapse's "send on behalf of": never echo an event
        back to the server it came from."""
        if not self.enabled:
            return
        if self.position is not None:
            self.relayed[event_id] = origin
        if self.shard.relay is not None:
            self.shard.relay.relay_event(event_id, origin)

    def destination_is_alive(self, destination: str) -> None:
        """The destination just talked to us: retry it now if it was backing off
        (its sender is told, at most once a minute, when it is another process)."""
        if not self.shard.owns(destination):
            now = self.clock.time_msec()
            told = self._alive_told.get(destination)
            due = told is None or now - told >= ALIVE_TELL_EVERY_MS
            if self.shard.relay is not None and due:
                if len(self._alive_told) > ROOM_CACHE_SIZE:
                    self._alive_told.clear()
                self._alive_told[destination] = now
                self.shard.relay.alive([destination])
            return
        queue = self.queues.get(destination)
        if queue is not None and queue.backoff is not None and queue.backoff.failure_ts:
            logger.info("%s is back: retrying now", destination)
            queue.retry_now()

    def reset_backoff(self, destination: str) -> None:
        """Forget a destination's backoff (an admin asked) and send now."""
        if not self.shard.owns(destination):
            run_in_background(
                "federation_reset_backoff", self._reset_elsewhere(destination)
            )
            return
        queue = self.queue(destination)
        queue.backoff = Backoff()
        run_in_background(
            "federation_reset_backoff", self.store.set_backoff(destination, Backoff())
        )
        queue.retry_now()

    async def _reset_elsewhere(self, destination: str) -> None:
        """Another process sends to ``destination``: clear the stored
        backoff and wake that sender."""
        await self.store.set_backoff(destination, Backoff())
        if self.shard.relay is not None:
            self.shard.relay.wake([destination])

    def notify_new_events(self) -> None:
        """Read the events stream up to its current position (in the background)."""
        if not self.enabled or self.position is None:
            return
        if self._processing:
            self._again = True
            return
        self._processing = True
        run_in_background("federation_sender_stream", self._process())

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
                await self._handle_batch(found, new_position)
                self.position = new_position
        finally:
            self._processing = False

    async def _handle_batch(self, found: list[StreamEvent], new_position: int) -> None:
        self._forget_local_rooms(found)
        local = [
            e
            for e in found
            if not e.outlier
            and (has_domain(e.sender, self.server_name) or e.event_id in self.relayed)
        ]
        origins = {e.event_id: self.relayed.pop(e.event_id, None) for e in found}
        if local:
            shared = await self._rooms_with_remote_members({e.room_id for e in local})
            local = [e for e in local if e.room_id in shared]
        rows: list[tuple[str, int, str]] = []
        if local:
            destinations = await self._destinations_for([e.event_id for e in local])
            for entry in local:
                origin = origins.get(entry.event_id)
                for destination in sorted(destinations.get(entry.event_id, ())):
                    if (
                        destination != origin
                        and self.allowed(destination)
                        and self.shard.owns(destination)
                    ):
                        rows.append(
                            (destination, entry.stream_ordering, entry.event_id)
                        )
        if not rows and new_position - self._stored_position < POSITION_WRITE_EVERY:
            # Nothing queued: reading these events again after a restart would
            # queue nothing again, so the position need not be written each time.
            return
        await self.store.queue_pdus(rows, new_position)
        self._stored_position = new_position
        for destination in sorted({r[0] for r in rows}):
            self.queue(destination).wake()

    def _forget_local_rooms(self, found: list[StreamEvent]) -> None:
        """A room with an event of another server's user may have gained a
        remote member: check it again. ``on_persisted`` does this as the
        event is persisted here; this sees events persisted by another
        process too (event persister workers), before the batch is queued."""
        for entry in found:
            if entry.room_id in self._local_rooms and not has_domain(
                entry.sender, self.server_name
            ):
                self._room_generation += 1
                self._local_rooms.discard(entry.room_id)

    async def _rooms_with_remote_members(self, room_ids: set[str]) -> set[str]:
        """Which of the rooms ever had a remote member, cached: a room that has
        had one always will; a room without is re-checked after any remote
        activity in it (see ``on_persisted``)."""
        unknown = room_ids - self._remote_rooms - self._local_rooms
        if unknown:
            generation = self._room_generation
            found = await self.stream.get_rooms_with_remote_members(
                unknown, self.server_name
            )
            if len(self._local_rooms) + len(self._remote_rooms) > ROOM_CACHE_SIZE:
                self._local_rooms.clear()
                self._remote_rooms.clear()
            self._remote_rooms |= found
            if generation == self._room_generation:
                self._local_rooms |= unknown - found
        return room_ids & self._remote_rooms

    async def _destinations_for(self, event_ids: list[str]) -> dict[str, set[str]]:
        """Event ID -> the other servers with a joined member after the event
        (plus a kicked or banned remote user's own server)."""
        states = await self.event_state.get_state_ids_for_events(event_ids, _MEMBERS)
        remote_member_ids = {
            member_event_id
            for state in states.values()
            for (_, user_id), member_event_id in state.items()
            if not has_domain(user_id, self.server_name)
        }
        memberships = await self.stream.get_memberships(remote_member_ids)
        events = await self.events.get_events(event_ids)
        out: dict[str, set[str]] = {}
        for event_id in event_ids:
            servers = domains_of(
                user_id
                for member_event_id in states.get(event_id, {}).values()
                for user_id, membership in [memberships.get(member_event_id, ("", ""))]
                if membership == Membership.JOIN
            )
            event = events.get(event_id)
            if (
                event is not None
                and event.type == EventTypes.MEMBER
                and event.membership in (Membership.LEAVE, Membership.BAN)
            ):
                servers.update(domains_of([event.state_key]))
            servers.discard(self.server_name)
            out[event_id] = servers
        return out

    # -- EDUs -------------------------------------------------------------------

    def send_edu(
        self, destinations: Iterable[str], edu_type: str, content: JsonDict
    ) -> None:
        """Queue an ephemeral EDU (kept in memory) for each destination."""
        if not self.enabled:
            return
        targets = {d for d in destinations if self.allowed(d)} - {self.server_name}
        ours, theirs = self.shard.split(targets)
        for destination in ours:
            self.queue(destination).add_edu(edu_type, content)
        if theirs and self.shard.relay is not None:
            self.shard.relay.send_edu(theirs, edu_type, content)

    async def send_persistent_edu(
        self, destinations: Collection[str], edu_type: str, content: JsonDict
    ) -> None:
        """Queue an EDU that must survive a restart (to-device, device lists)."""
        targets = {d for d in destinations if self.allowed(d)} - {self.server_name}
        if not self.enabled or not targets:
            return
        await self.store.queue_edus(targets, edu_type, content)
        ours, theirs = self.shard.split(targets)
        for destination in ours:
            self.queue(destination).wake()
        if theirs and self.shard.relay is not None:
            self.shard.relay.wake(theirs)

    async def servers_in_rooms(self, room_ids: Collection[str]) -> set[str]:
        """The other servers with a joined member in any of the rooms."""
        users = await self.stream.get_joined_users(room_ids)
        return domains_of(users) - {self.server_name}
