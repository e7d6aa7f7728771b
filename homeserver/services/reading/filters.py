"""Event filters: parsing, validation and matching.

Spec: client-server API, "Filtering" (EventFilter, RoomEventFilter,
RoomFilter, Filter). /messages and /context take a RoomEventFilter in their
``filter`` query parameter; /sync reuses the whole ``Filter``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar

import attrs

from homeserver.errors import BadJson, InvalidParam
from homeserver.events.ids import is_valid_server_name, is_valid_user_id
from homeserver.events.model import Event
from homeserver.util.json_values import find_bad_value
from homeserver.util.structure import StructureError, structure

E = TypeVar("E", bound=Event)
# A filter's ``limit`` above this is served as this: however large the number
# a client stores, no response and no query grows past it.
MAX_FILTER_LIMIT = 1000


def _not_negative(_: Any, attribute: attrs.Attribute, value: int | None) -> None:
    # 0 is allowed: a timeline of no events (Synapse accepts it too).
    if value is not None and value < 0:
        raise ValueError("must be an integer of at least 0")


def _is_room_id(value: str) -> bool:
    """``!opaque:server`` or, from room version 12, ``!opaque`` alone."""
    if not value.startswith("!") or len(value) < 2 or "\x00" in value:
        return False
    opaque, sep, domain = value[1:].partition(":")
    if any(c.isspace() for c in opaque):
        return False
    return not sep or is_valid_server_name(domain)


def _ids(check: Callable[[str], bool], what: str) -> Callable[..., None]:
    """A validator for a list of IDs (or None) that each pass ``check``."""

    def validate(_: Any, attribute: attrs.Attribute, value: list[str] | None) -> None:
        for item in value or ():
            if not check(item):
                raise ValueError(f"not a valid {what}: {item!r}")

    return validate


_room_ids = _ids(_is_room_id, "room ID")
_user_ids = _ids(is_valid_user_id, "user ID")


def _bounded(value: int | None) -> int | None:
    """A positive ``limit`` capped at ``MAX_FILTER_LIMIT``."""
    if isinstance(value, int) and value > MAX_FILTER_LIMIT:
        return MAX_FILTER_LIMIT
    return value


@functools.lru_cache(maxsize=1024)
def _wildcard_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for a list of event-type patterns where ``*`` matches anything."""
    parts = (
        ".*".join(re.escape(p) for p in pattern.split("*")) for pattern in patterns
    )
    return re.compile("|".join(f"(?:{part})" for part in parts))


def matches_any(value: str, patterns: Sequence[str]) -> bool:
    """Whether ``value`` matches one of ``patterns`` (``*`` is a wildcard)."""
    if not patterns:
        return False
    return _wildcard_regex(tuple(patterns)).fullmatch(value) is not None


def has_wildcard(patterns: Iterable[str]) -> bool:
    """Whether any pattern needs wildcard matching."""
    return any("*" in pattern for pattern in patterns)


@attrs.frozen(kw_only=True)
class EventFilter:
    """Which events to return: by type and sender, and how many."""

    limit: int | None = attrs.field(
        default=None, validator=_not_negative, converter=_bounded
    )
    types: list[str] | None = None
    not_types: list[str] = attrs.field(factory=list)
    senders: list[str] | None = attrs.field(default=None, validator=_user_ids)
    not_senders: list[str] = attrs.field(factory=list, validator=_user_ids)

    def check(self, event: Event) -> bool:
        """Whether ``event`` passes the filter (``limit`` aside)."""
        return self.check_fields(event.type, event.sender)

    def check_fields(self, event_type: str, sender: str) -> bool:
        """The type/sender part of the check, for non-room events too."""
        if sender in self.not_senders:
            return False
        if self.senders is not None and sender not in self.senders:
            return False
        if matches_any(event_type, self.not_types):
            return False
        return self.types is None or matches_any(event_type, self.types)

    def filter(self, events: Iterable[E]) -> list[E]:
        """The events that pass, in order (``limit`` is left to the caller)."""
        return [event for event in events if self.check(event)]

    @property
    def is_open(self) -> bool:
        """Whether the filter lets everything through."""
        return (
            self.types is None
            and not self.not_types
            and self.senders is None
            and not self.not_senders
        )


