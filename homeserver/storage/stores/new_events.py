"""The new events both senders read after a send, read once.

Each send wakes the application-service sender and the federation sender on
the same reactor turn, and each asks the events stream for the same range:
the DAG events in (its position, the stream's current position]. Both are
normally at the same position, so the range is read once and shared: the
first sender's read runs, the other waits for it if it is still running
(``Coalescer``) or finds it in a small memo of the last few ranges.

A range is keyed by both positions and the limit, so a sender at another
position (catching up after a restart, or behind after a long batch) reads
its own range from the database exactly as before: sharing changes how
often the query runs, never what a sender sees. Events at or before a
visible position keep their place in the stream.
"""

from __future__ import annotations

from homeserver.storage.stores.federation_stream import (
    FederationStreamStore,
    StreamEvent,
)
from homeserver.util.caches import LruCache
from homeserver.util.coalesce import Coalescer

# Ranges remembered: the senders that share a range read it within a turn.
MAX_RANGES = 16

_Key = tuple[int, int, int]


class NewEventsReader:
    """``FederationStreamStore.get_events_after``, shared by the senders.

    Args:
        stream: reads a range no sender has read yet.
    """

    def __init__(self, stream: FederationStreamStore) -> None:
        self.stream = stream
        self._memo: LruCache[_Key, tuple[StreamEvent, ...]] = LruCache(
            "new_events_ranges", MAX_RANGES
        )
        self._reading: Coalescer[_Key, tuple[StreamEvent, ...]] = Coalescer()

    async def events_after(
        self, since: int, upto: int, limit: int
    ) -> list[StreamEvent]:
        """The DAG events with stream ordering in (since, upto], oldest
        first, at most ``limit``."""
        key = (since, upto, limit)
        hit = self._memo.get(key)
        if hit is not None:
            return list(hit)

        async def read() -> tuple[StreamEvent, ...]:
            found = tuple(await self.stream.get_events_after(since, upto, limit))
            self._memo.set(key, found)
            return found

        return list(await self._reading.run(key, read))
