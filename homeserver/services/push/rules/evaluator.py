"""Evaluating a user's push rules against an event (spec v1.19 "Push Rules").

A user's rules are compiled once into ``CompiledRules`` (enabled rules only,
conditions compiled and interned). An ``EventEvaluator`` is built once per
event and shared by every member the event is evaluated for: it resolves each
property path of the event once and remembers the result of each
member-independent condition, and of each member-independent set of
conditions (numbered once, when rules are compiled: every member's copy of a
default rule has the same set), so the second and later members cost one
dict lookup per rule, and a real evaluation only for the few rules made for
them (their user name, their invite, their mention).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from homeserver.services.push.rules.actions import (
    Action,
    highlights,
    notifies,
    strip_legacy,
)
from homeserver.services.push.rules.conditions import (
    MISSING,
    Condition,
    compile_condition,
)
from homeserver.services.push.rules.model import LEGACY_MENTION_RULE_IDS, PushRule
from homeserver.types import JsonDict


@attrs.frozen(kw_only=True)
class RoomContext:
    """What the conditions need to know about the room at the event.

    Attributes:
        member_count: joined members.
        sender_power_level: the sender's power level.
        notification_power_levels: ``notifications`` of ``m.room.power_levels``
            with the defaults applied (``{"room": 50}``).
    """

    member_count: int
    sender_power_level: int
    notification_power_levels: Mapping[str, int] = attrs.field(
        factory=lambda: {"room": 50}
    )


@attrs.frozen(slots=True)
class CompiledRule:
    """One enabled rule, ready to evaluate.

    ``condition_set`` numbers the rule's conditions when none depends on the
    member (equal sets, equal numbers, whoever's rule it is); None when one
    does.
    """

    kind: str
    rule_id: str
    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]  # legacy actions stripped
    notify: bool
    legacy_mention: bool
    condition_set: int | None
    highlight: bool


# Interned condition sets -> their number. Numbers are never reused: when the
# table is cleared (it is bounded), a set compiled again gets a new number,
# so two different sets never share one.
_SETS: dict[tuple[Condition, ...], int] = {}
_MAX_SETS = 100_000
_next_set = itertools.count()


def _condition_set(conditions: tuple[Condition, ...]) -> int | None:
    if any(c.member_dependent for c in conditions):
        return None
    number = _SETS.get(conditions)
    if number is None:
        if len(_SETS) >= _MAX_SETS:
            _SETS.clear()
        number = _SETS[conditions] = next(_next_set)
    return number


@attrs.frozen(slots=True)
class CompiledRules:
    """A user's rule set: enabled rules in evaluation order."""

    rules: tuple[CompiledRule, ...]


def compile_rules(rules: Iterable[PushRule]) -> CompiledRules:
    """Compile a user's merged rule list (see ``defaults.merged_rules``)."""
    compiled = []
    for rule in rules:
        if not rule.enabled:
            continue
        actions = tuple(strip_legacy(rule.actions))
        conditions = tuple(compile_condition(c) for c in rule.effective_conditions())
        compiled.append(
            CompiledRule(
                kind=rule.kind,
                rule_id=rule.rule_id,
                conditions=conditions,
                actions=actions,
                notify=notifies(actions),
                highlight=highlights(actions),
                legacy_mention=rule.default and rule.rule_id in LEGACY_MENTION_RULE_IDS,
                condition_set=_condition_set(conditions),
            )
        )
    return CompiledRules(rules=tuple(compiled))


class EventEvaluator:
    """Evaluates one event for many users.

    Args:
        event: the event in client format (``type``, ``content``, ``sender``,
            ``state_key``, ``room_id``...).
        room: the room at the event.
    """

    def __init__(self, event: JsonDict, room: RoomContext) -> None:
        self.event = event
        self.room = room
        self.sender = event.get("sender")
        content = event.get("content")
        self.has_mentions = isinstance(content, dict) and "m.mentions" in content
        self._values: dict[tuple[str, ...], Any] = {}
        self._lowered: dict[tuple[str, ...], str] = {}
        self._results: dict[Condition, bool] = {}
        self._set_results: dict[int, bool] = {}

    def lookup(self, path: tuple[str, ...]) -> Any:
        """The event's value at a property path, or ``MISSING``."""
        try:
            return self._values[path]
        except KeyError:
            pass
        value: Any = self.event
        for name in path:
            if not isinstance(value, dict):
                value = MISSING
                break
            value = value.get(name, MISSING)
            if value is MISSING:
                break
        self._values[path] = value
        return value

    def lowered(self, path: tuple[str, ...], value: str) -> str:
        """``value`` (the string at ``path``) lower-cased, computed once."""
        found = self._lowered.get(path)
        if found is None:
            found = self._lowered[path] = value.lower()
        return found

    def _holds(self, condition: Condition, display_name: str | None) -> bool:
        if condition.member_dependent:
            return condition.matches(self, display_name)
        result = self._results.get(condition)
        if result is None:
            result = self._results[condition] = condition.matches(self, display_name)
        return result

    def matching_rule(
        self, rules: CompiledRules, *, display_name: str | None
    ) -> CompiledRule | None:
        """The first enabled rule whose conditions all hold, if any."""
        set_results = self._set_results
        for rule in rules.rules:
            if rule.legacy_mention and self.has_mentions:
                continue
            number = rule.condition_set
            if number is None:
                if all(self._holds(c, display_name) for c in rule.conditions):
                    return rule
                continue
            held = set_results.get(number)
            if held is None:
                held = set_results[number] = all(
                    self._holds(c, display_name) for c in rule.conditions
                )
            if held:
                return rule
        return None

    def actions_for(
        self, rules: CompiledRules, *, user_id: str, display_name: str | None
    ) -> list[Action]:
        """The actions of the first enabled rule that matches.

        Legacy actions are dropped. ``[]`` when no rule matches, when the
        matching rule does not notify, or when the user sent the event (the
        spec: never notify a user of their own events).
        """
        rule = self.notifying_rule(rules, user_id=user_id, display_name=display_name)
        return [] if rule is None else list(rule.actions)

    def notifying_rule(
        self, rules: CompiledRules, *, user_id: str, display_name: str | None
    ) -> CompiledRule | None:
        """The first enabled rule that matches, if it notifies and the user
        did not send the event (``actions_for``'s rule)."""
        if user_id == self.sender:
            return None
        rule = self.matching_rule(rules, display_name=display_name)
        if rule is None or not rule.notify:
            return None
        return rule
