"""Serialise async work per key (e.g. one local event at a time per room)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from twisted.internet import defer


class Linearizer:
    """An async lock per key; waiters run in arrival order."""

    def __init__(self) -> None:
        self._tails: dict[str, defer.Deferred[None]] = {}

    @asynccontextmanager
    async def queue(self, key: str) -> AsyncIterator[None]:
        """Hold the lock for ``key`` for the duration of the block."""
        previous = self._tails.get(key)
        done: defer.Deferred[None] = defer.Deferred()
        self._tails[key] = done
        if previous is not None:
            waiter: defer.Deferred[None] = defer.Deferred()
            previous.addBoth(lambda _: waiter.callback(None))
            await waiter
        try:
            yield
        finally:
            if self._tails.get(key) is done:
                del self._tails[key]
            done.callback(None)
