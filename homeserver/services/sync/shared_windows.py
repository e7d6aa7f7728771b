"""Room timeline windows shared by the syncs that one event wakes.

When a message reaches a room whose members all long-poll /sync (or listen
on WebSockets), every one of them wakes with the same token and asks for the
same thing: the room's new events in (since, upto]. The window of a room
between two stream positions is the same for all of them, so it is read once
and shared: the first syncer's query runs, the others that ask for the same
window while it runs wait for it (``Coalescer``), and those that ask later
find it in a small LRU memo.

A window is keyed by the room, both positions, the limit and the filter's SQL,
so a new event (a new ``upto``) never reads an old entry: entries of past
positions simply age out of the bound. Only incremental windows (a known
``since``) are shared; a room's first sync (no ``since``) reaches back into
history, which backfill can still change, and is read afresh every time.
Events at or before a visible position never change their place in a window
(an outlier made a member of the timeline gets a new position).
"""

from __future__ import annotations

from typing import Any

from homeserver.storage.stores.stream import EventRowFilter
from homeserver.storage.stores.sync import RoomWindow, SyncBatchStore
from homeserver.util.caches import LruCache
from homeserver.util.coalesce import Coalescer

# Room windows kept: plenty for every room that moved since the last event.
MAX_WINDOWS = 1024
# Distinct filters whose SQL is kept (cleared when full).
MAX_FILTERS = 256

_Key = tuple[str, int, int, int, str, tuple[Any, ...]]
_BatchKey = tuple[tuple[tuple[str, int], ...], int, int, str, tuple[Any, ...]]


class SharedWindows:
    """``SyncBatchStore.get_windows`` for many syncers at once.

    Args:
        store: reads the windows no syncer has read yet.
    """

    def __init__(self, store: SyncBatchStore, max_windows: int = MAX_WINDOWS) -> None:
        self.store = store
        self._memo: LruCache[_Key, RoomWindow] = LruCache(
            "sync_shared_windows", max_windows
        )
        self._reading: Coalescer[_BatchKey, dict[str, RoomWindow]] = Coalescer()
        # Each filter's SQL, built once: every woken syncer keys its windows
        # by it, and most share one filter.
        self._sql: dict[EventRowFilter | None, tuple[str, tuple[Any, ...]]] = {}

    def _sql_of(self, row_filter: EventRowFilter | None) -> tuple[str, tuple[Any, ...]]:
        """``row_filter``'s WHERE clauses and arguments (memoised, bounded)."""
        found = self._sql.get(row_filter)
        if found is None:
            sql, args = (row_filter or EventRowFilter()).to_sql()
            if len(self._sql) >= MAX_FILTERS:
                self._sql.clear()
            found = self._sql[row_filter] = (sql, tuple(args))
        return found

    async def read(
        self,
        rooms: dict[str, int | None],
        upto: int,
        limit: int,
        row_filter: EventRowFilter | None,
    ) -> dict[str, RoomWindow]:
        """``SyncBatchStore.get_windows``, the incremental windows shared."""
        filter_sql, args = self._sql_of(row_filter)
        out: dict[str, RoomWindow] = {}
        fresh: dict[str, int | None] = {}
        shared: dict[str, int] = {}
        for room_id, after in rooms.items():
            if after is None:
                fresh[room_id] = None
                continue
            hit = self._memo.get((room_id, after, upto, limit, filter_sql, args))
            if hit is None:
                shared[room_id] = after
            else:
                out[room_id] = hit
        if fresh:
            out.update(await self.store.get_windows(fresh, upto, limit, row_filter))
        if shared:
            key = (tuple(sorted(shared.items())), upto, limit, filter_sql, args)

            async def read() -> dict[str, RoomWindow]:
                found = await self.store.get_windows(
                    dict(shared), upto, limit, row_filter
                )
                for room_id, window in found.items():
                    memo_key = (room_id, shared[room_id], upto, limit, filter_sql, args)
                    self._memo.set(memo_key, window)
                return found

            out.update(await self._reading.run(key, read))
        return out
