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
part so /messages keeps accepting sync's ``prev_batch``. A simplified
sliding-sync ``pos`` (``<n>/<sync token>``, services/sliding_sync/connections.py)
is accepted the same way: MSC4186 lets clients pass it to /messages and
/relations as they would a /sync ``next_batch``.
"""

from __future__ import annotations

import enum
import operator
import re

import attrs

from homeserver.errors import InvalidParam
from homeserver.streams.registry import EVENTS, SYNC_STREAM_NAMES

_TOPOLOGICAL = re.compile(r"t(\d{1,19})-(-?\d{1,19})")
_STREAM = re.compile(r"s(\d{1,19})")
# A /sync token: "s" then the position of every stream, "_"-separated.
_SYNC = re.compile(r"s(\d{1,19})((?:_\d{1,19})*)")
# A sliding-sync pos: the connection's position, "/", a /sync token.
_SLIDING_POS = re.compile(r"\d{1,19}/(" + _SYNC.pattern + ")")
# The last sync token parsed, and what it parsed to (tokens are immutable).
_LAST_PARSED: list[tuple[str, StreamToken] | None] = [None]


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
        pos = _SLIDING_POS.fullmatch(value)
        match = _SYNC.fullmatch(value if pos is None else pos.group(1))
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


# A /sync token's first part doubles as a room stream token (see StreamToken).
if SYNC_STREAM_NAMES[0] != EVENTS.name:
    raise ImportError("the events stream must be the first synced stream")


@attrs.frozen
class StreamToken:
    """A /sync ``next_batch``: a position in every stream a client syncs on.

    Wire form ``s<events>_<account_data>_<receipts>_...``: the positions of the
    synced streams of ``streams/registry.py``, in declaration order. Its first
    part is also a valid room stream token, so /messages accepts it. Parts
    missing from an older token read as 0.
    """

    positions: tuple[int, ...] = attrs.field(default=(0,) * len(SYNC_STREAM_NAMES))

    @positions.validator
    def _check(
        self, _: attrs.Attribute[tuple[int, ...]], value: tuple[int, ...]
    ) -> None:
        if len(value) != len(SYNC_STREAM_NAMES):
            raise ValueError(f"a stream token has {len(SYNC_STREAM_NAMES)} parts")

    @classmethod
    def of(cls, **positions: int) -> StreamToken:
        """A token from stream names; streams not named are at 0."""
        unknown = set(positions) - set(SYNC_STREAM_NAMES)
        if unknown:
            raise ValueError(f"unknown streams {sorted(unknown)}")
        return cls(tuple(positions.get(name, 0) for name in SYNC_STREAM_NAMES))

    @classmethod
    def parse(cls, value: str, param: str = "since") -> StreamToken:
        """Parse a client-supplied sync token; 400 M_INVALID_PARAM if malformed."""
        last = _LAST_PARSED[0]
        if last is not None and last[0] == value:
            # The syncs one event wakes all go on from the same next_batch.
            return last[1]
        token = cls._parse(value, param)
        _LAST_PARSED[0] = (value, token)
        return token

    @classmethod
    def _parse(cls, value: str, param: str) -> StreamToken:
        match = _SYNC.fullmatch(value)
        if not match:
            raise InvalidParam(f"Invalid sync token in {param!r}")
        parts = [int(match.group(1))]
        parts += [int(p) for p in match.group(2).split("_") if p]
        if len(parts) > len(SYNC_STREAM_NAMES):
            raise InvalidParam(f"Invalid sync token in {param!r}")
        return cls(tuple(parts + [0] * (len(SYNC_STREAM_NAMES) - len(parts))))

    def to_string(self) -> str:
        """The wire form."""
        return "s" + "_".join(str(v) for v in self.positions)

    def get(self, stream: str) -> int:
        """The position in one stream (KeyError for a stream not synced)."""
        try:
            return self.positions[SYNC_STREAM_NAMES.index(stream)]
        except ValueError:
            raise KeyError(stream) from None

    @property
    def events(self) -> int:
        """The position in the events stream."""
        return self.positions[0]

    def copy_with(self, stream: str, position: int) -> StreamToken:
        """This token with one stream moved to ``position``."""
        index = SYNC_STREAM_NAMES.index(stream)
        return StreamToken(
            self.positions[:index] + (position,) + self.positions[index + 1 :]
        )

    def room_token(self) -> RoomStreamToken:
        """The events part, as a room stream token (for prev_batch)."""
        return RoomStreamToken(None, self.events)

    def is_after(self, other: StreamToken) -> bool:
        """Whether any stream is ahead of ``other``."""
        # map() over the two tuples (of the same length, checked when made):
        # every woken sync compares tokens a few times.
        return any(map(operator.gt, self.positions, other.positions))

    def clamped_to(self, upto: StreamToken) -> StreamToken:
        """This token with no stream ahead of ``upto``."""
        clamped = tuple(map(min, self.positions, upto.positions))
        return self if clamped == self.positions else StreamToken(clamped)

    def __str__(self) -> str:
        return self.to_string()
