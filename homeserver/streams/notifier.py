"""The notifier: wakes exactly the waiting syncs whose user can see a change.

Every stream (events, account data, receipts, typing, presence, to-device,
device lists) reports new positions here, naming the rooms and/or users the
change concerns. A waiting /sync request or WebSocket registers its user and
the rooms it is in; it is woken only by changes to those. Nothing polls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
from twisted.internet import defer

from homeserver.streams.registry import SYNC_STREAM_NAMES, StreamRegistry
from homeserver.streams.tokens import StreamToken
from homeserver.util.clock import Clock

NotifyObserver = Callable[[str, Sequence[str], Sequence[str]], None]
"""Told (stream, users, rooms) of each ``notify``."""


@attrs.define(eq=False)
class _Listener:
    user_id: str
    rooms: frozenset[str]
    deferred: defer.Deferred[None]


class Notifier:
    """Reads stream positions from the registry and wakes listeners.

    Args:
        clock: for the long-poll timeouts.
        streams: the positions of the synced streams.
    """

    def __init__(self, clock: Clock, streams: StreamRegistry) -> None:
        self.clock = clock
        self.streams = streams
        self._by_user: dict[str, set[_Listener]] = {}
        self._by_room: dict[str, set[_Listener]] = {}
        self._observers: list[NotifyObserver] = []
        # The last token made: the syncs one event wakes all ask for it.
        self._token = StreamToken()

    def current_token(self) -> StreamToken:
        """The position of every stream now."""
        positions = self.streams.sync_position_tuple()
        if self._token.positions != positions:
            self._token = StreamToken(positions)
        return self._token

    def observe(self, observer: NotifyObserver) -> None:
        """Also tell ``observer`` of every ``notify`` (replication publishes
        what this process's writes wake to the other processes)."""
        self._observers.append(observer)

    def notify(
        self, stream: str, *, users: Iterable[str] = (), rooms: Iterable[str] = ()
    ) -> None:
        """A stream moved; wake listeners of these users and of these rooms."""
        if stream not in SYNC_STREAM_NAMES:
            raise ValueError(f"unknown stream {stream}")
        if self._observers:
            users, rooms = list(users), list(rooms)
            for observer in self._observers:
                observer(stream, users, rooms)
        self.wake(users=users, rooms=rooms)

    def wake_all(self) -> None:
        """Wake every listener (after replication lost track of a stream)."""
        self.wake(users=list(self._by_user))

    def wake(self, *, users: Iterable[str] = (), rooms: Iterable[str] = ()) -> None:
        """Wake listeners of these users and of these rooms, telling no
        observer (a change another process made and published)."""
        woken: set[_Listener] = set()
        for user_id in users:
            woken |= self._by_user.get(user_id, set())
        for room_id in rooms:
            woken |= self._by_room.get(room_id, set())
        for listener in woken:
            self._wake(listener)

    def _wake(self, listener: _Listener) -> None:
        self._remove(listener)
        if not listener.deferred.called:
            listener.deferred.callback(None)

    def _remove(self, listener: _Listener) -> None:
        users = self._by_user.get(listener.user_id)
        if users is not None:
            users.discard(listener)
            if not users:
                del self._by_user[listener.user_id]
        for room_id in listener.rooms:
            listeners = self._by_room.get(room_id)
            if listeners is not None:
                listeners.discard(listener)
                if not listeners:
                    del self._by_room[room_id]

    async def wait(self, user_id: str, rooms: Iterable[str], timeout_ms: int) -> None:
        """Return when something concerning the user or their rooms happens, or
        after ``timeout_ms``. The caller checks what changed."""
        if timeout_ms <= 0:
            return
        listener = _Listener(user_id, frozenset(rooms), defer.Deferred())
        self._by_user.setdefault(user_id, set()).add(listener)
        for room_id in listener.rooms:
            self._by_room.setdefault(room_id, set()).add(listener)
        timer: Any = self.clock.call_later(timeout_ms / 1000, self._wake, listener)
        try:
            await listener.deferred
        finally:
            self._remove(listener)
            if timer.active():
                timer.cancel()

    def listener_count(self) -> int:
        """How many requests are waiting (for metrics and tests)."""
        return len({id(lst) for group in self._by_user.values() for lst in group})
