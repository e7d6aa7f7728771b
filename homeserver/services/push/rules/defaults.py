"""The server-default push rules (spec v1.19 "Predefined Rules").

In the spec's order. The legacy body-matching mention rules removed from the
spec in v1.17 (``.m.rule.contains_display_name``, ``.m.rule.roomnotif``,
``.m.rule.contains_user_name``) are kept where spec v1.16 placed them, as
Synapse keeps them: clients that send no ``m.mentions`` still rely on them,
and the evaluator skips them for events that have ``m.mentions``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from homeserver.services.push.rules.actions import Action
from homeserver.services.push.rules.model import (
    CONTENT,
    MASTER_RULE_ID,
    OVERRIDE,
    ROOM,
    SENDER,
    UNDERRIDE,
    PushRule,
)
from homeserver.types import JsonDict

_SOUND_DEFAULT: JsonDict = {"set_tweak": "sound", "value": "default"}
_HIGHLIGHT: JsonDict = {"set_tweak": "highlight"}
_MENTION_ACTIONS: tuple[Action, ...] = ("notify", _SOUND_DEFAULT, _HIGHLIGHT)
_ROOM_MENTION_ACTIONS: tuple[Action, ...] = ("notify", _HIGHLIGHT)
_DING: tuple[Action, ...] = ("notify", _SOUND_DEFAULT)


def _match(key: str, pattern: str) -> JsonDict:
    return {"kind": "event_match", "key": key, "pattern": pattern}


def _override(
    rule_id: str,
    conditions: Sequence[JsonDict],
    actions: Sequence[Action] = (),
    *,
    enabled: bool = True,
) -> PushRule:
    return PushRule(
        kind=OVERRIDE,
        rule_id=rule_id,
        default=True,
        enabled=enabled,
        actions=tuple(actions),
        conditions=tuple(conditions),
    )


def _underride(
    rule_id: str, conditions: Sequence[JsonDict], actions: Sequence[Action]
) -> PushRule:
    return PushRule(
        kind=UNDERRIDE,
        rule_id=rule_id,
        default=True,
        actions=tuple(actions),
        conditions=tuple(conditions),
    )


_ROOM_COUNT_2: JsonDict = {"kind": "room_member_count", "is": "2"}
_ROOM_PERMISSION: JsonDict = {"kind": "sender_notification_permission", "key": "room"}


def _override_rules(user_id: str) -> list[PushRule]:
    return [
        _override(".m.rule.suppress_notices", [_match("content.msgtype", "m.notice")]),
        _override(
            ".m.rule.invite_for_me",
            [
                _match("type", "m.room.member"),
                _match("content.membership", "invite"),
                _match("state_key", user_id),
            ],
            _DING,
        ),
        _override(".m.rule.member_event", [_match("type", "m.room.member")]),
        _override(
            ".m.rule.is_user_mention",
            [
                {
                    "kind": "event_property_contains",
                    "key": "content.m\\.mentions.user_ids",
                    "value": user_id,
                }
            ],
            _MENTION_ACTIONS,
        ),
        _override(
            ".m.rule.contains_display_name",
            [{"kind": "contains_display_name"}],
            _MENTION_ACTIONS,
        ),
        _override(
            ".m.rule.is_room_mention",
            [
                {
                    "kind": "event_property_is",
                    "key": "content.m\\.mentions.room",
                    "value": True,
                },
                _ROOM_PERMISSION,
            ],
            _ROOM_MENTION_ACTIONS,
        ),
        _override(
            ".m.rule.roomnotif",
            [_match("content.body", "@room"), _ROOM_PERMISSION],
            _ROOM_MENTION_ACTIONS,
        ),
        _override(
            ".m.rule.tombstone",
            [_match("type", "m.room.tombstone"), _match("state_key", "")],
            _ROOM_MENTION_ACTIONS,
        ),
        _override(".m.rule.reaction", [_match("type", "m.reaction")]),
        _override(
            ".m.rule.room.server_acl",
            [_match("type", "m.room.server_acl"), _match("state_key", "")],
        ),
        _override(
            ".m.rule.suppress_edits",
            [
                {
                    "kind": "event_property_is",
                    "key": "content.m\\.relates_to.rel_type",
                    "value": "m.replace",
                }
            ],
        ),
    ]


def _underride_rules() -> list[PushRule]:
    return [
        _underride(
            ".m.rule.call",
            [_match("type", "m.call.invite")],
            ("notify", {"set_tweak": "sound", "value": "ring"}),
        ),
        _underride(
            ".m.rule.encrypted_room_one_to_one",
            [_ROOM_COUNT_2, _match("type", "m.room.encrypted")],
            _DING,
        ),
        _underride(
            ".m.rule.room_one_to_one",
            [_ROOM_COUNT_2, _match("type", "m.room.message")],
            _DING,
        ),
        _underride(".m.rule.message", [_match("type", "m.room.message")], ("notify",)),
        _underride(
            ".m.rule.encrypted", [_match("type", "m.room.encrypted")], ("notify",)
        ),
    ]


def _localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0] if user_id.startswith("@") else user_id


@lru_cache(maxsize=4096)
def default_rules(user_id: str) -> tuple[PushRule, ...]:
    """Every server-default rule for a user, in evaluation order.

    ``.m.rule.master`` (disabled) comes first, then the other override rules,
    the content rule and the underride rules.
    """
    master = _override(MASTER_RULE_ID, [], enabled=False)
    contains_user_name = PushRule(
        kind=CONTENT,
        rule_id=".m.rule.contains_user_name",
        default=True,
        actions=_MENTION_ACTIONS,
        pattern=_localpart(user_id),
    )
    return (
        master,
        *_override_rules(user_id),
        contains_user_name,
        *_underride_rules(),
    )


RuleKey = tuple[str, str]  # (kind, rule_id)


def merged_rules(
    user_id: str,
    user_rules: Iterable[PushRule],
    default_overrides: Mapping[RuleKey, tuple[bool | None, Sequence[Action] | None]],
) -> list[PushRule]:
    """A user's whole rule list in evaluation order.

    Per kind the user's own rules (in their order) come before the server
    defaults, except ``.m.rule.master`` which is always first.

    Args:
        user_id: whose rules.
        user_rules: the user's own rules, in their order within each kind.
        default_overrides: ``(enabled, actions)`` the user set on default
            rules (``None`` where unchanged), by ``(kind, rule_id)``.
    """
    defaults = list(default_rules(user_id))
    for i, rule in enumerate(defaults):
        change = default_overrides.get((rule.kind, rule.rule_id))
        if change is not None:
            defaults[i] = rule.with_overrides(enabled=change[0], actions=change[1])
    own: dict[str, list[PushRule]] = {}
    for rule in user_rules:
        own.setdefault(rule.kind, []).append(rule)
    ordered: list[PushRule] = [defaults[0]]
    for kind in (OVERRIDE, CONTENT, ROOM, SENDER, UNDERRIDE):
        ordered.extend(own.get(kind, ()))
        ordered.extend(r for r in defaults[1:] if r.kind == kind)
    return ordered
