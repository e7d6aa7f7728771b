"""Pushers woken from stream positions, on a ``pusher`` worker.

In one process the pool is woken by the ``push_actions_stored`` and
``receipt_stored`` signals (``composition/bind.py``). On a pusher worker
(docs/scaling.md) nothing is stored locally: replication tells the process
that the events or receipts stream moved, and this follower asks the
database which of the pool's users the new positions concern, then wakes
exactly their runners, as the signals would have. Each stream is read from
where the follower last read it, one read at a time, so a burst of positions
costs one query and none is skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from homeserver.services.push.pushers.pool import PusherPool
from homeserver.storage.stores.push_wakes import PushWakeStore
from homeserver.util.background import run_in_background

CurrentPosition = Callable[[], int]
Read = Callable[[int, int], Awaitable[None]]


class _Follower:
    """Reads one stream from the last position seen, never two at once."""

    def __init__(self, name: str, current: CurrentPosition) -> None:
        self.name = name
        self.current = current
        self.position: int | None = None
        self._running = False
        self._again = False

    def start(self) -> None:
        self.position = self.current()

    def poke(self, read: Read) -> None:
        if self.position is None:
            return
        if self._running:
            self._again = True
            return
        self._running = True
        run_in_background(self.name, self._loop(read))

    async def _loop(self, read: Read) -> None:
        try:
            while True:
                self._again = False
                upto = self.current()
                assert self.position is not None
                if upto > self.position:
                    await read(self.position, upto)
                    self.position = upto
                if not self._again:
                    return
        finally:
            self._running = False


class PusherFollower:
    """Wakes the pool's runners from the events and receipts positions.

    Args:
        pool: the pushers of this process.
        store: which users the new positions concern.
        events_position: the events stream's current position here.
        receipts_position: the receipts stream's current position here.
    """

    def __init__(
        self,
        *,
        pool: PusherPool,
        store: PushWakeStore,
        events_position: CurrentPosition,
        receipts_position: CurrentPosition,
    ) -> None:
        self.pool = pool
        self.store = store
        self._events = _Follower("pusher_follow_events", events_position)
        self._receipts = _Follower("pusher_follow_receipts", receipts_position)

    def start(self) -> None:
        """Follow from the current positions: the pool has just caught up to
        them (``PusherPool.start``)."""
        self._events.start()
        self._receipts.start()

    def on_events_position(self, _position: int) -> None:
        """The events stream moved (replicated)."""
        self._events.poke(self._read_actions)

    def on_receipts_position(self, _position: int) -> None:
        """The receipts stream moved (replicated)."""
        self._receipts.poke(self._read_receipts)

    async def _read_actions(self, since: int, upto: int) -> None:
        users = await self.store.get_users_with_actions(
            list(self.pool.runners), since, upto
        )
        self.pool.on_new_push_actions(sorted(users), upto)

    async def _read_receipts(self, since: int, upto: int) -> None:
        found = await self.store.get_receipt_rooms(list(self.pool.runners), since, upto)
        for user_id, room_id in sorted(found):
            self.pool.on_read(user_id, room_id)
