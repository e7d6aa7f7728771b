"""Answer the look-ups made in one reactor turn with one call for all of them.

When one event wakes hundreds of long-polling /sync requests, they all reach
the same per-user look-up (their unread counts, their device's key counts) in
the same turn of the reactor: each would run its own transaction for the same
query with another user in it. A ``TurnBatcher`` collects the keys asked for
until the turn ends (``call_later(0)``), then runs one batch function for all
of them and hands each caller its own answer (or the batch's failure). Equal
keys share one answer. A caller that goes away (its request cancelled) stops
waiting; the batch goes on for the others.

A lone caller waits one turn of the reactor, no more. Callers are resumed
``ANSWER_CHUNK`` at a time, the reactor sending what they wrote in between.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall
from twisted.python.failure import Failure

from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock
from homeserver.util.coalesce import answer_all

# Callers resumed per pass of the reactor: each goes on to its own answer
# (a woken /sync builds and sends its response), so a thousand resumed in one
# pass would send nothing until the last had run.
ANSWER_CHUNK = 250

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TurnBatcher(Generic[K, V]):
    """Keys asked for in one reactor turn, answered by one ``fetch`` call.

    Args:
        name: names the batch's background work (metrics, logs).
        clock: ends the turn (``call_later(0)``).
        fetch: the answer of every key it is given (a missing key is an
            error for its callers).
    """

    def __init__(
        self,
        name: str,
        clock: Clock,
        fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]],
    ) -> None:
        self.name = name
        self.clock = clock
        self.fetch = fetch
        self._waiting: dict[K, list[defer.Deferred[V]]] = {}
        self._call: IDelayedCall | None = None

    async def get(self, key: K) -> V:
        """``key``'s answer, fetched with every other key asked this turn."""
        mine: defer.Deferred[V] = defer.Deferred()
        self._waiting.setdefault(key, []).append(mine)
        if self._call is None:
            self._call = self.clock.call_later(0, self._flush)
        return await mine

    def _flush(self) -> None:
        waiting, self._waiting, self._call = self._waiting, {}, None
        run_in_background(self.name, self._answer(waiting))

    async def _answer(self, waiting: dict[K, list[defer.Deferred[V]]]) -> None:
        try:
            found = await self.fetch(list(waiting))
            results: list[tuple[K, V | Failure]] = [
                (key, found[key]) for key in waiting
            ]
        except Exception:  # noqa: BLE001 - every caller gets the failure
            failure = Failure()
            results = [(key, failure) for key in waiting]
        for start in range(0, len(results), ANSWER_CHUNK):
            if start:
                # Let the answers of those woken so far reach their sockets
                # before the next ones run on.
                await self.clock.after_io()
            for key, result in results[start : start + ANSWER_CHUNK]:
                answer_all(waiting[key], result)
