"""Read your writes: wait until replication has brought a write back here.

A write a process hands to its stream's writer (``workers/remote_writes.py``)
is answered with the position it took there. The client that made it may
read it again at once through this process (a GET, or its next /sync with a
token taken before), which answers from what replication has applied; so the
remote write returns only once this process has applied the stream up to
that position, or after ``timeout_s`` (the write is durable either way; the
read then waits for it as any other client's would).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet import defer

from homeserver.util.clock import Clock


class PositionFeed(Protocol):
    """Where this process's stream positions come from (``Replication``)."""

    @property
    def active(self) -> bool:
        """Whether replication runs (else nothing will ever move)."""
        ...

    def add_position_listener(
        self, stream: str, listener: Callable[[int], None]
    ) -> None:
        """Call ``listener(position)`` after another process moved ``stream``."""


class StreamPositions(Protocol):
    """This process's current position of a stream."""

    def __call__(self, stream: str) -> int: ...


class CaughtUp:
    """Waits for this process to apply a stream up to a position.

    Args:
        feed: calls back when replication moves a stream.
        position_of: stream name -> this process's current position.
        clock: for the timeout.
        timeout_s: the longest a write waits for its replication.
    """

    def __init__(
        self,
        *,
        feed: PositionFeed,
        position_of: StreamPositions,
        clock: Clock,
        timeout_s: float = 5.0,
    ) -> None:
        self.feed = feed
        self.position_of = position_of
        self.clock = clock
        self.timeout_s = timeout_s
        self._waiting: dict[str, list[tuple[int, defer.Deferred[None]]]] = {}

    async def wait(self, stream: str, position: int) -> None:
        """Return once ``stream`` is applied here up to ``position`` (or
        after the timeout)."""
        if not self.feed.active or self.position_of(stream) >= position:
            return
        if stream not in self._waiting:
            self._waiting[stream] = []
            self.feed.add_position_listener(stream, lambda at: self._moved(stream, at))
        waiter: defer.Deferred[None] = defer.Deferred()
        self._waiting[stream].append((position, waiter))
        timer: Any = self.clock.call_later(
            self.timeout_s, self._give_up, stream, waiter
        )
        try:
            await waiter
        finally:
            if timer.active():
                timer.cancel()

    def _moved(self, stream: str, at: int) -> None:
        waiting = self._waiting[stream]
        self._waiting[stream] = [(p, d) for p, d in waiting if p > at]
        for position, waiter in waiting:
            if position <= at:
                waiter.callback(None)

    def _give_up(self, stream: str, waiter: defer.Deferred[None]) -> None:
        self._waiting[stream] = [
            (p, d) for p, d in self._waiting[stream] if d is not waiter
        ]
        waiter.callback(None)
