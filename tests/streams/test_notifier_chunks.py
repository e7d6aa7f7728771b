"""The notifier wakes a big room's listeners a chunk per reactor turn, so the
first syncs' answers go out while the rest are being built; every listener is
woken all the same, once."""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock

from homeserver.streams.notifier import WAKE_CHUNK, Notifier
from homeserver.streams.registry import EVENTS, StreamRegistry
from homeserver.util.clock import Clock


def _waiting(notifier: Notifier, count: int) -> list[defer.Deferred[None]]:
    return [
        defer.ensureDeferred(notifier.wait(f"@u{i}:test", ["!room:test"], 30_000))
        for i in range(count)
    ]


def test_a_big_room_is_woken_a_chunk_per_turn() -> None:
    reactor = MemoryReactorClock()
    notifier = Notifier(Clock(reactor), StreamRegistry([EVENTS]))
    count = 2 * WAKE_CHUNK + 5
    waits = _waiting(notifier, count)
    assert notifier.listener_count() == count
    notifier.notify(EVENTS.name, rooms=["!room:test"])
    # One chunk now, the rest in a later turn (this test clock runs the
    # chunks scheduled meanwhile in the same advance; a reactor runs each in
    # a turn of its own).
    assert sum(1 for w in waits if w.called) == WAKE_CHUNK
    reactor.advance(0)
    assert all(w.called for w in waits)
    assert notifier.listener_count() == 0
    # A second notify in the meantime wakes nobody twice.
    waits = _waiting(notifier, WAKE_CHUNK + 1)
    notifier.notify(EVENTS.name, rooms=["!room:test"])
    notifier.notify(EVENTS.name, rooms=["!room:test"])
    reactor.advance(0)
    reactor.advance(0)
    assert all(w.called for w in waits)
    assert notifier.listener_count() == 0


def test_a_small_room_is_woken_at_once() -> None:
    reactor = MemoryReactorClock()
    notifier = Notifier(Clock(reactor), StreamRegistry([EVENTS]))
    waits = _waiting(notifier, WAKE_CHUNK)
    notifier.notify(EVENTS.name, users=["@u0:test"], rooms=["!room:test"])
    assert all(w.called for w in waits)
    assert not reactor.getDelayedCalls() or all(
        not c.active() for c in reactor.getDelayedCalls()
    )