@attrs.frozen(kw_only=True)
class RoomEventFilter(EventFilter):
    """An EventFilter for room events: rooms, URLs and lazy-loaded members."""

    rooms: list[str] | None = attrs.field(default=None, validator=_room_ids)
    not_rooms: list[str] = attrs.field(factory=list, validator=_room_ids)
    contains_url: bool | None = None
    lazy_load_members: bool = False
    include_redundant_members: bool = False
    unread_thread_notifications: bool = False
    # Only events that a relation of one of these types (from one of these
    # senders) points at; applied in SQL (spec v1.4, "Filtering" under
    # "Threading"), so always through the row filter.
    related_by_rel_types: list[str] | None = None
    related_by_senders: list[str] | None = attrs.field(
        default=None, validator=_user_ids
    )

    def check(self, event: Event) -> bool:
        if not super().check(event):
            return False
        room_id = event.room_id
        if room_id in self.not_rooms:
            return False
        if self.rooms is not None and room_id not in self.rooms:
            return False
        if self.contains_url is not None:
            has_url = isinstance(event.content.get("url"), str)
            if has_url != self.contains_url:
                return False
        return True

    @property
    def is_open(self) -> bool:
        return (
            super().is_open
            and self.rooms is None
            and not self.not_rooms
            and self.contains_url is None
            and self.related_by_rel_types is None
            and self.related_by_senders is None
        )


@attrs.frozen(kw_only=True)
class RoomFilter:
    """Which rooms, and which of each room's data, /sync returns."""

    rooms: list[str] | None = attrs.field(default=None, validator=_room_ids)
    not_rooms: list[str] = attrs.field(factory=list, validator=_room_ids)
    include_leave: bool = False
    ephemeral: RoomEventFilter = attrs.field(factory=RoomEventFilter)
    state: RoomEventFilter = attrs.field(factory=RoomEventFilter)
    timeline: RoomEventFilter = attrs.field(factory=RoomEventFilter)
    account_data: RoomEventFilter = attrs.field(factory=RoomEventFilter)

    def includes_room(self, room_id: str) -> bool:
        """Whether ``room_id`` passes ``rooms``/``not_rooms``."""
        if room_id in self.not_rooms:
            return False
        return self.rooms is None or room_id in self.rooms


@attrs.frozen(kw_only=True)
class Filter:
    """A whole filter as uploaded with POST /user/{userId}/filter."""

    event_fields: list[str] | None = None
    event_format: Literal["client", "federation"] = "client"
    presence: EventFilter = attrs.field(factory=EventFilter)
    account_data: EventFilter = attrs.field(factory=EventFilter)
    room: RoomFilter = attrs.field(factory=RoomFilter)


T = TypeVar("T")


def parse_filter(cls: type[T], data: Any) -> T:
    """Build ``cls`` (any of the filter classes) from parsed JSON.

    Unknown keys are ignored, as the spec asks of servers. The request-body
    rules apply to filters given inline in a query parameter as well: no NUL
    characters, integers within the canonical JSON range
    (``homeserver/util/json_values.py``).

    Raises:
        BadJson: 400 M_BAD_JSON naming the offending key.
    """
    problem = find_bad_value(data)
    if problem is not None:
        raise BadJson(f"Invalid filter: {problem}")
    try:
        return structure(cls, data, strict=False)  # type: ignore[no-any-return]
    except StructureError as exc:
        raise BadJson(f"Invalid filter: {exc}") from None


def parse_filter_param(cls: type[T], value: str | None) -> T | None:
    """A filter given as JSON in a query parameter (``?filter=``), or None.

    Raises:
        InvalidParam: 400 M_INVALID_PARAM if it is not JSON.
        BadJson: 400 M_BAD_JSON if it is JSON of the wrong shape.
    """
    if value is None or value == "":
        return None
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        raise InvalidParam("filter is not valid JSON") from None
    return parse_filter(cls, data)
