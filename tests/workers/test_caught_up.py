"""``CaughtUp``: a write handed to its stream's writer returns once this
process has applied the position the writer answered (read your writes), or
after the timeout; with no replication it never waits."""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock

from homeserver.util.clock import Clock
from homeserver.workers.caught_up import CaughtUp


class _Feed:
    def __init__(self, active: bool = True) -> None:
        self.active = active
        self.position = 3
        self.listeners: list[Callable[[int], None]] = []

    def add_position_listener(
        self, stream: str, listener: Callable[[int], None]
    ) -> None:
        self.listeners.append(listener)

    def move(self, position: int) -> None:
        self.position = position
        for listener in self.listeners:
            listener(position)


def _waiter(feed: _Feed, reactor: MemoryReactorClock) -> CaughtUp:
    return CaughtUp(
        feed=feed,
        position_of=lambda stream: feed.position,
        clock=Clock(reactor),
        timeout_s=5.0,
    )


def test_a_write_waits_until_its_position_is_applied_here() -> None:
    reactor, feed = MemoryReactorClock(), _Feed()
    caught_up = _waiter(feed, reactor)
    done = defer.ensureDeferred(caught_up.wait("account_data", 5))
    later = defer.ensureDeferred(caught_up.wait("account_data", 7))
    assert not done.called
    feed.move(4)
    assert not done.called
    feed.move(6)
    assert done.called and not later.called
    feed.move(7)
    assert later.called
    assert reactor.getDelayedCalls() == []  # the timers went with them
    # A position already applied does not wait at all.
    assert defer.ensureDeferred(caught_up.wait("account_data", 7)).called


def test_a_write_stops_waiting_after_the_timeout() -> None:
    reactor, feed = MemoryReactorClock(), _Feed()
    done = defer.ensureDeferred(_waiter(feed, reactor).wait("account_data", 9))
    reactor.advance(4.9)
    assert not done.called
    reactor.advance(0.2)
    assert done.called
    feed.move(9)  # nothing left to wake


def test_without_replication_nothing_waits() -> None:
    reactor, feed = MemoryReactorClock(), _Feed(active=False)
    assert defer.ensureDeferred(_waiter(feed, reactor).wait("account_data", 9)).called
