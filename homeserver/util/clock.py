"""The injected clock: every time read and timer goes through here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer, task
from twisted.internet.interfaces import IDelayedCall

# Batches an ``idle`` waiter of ``Clock.after_io`` lets go first, at most.
IDLE_PUT_OFF = 8


class Clock:
    """Wraps a reactor's time source, so tests can drive time with a fake reactor."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        # The waiters of ``after_io`` gathered in this reactor pass, each
        # 1 + how many more times it may be put off (0: not ``idle``).
        self._io_batch: list[tuple[defer.Deferred[None], int]] | None = None

    def time(self) -> float:
        """Seconds since the epoch."""
        return float(self.reactor.seconds())

    def time_msec(self) -> int:
        """Milliseconds since the epoch."""
        return int(self.reactor.seconds() * 1000)

    async def sleep(self, seconds: float) -> None:
        """Wait without blocking the reactor."""
        await task.deferLater(self.reactor, seconds, lambda: None)

    def after_io(self, *, idle: bool = False) -> defer.Deferred[None]:
        """Fires once the reactor has handled I/O (sent what was written).

        ``sleep(0)`` does not promise that: a timer made while the reactor
        runs the results of its threads (a database answer) fires in the same
        pass, before any queued write reaches its socket. This takes two
        hops: the first, run in this pass or the next, schedules the second,
        which the reactor keeps until after its I/O. The waiters of one pass
        share the two timers and fire in the order they asked.

        Args:
            idle: the caller's work can wait for everything more urgent: it
                fires only once no other (not ``idle``) waiter is pending,
                or once it has been put off ``IDLE_PUT_OFF`` times (so that
                a stream of urgent work cannot starve it). A woken /sync
                stream starts its next round so, after all the answers of
                the round are out.
        """
        waiter: defer.Deferred[None] = defer.Deferred()
        self._queue_io(waiter, IDLE_PUT_OFF + 1 if idle else 0)
        return waiter

    def _queue_io(self, waiter: defer.Deferred[None], put_offs: int) -> None:
        if self._io_batch is None:
            self._io_batch = []
            self.reactor.callLater(0, self._close_io_batch)
        self._io_batch.append((waiter, put_offs))

    def _close_io_batch(self) -> None:
        batch, self._io_batch = self._io_batch or [], None
        self.reactor.callLater(0, self._fire_io_batch, batch)

    def _fire_io_batch(self, batch: list[tuple[defer.Deferred[None], int]]) -> None:
        for waiter, put_offs in batch:
            if not put_offs and not waiter.called:
                waiter.callback(None)
        later = any(not p for _, p in self._io_batch or [])
        for waiter, put_offs in batch:
            if put_offs and not waiter.called:
                if later and put_offs > 1:
                    self._queue_io(waiter, put_offs - 1)
                else:
                    waiter.callback(None)

    def call_later(
        self, seconds: float, fn: Callable[..., Any], *args: Any
    ) -> IDelayedCall:
        """Run ``fn`` after ``seconds``."""
        return self.reactor.callLater(seconds, fn, *args)

    def looping_call(self, seconds: float, fn: Callable[[], Any]) -> task.LoopingCall:
        """Run ``fn`` every ``seconds``, starting after the first interval."""
        call = task.LoopingCall(fn)
        call.clock = self.reactor
        call.start(seconds, now=False)
        return call
