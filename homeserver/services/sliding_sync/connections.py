"""Sliding-sync connections: what each (user, device, conn_id) was sent.

In memory, per connection: the state the client has acknowledged (the rooms
sent, with the position, config and builder memory of each, while the room
is still the user's; each extension's memory) plus at most one pending change, the one of the last
``pos`` issued. A request with that ``pos`` acknowledges it (the pending
change is applied and the older state dropped); a request with the
acknowledged ``pos`` again is a retry (the pending change is thrown away); any
other ``pos`` is 400 M_UNKNOWN_POS. So a request costs the same whatever the
connection's age, and a connection holds one entry per room it was sent.

Bounded: at most ``MAX_PER_DEVICE`` connections per device (the least
recently used goes), and a connection idle for ``IDLE_MS`` is dropped.
"""

from __future__ import annotations

import itertools
import secrets

import attrs

from homeserver.errors import Codes, JsonDict, MatrixError
from homeserver.events.model import Membership
from homeserver.services.sliding_sync.model import RoomConfig
from homeserver.signals import DevicesChanged
from homeserver.streams.tokens import StreamToken

MAX_PER_DEVICE = 10
IDLE_MS = 24 * 60 * 60 * 1000
SWEEP_EVERY_MS = 60 * 1000


class UnknownPos(MatrixError):
    """400 M_UNKNOWN_POS: the connection or its position is gone."""

    def __init__(self, msg: str = "Unknown position") -> None:
        super().__init__(400, msg, Codes.UNKNOWN_POS)


@attrs.frozen
class RoomSent:
    """What a room was last sent with on a connection."""

    since: StreamToken
    config: RoomConfig
    memory: JsonDict
    membership: str
    membership_stream: int
    is_dm: bool


@attrs.define
class Changes:
    """What one response changed in its connection's state."""

    rooms: dict[str, RoomSent] = attrs.Factory(dict)
    extensions: dict[str, JsonDict] = attrs.Factory(dict)
    # Rooms the connection need not remember any more (see the service).
    forget: set[str] = attrs.Factory(set)


@attrs.define
class Connection:
    """One connection's acknowledged state and pending change."""

    key: tuple[str, str, str]
    pos: int | None = None
    token: StreamToken | None = None
    rooms: dict[str, RoomSent] = attrs.Factory(dict)
    extensions: dict[str, JsonDict] = attrs.Factory(dict)
    pending_pos: int | None = None
    pending_token: StreamToken | None = None
    pending: Changes | None = None
    last_used_ms: int = 0
    # The rooms last sent with a leave or ban (the only ones that can become
    # forgettable, see the service), so that no request scans every room.
    parted: set[str] = attrs.Factory(set)

    def acknowledge(self) -> None:
        """The client used the pending ``pos``: its changes now hold."""
        if self.pending is not None:
            self.rooms.update(self.pending.rooms)
            self.extensions.update(self.pending.extensions)
            for room_id, sent in self.pending.rooms.items():
                if sent.membership in (Membership.LEAVE, Membership.BAN):
                    self.parted.add(room_id)
                else:
                    self.parted.discard(room_id)
            for room_id in self.pending.forget:
                self.rooms.pop(room_id, None)
                self.parted.discard(room_id)
        self.pos, self.token = self.pending_pos, self.pending_token
        self.pending_pos = self.pending_token = self.pending = None


def format_pos(number: int, token: StreamToken) -> str:
    """The wire ``pos``: the connection position and the stream token."""
    return f"{number}/{token.to_string()}"


def _pos_number(pos: str) -> int:
    head, _, _ = pos.partition("/")
    if not head.isdigit():
        raise UnknownPos("Malformed pos")
    return int(head)


class Connections:
    """Every live connection, in memory (see the module doc)."""

    def __init__(self) -> None:
        self._by_device: dict[tuple[str, str], dict[str, Connection]] = {}
        # Random start: a pos from before a restart matches nothing.
        self._numbers = itertools.count(secrets.randbelow(1 << 30) + 1)
        self._last_sweep_ms = 0

    def __len__(self) -> int:
        return sum(len(conns) for conns in self._by_device.values())

    def resume(
        self, user_id: str, device_id: str, conn_id: str, pos: str | None, now_ms: int
    ) -> Connection:
        """The connection a request continues (a new one without ``pos``)."""
        self._sweep(now_ms)
        mine = self._by_device.setdefault((user_id, device_id), {})
        if pos is None:
            mine.pop(conn_id, None)
            while len(mine) >= MAX_PER_DEVICE:
                oldest = min(mine.values(), key=lambda c: c.last_used_ms)
                del mine[oldest.key[2]]
            conn = mine[conn_id] = Connection((user_id, device_id, conn_id))
        else:
            number = _pos_number(pos)
            found = mine.get(conn_id)
            if found is None:
                raise UnknownPos("Unknown connection")
            conn = found
            if number == conn.pending_pos:
                conn.acknowledge()
            elif number == conn.pos:
                conn.pending_pos = conn.pending_token = conn.pending = None
            else:
                raise UnknownPos()
        conn.last_used_ms = now_ms
        return conn

    def issue(self, conn: Connection, token: StreamToken, changes: Changes) -> str:
        """A new ``pos`` for a response with these changes."""
        number = next(self._numbers)
        conn.pending_pos, conn.pending_token, conn.pending = number, token, changes
        return format_pos(number, token)

    def on_devices_changed(self, changed: DevicesChanged) -> None:
        """``devices_changed`` receiver: a deleted device's connections go."""
        if changed.deleted:
            for device_id in changed.device_ids:
                self._by_device.pop((changed.user_id, device_id), None)

    def _sweep(self, now_ms: int) -> None:
        if now_ms - self._last_sweep_ms < SWEEP_EVERY_MS:
            return
        self._last_sweep_ms = now_ms
        for device, conns in list(self._by_device.items()):
            for conn_id, conn in list(conns.items()):
                if now_ms - conn.last_used_ms > IDLE_MS:
                    del conns[conn_id]
            if not conns:
                del self._by_device[device]
