"""Clock.after_io (homeserver/util/clock.py): two hops of the reactor, so a
waiter fires only after a pass that handled I/O; ``idle`` waiters wait for
every more urgent one."""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.task import Clock as FakeReactor

from homeserver.util.clock import IDLE_PUT_OFF, Clock


def one_pass(reactor: FakeReactor) -> None:
    """Run the timers due now, but not those they make (one reactor pass)."""
    due = [c for c in reactor.getDelayedCalls() if c.getTime() <= reactor.seconds()]
    for call in due:
        reactor.calls.remove(call)
        call.called = 1
        call.func(*call.args, **call.kw)


def test_waiters_fire_after_two_passes_in_order() -> None:
    reactor = FakeReactor()
    clock = Clock(reactor)
    fired: list[str] = []
    for name in ("a", "b"):
        clock.after_io().addCallback(lambda _, n=name: fired.append(n))
    one_pass(reactor)
    assert fired == [], "the first hop only schedules the second"
    late = clock.after_io()  # asked between the hops: a batch of its own
    one_pass(reactor)
    assert fired == ["a", "b"] and not late.called
    one_pass(reactor)
    one_pass(reactor)
    assert late.called


def test_idle_waiters_wait_for_urgent_ones_asked_meanwhile() -> None:
    reactor = FakeReactor()
    clock = Clock(reactor)
    fired: list[str] = []
    clock.after_io(idle=True).addCallback(lambda _: fired.append("idle"))

    def next_chunk(_: object) -> None:
        fired.append("chunk 1")
        clock.after_io().addCallback(lambda _: fired.append("chunk 2"))

    clock.after_io().addCallback(next_chunk)
    one_pass(reactor)
    one_pass(reactor)
    assert fired == ["chunk 1"], "more urgent work was asked for: idle waits"
    one_pass(reactor)
    one_pass(reactor)
    assert fired == ["chunk 1", "chunk 2", "idle"]


def test_a_cancelled_waiter_is_skipped() -> None:
    reactor = FakeReactor()
    clock = Clock(reactor)
    gone = clock.after_io()
    gone.addErrback(lambda f: f.trap(defer.CancelledError))
    gone.cancel()
    kept = clock.after_io(idle=True)
    reactor.advance(0)
    assert kept.called


def test_a_stream_of_urgent_work_does_not_starve_an_idle_waiter() -> None:
    """Chunk after chunk of woken syncs (each asking for the next pass) may
    put an idle waiter off IDLE_PUT_OFF times, no more."""
    reactor = FakeReactor()
    clock = Clock(reactor)
    idle = clock.after_io(idle=True)
    passes = 0

    def urgent(_: object) -> None:
        clock.after_io().addCallback(urgent)

    clock.after_io().addCallback(urgent)
    while not idle.called:
        one_pass(reactor)
        passes += 1
        assert passes < 100, "the idle waiter starved"
    # Two passes a batch: the first one, then IDLE_PUT_OFF more.
    assert passes == 2 * (IDLE_PUT_OFF + 1)
