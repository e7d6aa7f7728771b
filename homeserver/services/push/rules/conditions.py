"""Push rule conditions, compiled once (spec v1.19 "Push Rules: Conditions").

A condition's JSON is compiled into a small matcher object. Identical
conditions are interned (the same object for every user), so the evaluator can
remember a condition's result per event and answer it for the next member with
a dict lookup. Only ``contains_display_name`` depends on the member.

Unrecognised or malformed conditions compile to a matcher that never matches
(the spec: "Unrecognised conditions MUST NOT match any events").
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import attrs

from homeserver.services.push.rules.paths import (
    glob_regex,
    has_wildcards,
    literal_word_regex,
    split_path,
)
from homeserver.types import JsonDict

if TYPE_CHECKING:
    from homeserver.services.push.rules.evaluator import EventEvaluator

MISSING: Any = object()
_BODY_PATH = ("content", "body")
_MEMBER_COUNT = re.compile(r"^(==|<=|>=|<|>)?([0-9]+)$")
_SAFE_INT = 2**53 - 1


def is_simple_value(value: object) -> bool:
    """A non-compound canonical JSON value (string, safe integer, bool, null)."""
    if value is None or isinstance(value, str | bool):
        return True
    return isinstance(value, int) and -_SAFE_INT <= value <= _SAFE_INT


def _same_value(a: object, b: object) -> bool:
    # Exact: no casts, so True is not 1 and "true" is not True.
    return type(a) is type(b) and a == b


@attrs.define(eq=False, slots=True)
class Condition:
    """A compiled condition; hashes by identity (interned objects)."""

    member_dependent = False

    def matches(self, ev: EventEvaluator, display_name: str | None) -> bool:
        """Whether the event satisfies the condition."""
        raise NotImplementedError


@attrs.define(eq=False, slots=True)
class Never(Condition):
    def matches(self, ev: EventEvaluator, display_name: str | None) -> bool:
        return False


@attrs.define(eq=False, slots=True)
class EventMatch(Condition):
    path: tuple[str, ...]
    lowered: str  # the pattern, for the exact (no wildcard) whole-value case
    regex: re.Pattern[str] | None

    def matches(self, ev: EventEvaluator, display_name: str | None) -> bool:
        value = ev.lookup(self.path)
        if not isinstance(value, str):
            return False
        if self.regex is None:
            return ev.lowered(self.path, value) == self.lowered
        if self.path == _BODY_PATH:
            return self.regex.search(value) is not None
        return self.regex.match(value) is not None


@attrs.define(eq=False, slots=True)
class PropertyIs(Condition):
    path: tuple[str, ...]
    value: object

    def matches(self, ev: EventEvaluator, display_name: str | None) -> bool:
        return _same_value(ev.lookup(self.path), self.value)


@attrs.define(eq=False, slots=True)
class PropertyContains(Condition):
    path: tuple[str, ...]
    value: object

    def matches(self, ev: EventEvaluator, display_name: str | None) -> bool:
        found = ev.lookup(self.path)
        if not isinstance(found, list):
            return False
        return any(_same_value(item, self.value) for item in found)


@attrs.define(eq=False, slots=True)
class ContainsDisplayName(Condition):
    member_dependent = True

    def matches(self, ev: EventEvaluator, display_name: str | None) -> bool:
        if not display_name:
            return False
        body = ev.lookup(_BODY_PATH)
        if not isinstance(body, str):
            return False
        # A cheap substring test first: most bodies do not name most members.
        if display_name.lower() not in ev.lowered(_BODY_PATH, body):
            return False
        return literal_word_regex(display_name).search(body) is not None


@attrs.define(eq=False, slots=True)
class RoomMemberCount(Condition):
    op: str
    number: int

    def matches(self, ev: EventEvaluator, display_name: str | None) -> bool:
        count, n = ev.room.member_count, self.number
        if self.op == "<":
            return count < n
        if self.op == ">":
            return count > n
        if self.op == "<=":
            return count <= n
        if self.op == ">=":
            return count >= n
        return count == n


@attrs.define(eq=False, slots=True)
class SenderPermission(Condition):
    key: str

    def matches(self, ev: EventEvaluator, display_name: str | None) -> bool:
        required = ev.room.notification_power_levels.get(self.key, 50)
        return ev.room.sender_power_level >= required


def parse_member_count(expr: object) -> tuple[str, int] | None:
    """``room_member_count``'s ``is`` as (operator, number), or None if bad."""
    if not isinstance(expr, str):
        return None
    found = _MEMBER_COUNT.match(expr)
    if found is None:
        return None
    return found.group(1) or "==", int(found.group(2))


_NEVER = Never()
_DISPLAY_NAME = ContainsDisplayName()


@lru_cache(maxsize=16384)
def _event_match(key: str, pattern: str) -> Condition:
    path = split_path(key)
    if path == _BODY_PATH:
        return EventMatch(
            path=path,
            lowered=pattern.lower(),
            regex=glob_regex(pattern, word_boundary=True),
        )
    regex = glob_regex(pattern, word_boundary=False) if has_wildcards(pattern) else None
    return EventMatch(path=path, lowered=pattern.lower(), regex=regex)


@lru_cache(maxsize=16384)
def _property(kind: str, key: str, value_type: str, value: object) -> Condition:
    path = split_path(key)
    if kind == "event_property_is":
        return PropertyIs(path=path, value=value)
    return PropertyContains(path=path, value=value)


@lru_cache(maxsize=1024)
def _member_count(expr: str) -> Condition:
    parsed = parse_member_count(expr)
    return _NEVER if parsed is None else RoomMemberCount(op=parsed[0], number=parsed[1])


@lru_cache(maxsize=1024)
def _permission(key: str) -> Condition:
    return SenderPermission(key=key)


def compile_condition(condition: JsonDict) -> Condition:
    """The interned matcher for one condition's JSON."""
    kind = condition.get("kind")
    key = condition.get("key")
    if kind == "event_match":
        pattern = condition.get("pattern")
        if isinstance(key, str) and isinstance(pattern, str):
            return _event_match(key, pattern)
    elif kind in ("event_property_is", "event_property_contains"):
        value = condition.get("value", MISSING)
        if isinstance(key, str) and value is not MISSING and is_simple_value(value):
            return _property(kind, key, type(value).__name__, value)
    elif kind == "contains_display_name":
        return _DISPLAY_NAME
    elif kind == "room_member_count":
        expr = condition.get("is")
        if isinstance(expr, str):
            return _member_count(expr)
    elif kind == "sender_notification_permission":
        if isinstance(key, str):
            return _permission(key)
    return _NEVER
