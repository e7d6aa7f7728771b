"""The workers wing of one process: replication, shared caches, the internal
API's auth, the rate limiter's buckets in Redis.

Idle in a one-process deployment (no ``workers.instances``): nothing talks
to Redis, nothing is published, no replication endpoint is served.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from twisted.python.threadpool import ThreadPool

from homeserver.api.replication.duty_wake import DutyWakeEndpoint, DutyWakeTarget
from homeserver.api.replication.resource import ReplicationAuth, replication_endpoints
from homeserver.composition.core import Core
from homeserver.config.model import HomeserverConfig
from homeserver.config.replication_secret import (
    ensure_replication_secret,
    replication_secret_file,
)
from homeserver.storage.database import Runner, thread_pool_runner
from homeserver.streams.registry import ACCOUNT_DATA, EVENTS, RECEIPTS
from homeserver.util.clock import Clock
from homeserver.util.ratelimit import MemoryRatelimiter, Ratelimiter
from homeserver.workers.duty_relay import InternalPoster
from homeserver.workers.feeds import bind_feeds
from homeserver.workers.internal_client import InternalClient
from homeserver.workers.redis_bus import RedisBus
from homeserver.workers.redis_ratelimit import RedisRatelimiter
from homeserver.workers.replication import Replication
from homeserver.workers.roles import WorkerTopology
from homeserver.workers.shared_caches import (
    share,
    share_forgotten,
    share_write_watchers,
)

if TYPE_CHECKING:
    from homeserver.composition.server import HomeServer


@attrs.frozen(kw_only=True)
class BusIO:
    """How the Redis bus reaches the reactor and its thread."""

    hand_off: Callable[..., Any]
    """Runs a callable on the reactor (``callFromThread``)."""
    runner: Runner
    """Runs a blocking Redis call (a pool of one thread, so entries keep
    their order)."""


def _pool_runner(reactor: Any, name: str, threads: int) -> Runner:
    """A runner on a pool of up to ``threads`` threads, started and stopped
    with the reactor."""
    pool = ThreadPool(1, threads, name=name)
    reactor.callWhenRunning(pool.start)
    reactor.addSystemEventTrigger("during", "shutdown", pool.stop)
    return thread_pool_runner(reactor, pool)


def default_bus_io(reactor: Any) -> BusIO:
    """The reactor's ``callFromThread`` and a pool of one thread."""
    return BusIO(
        hand_off=reactor.callFromThread,
        runner=_pool_runner(reactor, "replication", 1),
    )


def shared_ratelimiter(
    *,
    config: HomeserverConfig,
    reactor: Any,
    worker_name: str,
    bus_io: BusIO | None = None,
    replicate: bool = True,
) -> Ratelimiter:
    """The rate limiter of this process: in a worker deployment that
    replicates, buckets in Redis shared by every process (their calls on a
    small pool of their own, or ``bus_io``'s runner in tests); otherwise (one
    process, or rate limiting off) buckets in memory."""
    clock = Clock(reactor)
    limits, workers = config.rate_limiting, config.workers
    if not (workers.enabled and replicate and limits.enabled):
        return MemoryRatelimiter(clock, limits.enabled)
    runner = bus_io.runner if bus_io else _pool_runner(reactor, "ratelimit", 4)
    return RedisRatelimiter(
        url=workers.redis_url or "",
        prefix=workers.redis_prefix,
        runner=runner,
        clock=clock,
        client_name=f"{workers.redis_prefix}:{worker_name}:ratelimit",
    )


@attrs.frozen(kw_only=True)
class WorkersBundle:
    """The topology, replication and the internal API's auth."""

    topology: WorkerTopology
    replication: Replication
    auth: ReplicationAuth | None
    """None in a one-process deployment (no replication API)."""
    client: InternalPoster | None = None
    """Calls the other processes' replication endpoints (None in a
    one-process deployment)."""

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        data_dir: Path,
        bus_io: BusIO | None = None,
        replicate: bool = True,
    ) -> WorkersBundle:
        """``replicate`` False: no Redis (in-process tests of other parts of
        a deployment, on a fake reactor)."""
        topology = core.topology
        auth = None
        bus_factory = None
        client = None
        workers = core.config.workers
        if topology.enabled:
            path = replication_secret_file(data_dir, workers.replication_secret_path)
            secret = ensure_replication_secret(path)
            auth = ReplicationAuth(secret)
            client = InternalClient(
                reactor=core.reactor, secret=secret, url_of=topology.internal_url
            )
        if topology.enabled and replicate:
            io = bus_io or default_bus_io(core.reactor)
            bus_factory = functools.partial(
                RedisBus,
                url=workers.redis_url or "",
                hand_off=io.hand_off,
                runner=io.runner,
                maxlen=workers.stream_maxlen,
                client_name=f"{workers.redis_prefix}:{topology.this.name}",
            )
        replication = Replication(
            topology=topology,
            streams=core.streams,
            notifier=core.notifier,
            clock=core.clock,
            bus_factory=bus_factory,
        )
        return cls(topology=topology, replication=replication, auth=auth, client=client)

    def endpoints(
        self,
        *,
        duty_wake: DutyWakeTarget | None = None,
        writes: Callable[[ReplicationAuth], list[Any]] | None = None,
    ) -> list[Any]:
        """The replication API's endpoints (none in a one-process deployment);
        ``duty_wake``: this process's duties (``composition/worker_duties.py``);
        ``writes``: the stream writes' endpoints (``composition/worker_writes.py``)."""
        if self.auth is None:
            return []
        endpoints = replication_endpoints(self.auth, status=self.replication)
        if writes is not None:
            endpoints.extend(writes(self.auth))
        if duty_wake is not None:
            endpoints.append(DutyWakeEndpoint(self.auth, duty_wake))
        return endpoints


def bind_workers(hs: HomeServer) -> None:
    """Connect replication to the domains (a worker deployment only): the
    rows each stream's writer publishes and its readers feed, and the
    caches shared between processes (the audit in docs/architecture.md)."""
    replication, topology = hs.workers.replication, hs.workers.topology
    if not replication.active:
        return
    signals = hs.core.signals
    events, receipts, account_data = bind_feeds(
        replication,
        changes=hs.sync.changes,
        sliding=hs.sync.sliding,
        typing=hs.sync_data.typing,
        account_data_rereaders=[hs.push_eval.ignored_by.on_account_data_changed],
    )
    if topology.writes(EVENTS.name):
        signals.event_persisted.connect(events.on_event_persisted)
    if topology.writes(RECEIPTS.name):
        signals.receipt_stored.connect(receipts.on_receipt_stored)
    if topology.writes(ACCOUNT_DATA.name):
        signals.account_data_changed.connect(account_data.on_account_data_changed)
    for owner in (
        hs.core.events,
        hs.core.childless,
        hs.sync_data.account_data.store,
        hs.reading.hidden.store,
        hs.push_eval.rules,
    ):
        share(replication, owner)
    share_write_watchers(replication, hs.core.db)
    share_forgotten(replication, signals.room_forgotten, hs.sync.sliding.room_list)
