"""Group commit of local sends (docs/performance.md, "Group commit").

A room's sends are serialised by its lock from the event's build to its
queueing, not to its COMMIT: while one batch of events commits, the room's
next messages are built on the newest event queued (its prev event, depth
and state), queued, and written together in ONE transaction (one COMMIT,
one fsync) as soon as the commit in flight ends; rooms share the batch.
Each sender is answered only once its own event has committed.

Only messages (no state key) whose state group is known are chained: their
state after is the state before, so the next event's context is known
without the database. Everything else waits for the room's queued events
to commit and is persisted on its own, as before.

A failed batch is written again one event per transaction, in order: the
event that cannot be written fails its sender; the room's events built on
it fail with ``ChainBroken`` (their senders build them again on what is
committed), and the room's in-memory tip goes back to what is committed.
"""

from __future__ import annotations

import contextvars
import logging

import attrs
from prometheus_client import Histogram
from twisted.internet import defer

from homeserver.events.model import Event
from homeserver.storage.stores.event_persistence import (
    EventContext,
    EventPersister,
    FreshWrite,
)
from homeserver.util.background import run_in_background

logger = logging.getLogger(__name__)

# Events per transaction at most (a long queue is written in several).
MAX_BATCH = 200

BATCH_EVENTS = Histogram(
    "homeserver_send_batch_events",
    "Local messages written per transaction by group commit",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, MAX_BATCH),
)


class ChainBroken(Exception):
    """The uncommitted event this one was built on could not be written:
    build it again on the room's committed tips."""


class _Outcome:
    """Whether one queued event committed; awaited by any number."""

    def __init__(self) -> None:
        self._waiters: list[defer.Deferred[None]] = []
        self.result: BaseException | bool | None = None  # True: committed

    def wait(self) -> defer.Deferred[None]:
        """Fires once the event committed; fails with why it did not."""
        if isinstance(self.result, BaseException):
            return defer.fail(self.result)
        if self.result:
            return defer.succeed(None)
        waiter: defer.Deferred[None] = defer.Deferred()
        self._waiters.append(waiter)
        return waiter

    def settle(self, error: BaseException | None) -> None:
        self.result = True if error is None else error
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if error is None:
                waiter.callback(None)
            else:
                waiter.errback(error)


@attrs.frozen
class Tail:
    """The newest queued (uncommitted) event of a room, and the context of
    an event built on it."""

    event: Event
    next_context: EventContext
    outcome: _Outcome
    epoch: int


@attrs.frozen
class _Queued:
    write: FreshWrite
    outcome: _Outcome
    context: contextvars.Context
    epoch: int


class SendBatches:
    """Queues fresh local events and commits them in batches."""

    def __init__(self, persister: EventPersister) -> None:
        self.persister = persister
        self._queue: list[_Queued] = []
        self._tails: dict[str, Tail] = {}
        self._epochs: dict[str, int] = {}
        self._running = False

    def epoch(self, room_id: str) -> int:
        """Bumped when a room's queued events fail: an event built before on
        its tail cannot be queued (``ChainBroken``)."""
        return self._epochs.get(room_id, 0)

    def tail(self, room_id: str) -> Tail | None:
        """The room's newest uncommitted event, if any."""
        return self._tails.get(room_id)

    async def idle(self, room_id: str) -> None:
        """Wait until the room has no queued event (its sends are done)."""
        tail = self._tails.get(room_id)
        if tail is not None:
            try:
                await tail.outcome.wait()
            except Exception:  # noqa: BLE001 - its sender is told, not us
                pass

    def enqueue(self, write: FreshWrite, epoch: int) -> defer.Deferred[None]:
        """Queue a fresh message built on the room's tail as of ``epoch``;
        fires once it has committed.

        Raises:
            ChainBroken: what it was built on failed meanwhile.
        """
        event, context = write.event, write.context
        room_id = event.room_id
        if self.epoch(room_id) != epoch:
            raise ChainBroken(room_id)
        outcome = _Outcome()
        self._queue.append(_Queued(write, outcome, contextvars.copy_context(), epoch))
        self._tails[room_id] = Tail(
            event,
            EventContext(
                state_before=context.state_before,
                state_group_before=context.state_group_before,
            ),
            outcome,
            epoch,
        )
        if not self._running:
            self._running = True
            run_in_background("send_batches", self._run(), db_unit=False)
        return outcome.wait()

    async def _run(self) -> None:
        try:
            while self._queue:
                batch = self._queue[:MAX_BATCH]
                del self._queue[:MAX_BATCH]
                try:
                    await self._write(batch)
                except Exception:  # noqa: BLE001 - written again one by one
                    logger.warning("batch of %d events failed", len(batch))
                    await self._one_by_one(batch)
                else:
                    for queued in batch:
                        self._settle(queued, None)
        finally:
            self._running = False

    async def _write(self, batch: list[_Queued]) -> None:
        """One transaction, counted to the request of its first event."""
        writes = [queued.write for queued in batch]
        BATCH_EVENTS.observe(len(writes))
        await batch[0].context.run(
            defer.Deferred.fromCoroutine, self.persister.persist_batch(writes)
        )

    async def _one_by_one(self, batch: list[_Queued]) -> None:
        for queued in batch:
            room_id = queued.write.event.room_id
            if self.epoch(room_id) != queued.epoch:
                self._settle(queued, ChainBroken(room_id))
                continue
            try:
                await self._write([queued])
            except Exception as exc:  # noqa: BLE001 - its sender is told
                self._break(room_id)
                self._settle(queued, exc)
            else:
                self._settle(queued, None)

    def _break(self, room_id: str) -> None:
        """The room's queued events cannot be written: fail those left, and
        build the next on what is committed."""
        self._epochs[room_id] = self.epoch(room_id) + 1
        self._tails.pop(room_id, None)
        broken = [q for q in self._queue if q.write.event.room_id == room_id]
        self._queue[:] = [q for q in self._queue if q.write.event.room_id != room_id]
        for queued in broken:
            self._settle(queued, ChainBroken(room_id))

    def _settle(self, queued: _Queued, error: BaseException | None) -> None:
        room_id = queued.write.event.room_id
        tail = self._tails.get(room_id)
        if tail is not None and tail.outcome is queued.outcome:
            del self._tails[room_id]  # committed (or failed): nothing pending
        queued.outcome.settle(error)
