"""The push rule model (spec v1.19 "Push Rules").

A rule has a ``kind`` (override, content, room, sender, underride), a
``rule_id`` unique within its kind, ``actions`` and ``enabled``; override and
underride rules have ``conditions``, content rules a ``pattern``. Room and
sender rules take their condition from the rule ID. Server-default rules have
IDs starting with a dot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from homeserver.services.push.rules.actions import Action
from homeserver.types import JsonDict

OVERRIDE = "override"
CONTENT = "content"
ROOM = "room"
SENDER = "sender"
UNDERRIDE = "underride"

# In the order the spec checks them.
KINDS: tuple[str, ...] = (OVERRIDE, CONTENT, ROOM, SENDER, UNDERRIDE)

MASTER_RULE_ID = ".m.rule.master"

# Deprecated body-matching rules (removed from the spec in v1.17, kept as
# Synapse keeps them for old clients): they never match an event whose
# content has ``m.mentions`` (spec v1.7..v1.16 "should only be enabled if the
# event does not have an m.mentions property").
LEGACY_MENTION_RULE_IDS = frozenset(
    {".m.rule.contains_display_name", ".m.rule.roomnotif", ".m.rule.contains_user_name"}
)


def is_default_rule_id(rule_id: str) -> bool:
    """Whether a rule ID names a server-default rule (it starts with a dot)."""
    return rule_id.startswith(".")


@attrs.frozen(kw_only=True)
class PushRule:
    """One push rule as a client sees it.

    Attributes:
        kind: one of ``KINDS``.
        rule_id: unique within the kind; a room ID for room rules, a user ID
            for sender rules.
        default: a server-default rule.
        enabled: disabled rules never match.
        actions: what a match does, in JSON form.
        conditions: for override and underride rules (JSON objects).
        pattern: for content rules (a glob matched on ``content.body``).
    """

    kind: str
    rule_id: str
    default: bool = False
    enabled: bool = True
    actions: tuple[Action, ...] = ()
    conditions: tuple[JsonDict, ...] | None = None
    pattern: str | None = None

    def with_overrides(
        self, *, enabled: bool | None, actions: Sequence[Action] | None
    ) -> PushRule:
        """This rule with a user's enabled flag and actions, where set."""
        changes: dict[str, Any] = {}
        if enabled is not None:
            changes["enabled"] = enabled
        if actions is not None:
            changes["actions"] = tuple(actions)
        return attrs.evolve(self, **changes) if changes else self

    def effective_conditions(self) -> tuple[JsonDict, ...]:
        """The conditions the rule evaluates, its kind's implicit ones included."""
        if self.kind == CONTENT:
            return (
                {"kind": "event_match", "key": "content.body", "pattern": self.pattern},
            )
        if self.kind == ROOM:
            return (
                {"kind": "event_property_is", "key": "room_id", "value": self.rule_id},
            )
        if self.kind == SENDER:
            return (
                {"kind": "event_property_is", "key": "sender", "value": self.rule_id},
            )
        return self.conditions or ()

    def to_json(self) -> JsonDict:
        """The rule in the spec's ``PushRule`` shape."""
        out: JsonDict = {
            "rule_id": self.rule_id,
            "default": self.default,
            "enabled": self.enabled,
            "actions": list(self.actions),
        }
        if self.kind in (OVERRIDE, UNDERRIDE):
            out["conditions"] = list(self.conditions or ())
        if self.kind == CONTENT and self.pattern is not None:
            out["pattern"] = self.pattern
        return out


def rule_set_to_json(rules: Sequence[PushRule]) -> JsonDict:
    """A rule list (in evaluation order) as the ``global`` ruleset object."""
    ruleset: JsonDict = {kind: [] for kind in KINDS}
    for rule in rules:
        ruleset[rule.kind].append(rule.to_json())
    return ruleset
