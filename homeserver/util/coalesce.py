"""Share one piece of in-flight async work among every caller that wants it.

Two requests for the same not-yet-made thumbnail (or the same remote file)
should cause one piece of work, not two: the first caller starts it, later
callers wait for its result (or its failure) while it runs. Nothing is cached
after it ends; callers keep results where they belong (a store, a file).

The work runs on its own, not inside the first caller: a caller that goes
away (its request cancelled when the client hangs up) stops waiting, but the
work goes on for the others (a remote file half fetched for five clients is
not abandoned because the first one left).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

from twisted.internet import defer
from twisted.python.failure import Failure

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    """In-flight work by key."""

    def __init__(self) -> None:
        self._running: dict[K, list[defer.Deferred[V]]] = {}

    def in_flight(self, key: K) -> bool:
        """Whether work for ``key`` is running now."""
        return key in self._running

    async def run(self, key: K, work: Callable[[], Awaitable[V]]) -> V:
        """``work()``'s result; if work for ``key`` is already running, its
        result (or exception) instead, without starting ``work``."""
        mine: defer.Deferred[V] = defer.Deferred()
        waiters = self._running.get(key)
        if waiters is not None:
            waiters.append(mine)
            return await mine
        self._running[key] = [mine]
        running: defer.Deferred[Any] = defer.ensureDeferred(_awaited(work))
        running.addBoth(self._finished, key)
        return await mine

    def _finished(self, result: V | Failure, key: K) -> None:
        answer_all(self._running.pop(key, []), result)


def answer_all(waiters: list[defer.Deferred[V]], result: V | Failure) -> None:
    """Fire each waiter with ``result`` (or its failure), but those whose
    caller went away (cancelled)."""
    for waiter in waiters:
        if waiter.called:
            continue
        if isinstance(result, Failure):
            waiter.errback(result)
        else:
            waiter.callback(result)


async def _awaited(work: Callable[[], Awaitable[V]]) -> V:
    return await work()
