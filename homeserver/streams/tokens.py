"""Pagination tokens for a room's timeline: the one place they are defined.

Spec: client-server API, "Pagination" and "Getting events for a room"
(``from``/``to``/``start``/``end`` are opaque strings to clients).

Two forms, as Synapse uses:

``t<depth>-<stream>``
    a *topological* position: the gap just after the event at
    ``(depth, stream_ordering)`` in the room's (depth, stream) order. Going
    backwards from it includes that event; going forwards excludes it.
``s<stream>``
    a *stream* position: the gap just after ``stream_ordering`` N in the
    server's order of arrival (what /sync hands out). Going backwards from it
    includes events with stream <= N; going forwards, those with stream > N.

The /sync work adds a multi-stream token whose room part is a
``RoomStreamToken``; it should parse with ``RoomStreamToken.parse`` on that
part so /messages keeps accepting sync's ``prev_batch``.
"""

from __future__ import annotations

import enum
import re

import attrs

from homeserver.errors import InvalidParam

_TOPOLOGICAL = re.compile(r"t(\d{1,19})-(-?\d{1,19})")
_STREAM = re.compile(r"s(\d{1,19})")
# A /sync token: "s" then the position of every stream, "_"-separated.
_SYNC = re.compile(r"s(\d{1,19})((?:_\d{1,19})*)")


class Direction(enum.Enum):
    """Which way to paginate: ``b`` (newest first) or ``f`` (oldest first)."""

    BACKWARDS = "b"
    FORWARDS = "f"

    @classmethod
    def parse(cls, value: str | None) -> Direction:
        """``b`` or ``f``; 400 M_INVALID_PARAM otherwise."""
        for member in cls:
            if member.value == value:
                return member
        raise InvalidParam("dir must be 'b' or 'f'")


@attrs.frozen
class TopologicalPosition:
    """Where an event sits in a room's (depth, stream_ordering) order."""

    depth: int
    stream: int

    def as_tuple(self) -> tuple[int, int]:
        return (self.depth, self.stream)


@attrs.frozen
class RoomStreamToken:
    """A position between events in a room's timeline.

    Args:
        topological: the depth part; None for a pure stream token.
        stream: the stream_ordering part.
    """

    topological: int | None
    stream: int

    @classmethod
    def parse(cls, value: str, param: str = "from") -> RoomStreamToken:
        """Parse a client-supplied token.

        Raises:
            InvalidParam: 400 M_INVALID_PARAM naming ``param`` if malformed.
        """
        match = _TOPOLOGICAL.fullmatch(value)
        if match:
            return cls(int(match.group(1)), int(match.group(2)))
        match = _SYNC.fullmatch(value)
        if match:
            # A bare stream token, or a /sync token whose room part is first.
            return cls(None, int(match.group(1)))
        raise InvalidParam(f"Invalid pagination token in {param!r}")

    @classmethod
    def after_event(
        cls, position: TopologicalPosition, direction: Direction
    ) -> RoomStreamToken:
        """The token that continues past an event paginated in ``direction``.

        Going backwards the next page must exclude the event, so the gap is
        moved to just before it (stream - 1); going forwards, just after it.
        """
        if direction is Direction.BACKWARDS:
            return cls(position.depth, position.stream - 1)
        return cls(position.depth, position.stream)

    @classmethod
    def before_event(cls, position: TopologicalPosition) -> RoomStreamToken:
        """The gap just before an event (backwards from here excludes it)."""
        return cls(position.depth, position.stream - 1)

    @classmethod
    def at_event(cls, position: TopologicalPosition) -> RoomStreamToken:
        """The gap just after an event (forwards from here excludes it)."""
        return cls(position.depth, position.stream)

    @property
    def is_topological(self) -> bool:
        return self.topological is not None

    def to_string(self) -> str:
        """The wire form, ``t<depth>-<stream>`` or ``s<stream>``."""
        if self.topological is None:
            return f"s{self.stream}"
        return f"t{self.topological}-{self.stream}"

    def __str__(self) -> str:
        return self.to_string()


START_OF_ROOM = RoomStreamToken(0, 0)
"""Forwards from here is the whole room (depths start at 1)."""


STREAM_NAMES = (
    "events",
    "account_data",
    "receipts",
    "typing",
    "presence",
    "to_device",
    "device_lists",
)


@attrs.frozen
class StreamToken:
    """A /sync ``next_batch``: a position in every stream a client syncs on.

    Wire form ``s<events>_<account_data>_<receipts>_<typing>_<presence>_
    <to_device>_<device_lists>``; its first part is also a valid room stream
    token, so /messages accepts it. Parts missing from an older token read as 0.
    """

    events: int = 0
    account_data: int = 0
    receipts: int = 0
    typing: int = 0
    presence: int = 0
    to_device: int = 0
    device_lists: int = 0

    @classmethod
    def parse(cls, value: str, param: str = "since") -> StreamToken:
        """Parse a client-supplied sync token; 400 M_INVALID_PARAM if malformed."""
        match = _SYNC.fullmatch(value)
        if not match:
            raise InvalidParam(f"Invalid sync token in {param!r}")
        parts = [int(match.group(1))]
        parts += [int(p) for p in match.group(2).split("_") if p]
        if len(parts) > len(STREAM_NAMES):
            raise InvalidParam(f"Invalid sync token in {param!r}")
        return cls(*parts)

    def to_string(self) -> str:
        """The wire form."""
        values = [getattr(self, name) for name in STREAM_NAMES]
        return "s" + "_".join(str(v) for v in values)

    def get(self, stream: str) -> int:
        """The position in one stream."""
        return int(getattr(self, stream))

    def copy_with(self, stream: str, position: int) -> StreamToken:
        """This token with one stream moved to ``position``."""
        return attrs.evolve(self, **{stream: position})

    def room_token(self) -> RoomStreamToken:
        """The events part, as a room stream token (for prev_batch)."""
        return RoomStreamToken(None, self.events)

    def is_after(self, other: StreamToken) -> bool:
        """Whether any stream is ahead of ``other``."""
        return any(self.get(n) > other.get(n) for n in STREAM_NAMES)

    def __str__(self) -> str:
        return self.to_string()
