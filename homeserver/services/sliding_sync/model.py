"""The sliding-sync room model (MSC4186): room configs and what the builder gets.

Pure: no I/O. ``required_state`` arrives in two formats and is normalised into
one :class:`RequiredState`:

- deployed (Synapse, Element X, matrix-js-sdk): a list of ``[type, state_key]``
  pairs, ``"*"`` a wildcard, ``["m.room.member", "$LAZY"]`` lazy members;
- merged MSC: ``{"include": [{type?, state_key?}], "exclude": [...],
  "lazy_members": bool}``, an omitted field a wildcard.

In the normalised form ``None`` is a wildcard; ``"$ME"`` stays as given (the
builder resolves it, :meth:`RequiredState.for_user`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Protocol

import attrs

from homeserver.errors import BadJson, InvalidParam, JsonDict, MissingParam
from homeserver.services.accounts.auth import Requester
from homeserver.streams.tokens import StreamToken

Element = tuple[str | None, str | None]

WILDCARD = "*"
LAZY = "$LAZY"
ME = "$ME"
MEMBER = "m.room.member"
# The cap on one room config's timeline (Synapse takes what it is given; a
# client asking for more than this gets this many).
MAX_TIMELINE_LIMIT = 1000


def _overlaps(a: Element, b: Element) -> bool:
    """Whether some (type, state_key) matches both elements."""
    return all(x is None or y is None or x == y for x, y in zip(a, b, strict=True))


def _covers(wide: Element, narrow: Element) -> bool:
    """Whether everything ``narrow`` matches, ``wide`` matches too."""
    return all(w is None or w == n for w, n in zip(wide, narrow, strict=True))


def _matches(element: Element, event_type: str, state_key: str) -> bool:
    t, k = element
    return (t is None or t == event_type) and (k is None or k == state_key)


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise BadJson(f"{what} must be a string")
    return value


def _parse_pair(item: object) -> Element | None:
    """One deployed-format ``[type, state_key]``; None for ``$LAZY``."""
    if not isinstance(item, list) or len(item) != 2:
        raise BadJson("required_state entries must be [type, state_key] pairs")
    event_type = _string(item[0], "required_state type")
    state_key = _string(item[1], "required_state state_key")
    if event_type == MEMBER and state_key == LAZY:
        return None
    return (
        None if event_type == WILDCARD else event_type,
        None if state_key == WILDCARD else state_key,
    )


def _parse_elements(value: object, what: str) -> frozenset[Element]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise BadJson(f"required_state.{what} must be a list")
    out: set[Element] = set()
    for item in value:
        if not isinstance(item, dict):
            raise BadJson(f"required_state.{what} entries must be objects")
        event_type = item.get("type")
        state_key = item.get("state_key")
        if event_type is not None:
            _string(event_type, "required_state type")
        if state_key is not None:
            _string(state_key, "required_state state_key")
        out.add((event_type, state_key))
    return frozenset(out)


@attrs.frozen(cache_hash=True)
class RequiredState:
    """Which state of a room to send; ``None`` in an element matches anything.

    ``combine`` is memoised: each request of a connection combines and
    compares the same few configs for every room in range (Element X's room
    list asks for 11 state keys: about 2 ms of a quiet request before)."""

    include: frozenset[Element] = frozenset()
    exclude: frozenset[Element] = frozenset()
    lazy_members: bool = False

    @classmethod
    def parse(cls, value: object) -> RequiredState:
        """Either format; 400 M_BAD_JSON when it is neither."""
        if isinstance(value, list):
            include: set[Element] = set()
            lazy = False
            for item in value:
                element = _parse_pair(item)
                if element is None:
                    lazy = True
                else:
                    include.add(element)
            return cls(frozenset(include), frozenset(), lazy).normalised()
        if isinstance(value, dict):
            lazy_value = value.get("lazy_members", False)
            if not isinstance(lazy_value, bool):
                raise BadJson("required_state.lazy_members must be a boolean")
            return cls(
                _parse_elements(value.get("include"), "include"),
                _parse_elements(value.get("exclude"), "exclude"),
                lazy_value,
            ).normalised()
        raise BadJson("required_state must be a list of pairs or an object")

    def returns_all_members(self) -> bool:
        """Whether every membership event is returned without lazy loading."""
        everything: Element = (MEMBER, None)
        return any(_covers(e, everything) for e in self.include) and not any(
            _overlaps(e, everything) for e in self.exclude
        )

    def normalised(self) -> RequiredState:
        """Drop elements a wider one already covers, and needless lazy loading."""
        return _normalised(self)

    def _normalise(self) -> RequiredState:
        include = frozenset(
            e
            for e in self.include
            if not any(o != e and _covers(o, e) for o in self.include)
        )
        exclude = frozenset(
            e
            for e in self.exclude
            if not any(o != e and _covers(o, e) for o in self.exclude)
            and any(_overlaps(e, i) for i in include)
        )
        out = RequiredState(include, exclude, self.lazy_members)
        if out.lazy_members and out.returns_all_members():
            out = attrs.evolve(out, lazy_members=False)
        return out

    def _kept_excludes(self, other: RequiredState) -> set[Element]:
        """Exclusions of ``self`` that drop nothing ``other`` would return."""
        return {
            x
            for x in self.exclude
            if any(_covers(o, x) for o in other.exclude)
            or not any(_overlaps(i, x) for i in other.include)
        }

    def combine(self, other: RequiredState) -> RequiredState:
        """A config returning at least what either returns (the MSC's union)."""
        return _combine(self, other)

    def matches(self, event_type: str, state_key: str) -> bool:
        """Whether a state event is asked for (lazy members aside)."""
        return any(_matches(e, event_type, state_key) for e in self.include) and not (
            any(_matches(e, event_type, state_key) for e in self.exclude)
        )

    def for_user(self, user_id: str) -> RequiredState:
        """``$ME`` replaced by the user's ID."""

        def sub(elements: frozenset[Element]) -> frozenset[Element]:
            return frozenset((t, user_id if k == ME else k) for t, k in elements)

        return RequiredState(sub(self.include), sub(self.exclude), self.lazy_members)

    def to_json(self) -> JsonDict:
        """The merged-MSC form (also how a config is stored)."""

        def dump(elements: frozenset[Element]) -> list[JsonDict]:
            out = []
            for t, k in sorted(elements, key=lambda e: (e[0] or "", e[1] or "")):
                item: JsonDict = {}
                if t is not None:
                    item["type"] = t
                if k is not None:
                    item["state_key"] = k
                out.append(item)
            return out

        return {
            "include": dump(self.include),
            "exclude": dump(self.exclude),
            "lazy_members": self.lazy_members,
        }


@functools.lru_cache(maxsize=1024)
def _normalised(required: RequiredState) -> RequiredState:
    # Memoised: every request parses its configs again.
    return required._normalise()


@functools.lru_cache(maxsize=1024)
def _combine(a: RequiredState, b: RequiredState) -> RequiredState:
    exclude = a._kept_excludes(b) | b._kept_excludes(a)
    return RequiredState(
        a.include | b.include,
        frozenset(exclude),
        a.lazy_members or b.lazy_members,
    ).normalised()


def parse_timeline_limit(value: object) -> int:
    """A ``timeline_limit``: a non-negative integer, capped."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadJson("timeline_limit must be an integer")
    if value < 0:
        raise InvalidParam("timeline_limit must not be negative")
    return min(value, MAX_TIMELINE_LIMIT)


@attrs.frozen
class RoomConfig:
    """What to send of one room: its timeline length and its state."""

    timeline_limit: int
    required_state: RequiredState

    @classmethod
    def parse(cls, value: object, what: str = "room config") -> RoomConfig:
        """``{timeline_limit, required_state}`` of a list or a subscription."""
        if not isinstance(value, dict):
            raise BadJson(f"{what} must be an object")
        for name in ("timeline_limit", "required_state"):
            if name not in value:
                raise MissingParam(name)
        return cls(
            parse_timeline_limit(value["timeline_limit"]),
            RequiredState.parse(value["required_state"]),
        )

    def combine(self, other: RoomConfig) -> RoomConfig:
        """The superset of two configs: the longer timeline, the union of state."""
        return RoomConfig(
            max(self.timeline_limit, other.timeline_limit),
            self.required_state.combine(other.required_state),
        )

    def expands(self, old: RoomConfig) -> bool:
        """Whether this config asks for more than ``old`` did."""
        if self == old:
            return False
        if self.timeline_limit > old.timeline_limit:
            return True
        return old.required_state.combine(self.required_state) != old.required_state

    def to_json(self) -> JsonDict:
        return {
            "timeline_limit": self.timeline_limit,
            "required_state": self.required_state.to_json(),
        }

    @classmethod
    def from_json(cls, value: Any) -> RoomConfig:
        """A config stored by :meth:`to_json`."""
        return cls.parse(value)


@attrs.frozen
class RoomRequest:
    """What the room builder is asked for one room of one response."""

    room_id: str
    config: RoomConfig
    lists: tuple[str, ...]
    membership: str
    membership_stream: int
    since: StreamToken | None
    upto: StreamToken
    memory: JsonDict | None
    # Where the connection's previous response ended (None on a new
    # connection): events after it are live (``num_live``) even in a room
    # sent for the first time.
    connection_since: StreamToken | None = None


@attrs.frozen
class RoomAnswer:
    """The builder's answer: the room's entry (None: nothing new), its memory
    and, when the builder says so, the config the connection is to remember
    for the room (None: the union of what it had and what was asked)."""

    result: JsonDict | None
    memory: JsonDict
    keep: RoomConfig | None = None


class RoomBuilder(Protocol):
    """What the service calls for each room it sends (Contract A): first
    ``prepare`` with every room of the response (to read in batches), then
    ``build`` for each."""

    async def prepare(
        self, requester: Requester, reqs: Sequence[RoomRequest]
    ) -> None: ...  # pragma: no cover

    async def build(
        self, requester: Requester, req: RoomRequest
    ) -> RoomAnswer: ...  # pragma: no cover
