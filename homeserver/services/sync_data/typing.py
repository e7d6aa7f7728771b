"""Typing notifications: who is typing in which room, in memory.

Spec: client-server API, "Typing Notifications". Typing is ephemeral, so it
is never stored: a restart forgets it and restarts the typing stream at 0
(/sync reads a typing position from the future as "now"). Each change to a
room's typists takes the next position of the typing stream (declared in
``streams/registry.py`` with nothing to load from), and each room
remembers the position of its last change, so /sync can ask which rooms
changed since a token.

A user stops typing when their timeout runs out (default 30 s, at most
120 s), when they say so, when they send an event into the room, or when they
leave it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from homeserver.errors import Forbidden
from homeserver.events.model import EventTypes, Membership
from homeserver.services.accounts.auth import Requester
from homeserver.services.rooms.room_permissions import RoomPermissions
from homeserver.services.sync_data.stream_writers import TypingWriter
from homeserver.signals import NewEvent, Signal, TypingChanged
from homeserver.storage.id_generators import StreamIdGenerator
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import TYPING
from homeserver.types import JsonDict
from homeserver.util.background import run_in_background
from homeserver.util.clock import Clock
from homeserver.util.ports import Port

TYPING_STREAM = TYPING.name
DEFAULT_TIMEOUT_MS = 30_000
MAX_TIMEOUT_MS = 120_000


class TypingService:
    """Tracks typists per room and serves the typing stream.

    Args:
        permissions: to check the typist is joined.
        notifier: woken for the room on every change.
        stream_ids: the typing stream's positions.
        changed: emitted on every start, renewal and stop.
        clock: for timeouts.
    """

    def __init__(
        self,
        *,
        permissions: RoomPermissions,
        notifier: Notifier,
        stream_ids: StreamIdGenerator,
        changed: Signal[TypingChanged],
        clock: Clock,
    ) -> None:
        self.permissions = permissions
        self.notifier = notifier
        self.stream_ids = stream_ids
        self.changed = changed
        self.clock = clock
        # room -> user -> the timer (an IDelayedCall) that ends their typing.
        self._typists: dict[str, dict[str, Any]] = {}
        # room -> the typing stream position of its last change.
        self._room_positions: dict[str, int] = {}
        # The typing stream's writer: here unless worker mode plugs another
        # (then this process holds the writer's rooms as replicated).
        self.writer: Port[TypingWriter] = Port(_LocalTyping(self))

    async def set_typing(
        self,
        requester: Requester,
        room_id: str,
        user_id: str,
        typing: bool,
        timeout_ms: int | None = None,
    ) -> JsonDict:
        """PUT /rooms/{roomId}/typing/{userId}.

        Args:
            requester: who types (only for themselves).
            room_id: where.
            user_id: the typist.
            typing: whether they type.
            timeout_ms: how long at most (not negative; capped at
                ``MAX_TIMEOUT_MS``, 30 s if not given).
        """
        if timeout_ms is None:
            timeout_ms = DEFAULT_TIMEOUT_MS
        timeout_ms = min(timeout_ms, MAX_TIMEOUT_MS)
        if requester.user_id != user_id:
            raise Forbidden("Cannot set another user's typing state")
        if not await self.permissions.is_joined(room_id, user_id):
            raise Forbidden("You are not joined to this room")
        if requester.shadow_banned:
            return {}
        await self.writer.get().set_typing(room_id, user_id, typing, timeout_ms)
        return {}

    def apply_typing(
        self, room_id: str, user_id: str, typing: bool, timeout_ms: int
    ) -> None:
        """Set a checked typist here, on the typing stream's writer."""
        if typing:
            self.started_typing(room_id, user_id, timeout_ms)
        else:
            self.stopped_typing(room_id, user_id)

    def apply_replicated(
        self, room_id: str, user_ids: Collection[str], position: int
    ) -> None:
        """On a process that is not the typing writer: the room's typists
        as the writer published them at ``position`` (the writer runs the
        timeouts; the caller advances the stream and wakes the syncs)."""
        if user_ids:
            self._typists[room_id] = dict.fromkeys(user_ids, _Replicated())
        else:
            self._typists.pop(room_id, None)
        self._room_positions[room_id] = position

    def started_typing(self, room_id: str, user_id: str, timeout_ms: int) -> None:
        """Mark a user typing for ``timeout_ms``; renewing moves only the timer."""
        typists = self._typists.setdefault(room_id, {})
        timer = typists.get(user_id)
        if timer is not None and timer.active():
            timer.reset(timeout_ms / 1000)
            self._tell(room_id, user_id, True)
            return
        typists[user_id] = self.clock.call_later(
            timeout_ms / 1000, self._expire, room_id, user_id
        )
        self._changed(room_id)
        self._tell(room_id, user_id, True)

    def stopped_typing(self, room_id: str, user_id: str) -> None:
        """Mark a user not typing (nothing changes if they were not)."""
        typists = self._typists.get(room_id, {})
        timer = typists.pop(user_id, None)
        if timer is None:
            return
        if timer.active():
            timer.cancel()
        if not typists:
            del self._typists[room_id]
        self._changed(room_id)
        self._tell(room_id, user_id, False)

    def _expire(self, room_id: str, user_id: str) -> None:
        typists = self._typists.get(room_id, {})
        typists.pop(user_id, None)
        if not typists:
            self._typists.pop(room_id, None)
        self._changed(room_id)
        self._tell(room_id, user_id, False)

    def _tell(self, room_id: str, user_id: str, typing: bool) -> None:
        self.changed.emit(TypingChanged(room_id, user_id, typing))

    def _changed(self, room_id: str) -> None:
        self._room_positions[room_id] = self.stream_ids.allocate_raw()
        self.notifier.notify(TYPING_STREAM, rooms=[room_id])

    def on_new_event(self, new: NewEvent) -> None:
        """``new_event`` receiver: a user who leaves a room stops typing there.

        Sending an event does not end typing: the spec has the client say
        when it stops (or the timeout run out), and Synapse does the same, so
        other members' syncs see the typing notice either way.
        """
        event = new.event
        room_id = event.room_id
        if room_id not in self._typists:
            return
        if event.type == EventTypes.MEMBER and event.state_key:
            if event.membership != Membership.JOIN:
                run_in_background(
                    "typing_stop_on_leave",
                    self.writer.get().set_typing(room_id, event.state_key, False, 0),
                )

    def get_typing_for_rooms(
        self, room_ids: Collection[str], since: int | None
    ) -> dict[str, JsonDict]:
        """The ``m.typing`` ephemeral event content for rooms whose typists changed.

        Args:
            room_ids: the rooms to look at.
            since: the client's typing position; None (or a position from
                before a restart, i.e. from the future) for an initial sync,
                which gets every room with someone typing.

        Returns:
            room ID -> ``{"user_ids": [...]}``; the list may be empty (everyone
            stopped). Unchanged rooms are left out.
        """
        if since is not None and since > self.stream_ids.current_position():
            since = None
        out: dict[str, JsonDict] = {}
        for room_id in room_ids:
            typists = self._typists.get(room_id)
            if since is None:
                if not typists:
                    continue
            elif self._room_positions.get(room_id, 0) <= since:
                continue
            out[room_id] = {"user_ids": sorted(typists or ())}
        return out


class _LocalTyping:
    """The null writer: typists are held by this process."""

    def __init__(self, service: TypingService) -> None:
        self.service = service

    async def set_typing(
        self, room_id: str, user_id: str, typing: bool, timeout_ms: int
    ) -> None:
        self.service.apply_typing(room_id, user_id, typing, timeout_ms)


class _Replicated:
    """The timer stand-in of a typist replicated from the writer (which runs
    the real timer)."""

    def active(self) -> bool:
        return False

    def cancel(self) -> None:
        return None
