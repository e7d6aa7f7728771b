"""Share one piece of in-flight async work among every caller that wants it.

Two requests for the same not-yet-made thumbnail (or the same remote file)
should cause one piece of work, not two: the first caller starts it, later
callers wait for its result (or its failure) while it runs. Nothing is cached
after it ends; callers keep results where they belong (a store, a file).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

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
        waiters = self._running.get(key)
        if waiters is not None:
            waiter: defer.Deferred[V] = defer.Deferred()
            waiters.append(waiter)
            return await waiter
        self._running[key] = []
        try:
            result = await work()
        except BaseException:
            failure = Failure()
            for w in self._running.pop(key):
                w.errback(failure)
            raise
        for w in self._running.pop(key):
            w.callback(result)
        return result
