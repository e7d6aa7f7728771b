"""The Core: what every domain of one server shares.

Config, reactor and clock, the database, the signing key, the rate limiter,
the stream registry, the signals, the notifier, and the stores of the event
DAG that every domain reads (events, state groups, current state, the persister, state at events,
the events stream and its new events for the senders). Nothing here knows a domain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from homeserver.config.model import HomeserverConfig
from homeserver.signals import Signals
from homeserver.storage.database import Database, Runner
from homeserver.storage.id_generators import BackfillIdGenerator, StreamIdGenerator
from homeserver.storage.migrations import prepare_database
from homeserver.storage.sequence_ids import worker_generators
from homeserver.storage.stores.event_persistence import EventPersister
from homeserver.storage.stores.event_state import EventStateStore
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.federation_stream import FederationStreamStore
from homeserver.storage.stores.new_events import NewEventsReader
from homeserver.storage.stores.relations_cache import ChildlessParents
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.state import StateStore
from homeserver.storage.stores.stream import StreamStore
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import (
    BACKFILLED_EVENTS,
    EVENTS,
    STATE_GROUPS,
    StreamRegistry,
)
from homeserver.util.clock import Clock
from homeserver.util.ratelimit import MemoryRatelimiter, Ratelimiter
from homeserver.workers.roles import MAIN, WorkerTopology


@attrs.frozen(kw_only=True)
class Core:
    """The shared infrastructure and event stores of one server."""

    config: HomeserverConfig
    reactor: Any
    clock: Clock
    db: Database
    blocking_runner: Runner
    """Runs CPU-heavy blocking work (password hashing)."""
    io_runner: Runner
    """Runs blocking network clients (boto3 for S3 media) on a pool of their
    own, so slow remote calls never hold up the CPU pool."""
    signing_key: Any
    topology: WorkerTopology
    """Which process this is and which process does what (one process, main,
    unless ``workers.instances`` names others)."""
    ratelimiter: Ratelimiter
    """Token buckets per (action, key), for every domain: in memory in one
    process, in Redis in a worker deployment (``composition/workers.py``,
    ``shared_ratelimiter``)."""
    streams: StreamRegistry
    signals: Signals
    notifier: Notifier
    events: EventStore
    state: StateStore
    room_state: RoomStateStore
    persister: EventPersister
    event_state: EventStateStore
    stream: StreamStore
    new_events: NewEventsReader
    """The events stream's new events, read once for both senders."""
    childless: ChildlessParents
    """Parents known to have no relations (the persister invalidates it, the
    relations store reads it)."""

    @property
    def server_name(self) -> str:
        """This server's name."""
        return self.config.server.server_name

    @classmethod
    def build(
        cls,
        *,
        config: HomeserverConfig,
        reactor: Any,
        db: Database,
        blocking_runner: Runner,
        signing_key: Any,
        io_runner: Runner | None = None,
        worker_name: str = MAIN,
        ratelimiter: Ratelimiter | None = None,
    ) -> Core:
        """The Core over a database that ``setup`` then prepares;
        ``io_runner`` defaults to ``blocking_runner``; ``worker_name`` is
        this process's name in the ``workers`` section; ``ratelimiter``
        defaults to buckets in this process's memory.

        Raises:
            UnknownWorker: no instance is called ``worker_name``.
        """
        clock = Clock(reactor)
        topology = WorkerTopology.from_config(config, worker_name)
        streams = StreamRegistry(generators=_worker_generators(topology, db))
        signals = Signals()
        events = EventStore(db)
        state = StateStore(db, streams.ids(STATE_GROUPS))
        childless = ChildlessParents()
        persister = EventPersister(
            db=db,
            events=events,
            state=state,
            stream_ids=streams.ids(EVENTS),
            backfill_ids=streams.descending_ids(BACKFILLED_EVENTS),
            persisted=signals.event_persisted,
            index_for_search=config.server.enable_search,
            childless=childless,
        )
        if topology.enabled:
            # Every event of a room is persisted by its one writer (the
            # persist route, composition/worker_writes.py): only that
            # process may remember the room's tips
            # (storage/stores/forward_extremities.py).
            events.extremities.written_here = _writes_room(topology)
        return cls(
            config=config,
            reactor=reactor,
            clock=clock,
            db=db,
            blocking_runner=blocking_runner,
            io_runner=io_runner or blocking_runner,
            signing_key=signing_key,
            topology=topology,
            ratelimiter=ratelimiter
            or MemoryRatelimiter(clock, config.rate_limiting.enabled),
            streams=streams,
            signals=signals,
            notifier=Notifier(clock, streams),
            events=events,
            state=state,
            room_state=RoomStateStore(db),
            persister=persister,
            event_state=EventStateStore(db, state),
            stream=StreamStore(db, streams.ids(EVENTS)),
            new_events=NewEventsReader(FederationStreamStore(db)),
            childless=childless,
        )

    async def setup(self) -> None:
        """Bring the schema up to date, then continue every stream after its
        stored positions."""
        await prepare_database(self.db)
        await self.streams.load(self.db)


def _worker_generators(
    topology: WorkerTopology, db: Database
) -> dict[str, StreamIdGenerator | BackfillIdGenerator] | None:
    """The ID generators several processes share through PostgreSQL
    sequences (none in one process; a worker deployment on SQLite, which
    only tests build, keeps every generator in memory)."""
    if not topology.enabled or db.engine.name != "postgres":
        return None
    return worker_generators(topology.this.name, topology.event_writers())


def _writes_room(topology: WorkerTopology) -> Callable[[str], bool]:
    """Whether this process persists a room's events."""
    this = topology.this.name
    return lambda room_id: topology.event_writer_for(room_id) == this
