"""Coalescer (homeserver/util/coalesce.py) as the remote media cache uses it:
a waiter that goes away does not stop the run for the others (the rest is
in tests/media/test_thumbnail_coalescing.py)."""

from __future__ import annotations

from twisted.internet import defer

from homeserver.util.coalesce import Coalescer


def test_one_run_shared_by_concurrent_callers() -> None:
    coalescer: Coalescer[str, int] = Coalescer()
    gate: defer.Deferred[int] = defer.Deferred()
    runs = []

    async def work() -> int:
        runs.append(1)
        return await gate

    async def other_work() -> int:
        runs.append(2)
        return 8

    first = defer.ensureDeferred(coalescer.run("k", work))
    second = defer.ensureDeferred(coalescer.run("k", work))
    third = defer.ensureDeferred(coalescer.run("k", work))
    other = defer.ensureDeferred(coalescer.run("other", other_work))
    assert runs == [1, 2] and coalescer.in_flight("k")
    second.cancel()  # that caller goes away; the run goes on
    second.addErrback(lambda f: f.trap(defer.CancelledError))
    gate.callback(7)
    assert first.result == 7 and third.result == 7 and other.result == 8
    assert not coalescer.in_flight("k")

    # A call after the run ended runs again.
    gate = defer.succeed(9)
    again = defer.ensureDeferred(coalescer.run("k", work))
    assert again.result == 9 and runs == [1, 2, 1]


def test_failure_reaches_every_waiter() -> None:
    coalescer: Coalescer[str, int] = Coalescer()
    gate: defer.Deferred[int] = defer.Deferred()

    async def work() -> int:
        return await gate

    waiters = [defer.ensureDeferred(coalescer.run("k", work)) for _ in range(3)]
    gate.errback(ValueError("boom"))
    for waiter in waiters:
        failures: list[object] = []
        waiter.addErrback(failures.append)
        assert len(failures) == 1
        assert isinstance(failures[0].value, ValueError)  # type: ignore[attr-defined]
    assert not coalescer.in_flight("k")
