"""Checking the push rules clients send (spec v1.19 "Push Rules: API";
data/api/client-server/pushrules.yaml).

A bad rule gets a 400 that names the problem, as Synapse answers: an
unknown kind or a reserved/invalid rule ID is M_INVALID_PARAM, a body of the
wrong shape M_BAD_JSON.
"""

from __future__ import annotations

from typing import Any

from homeserver.errors import BadJson, InvalidParam
from homeserver.services.push.rules.actions import (
    Action,
    InvalidActionError,
    validate_actions,
)
from homeserver.services.push.rules.model import (
    CONTENT,
    KINDS,
    OVERRIDE,
    UNDERRIDE,
    PushRule,
    is_default_rule_id,
)
from homeserver.types import JsonDict

GLOBAL_SCOPE = "global"
# The attributes GET and PUT .../{ruleId}/{attr} know.
ENABLED = "enabled"
ACTIONS = "actions"
ATTRIBUTES = (ENABLED, ACTIONS)
MAX_RULE_ID_BYTES = 255


def check_scope(scope: str) -> None:
    """400 M_INVALID_PARAM unless the scope is ``global`` (the only one)."""
    if scope != GLOBAL_SCOPE:
        raise InvalidParam(f"Unknown push rule scope {scope!r}: only 'global'")


def check_kind(kind: str) -> None:
    """400 M_INVALID_PARAM for a kind that is not one of ``KINDS``."""
    if kind not in KINDS:
        raise InvalidParam(f"Unknown push rule kind {kind!r}")


def check_attribute(attr: str) -> None:
    """400 M_INVALID_PARAM for an attribute other than enabled and actions."""
    if attr not in ATTRIBUTES:
        raise InvalidParam(f"Unknown push rule attribute {attr!r}")


def check_new_rule_id(rule_id: str) -> None:
    """A rule ID a client may create: not a default's (leading dot), no slash
    or backslash (as Synapse), not too long."""
    if is_default_rule_id(rule_id):
        raise InvalidParam("Cannot add new rule_ids that start with '.'")
    if "/" in rule_id or "\\" in rule_id:
        raise InvalidParam("rule_id may not contain slashes")
    if not rule_id or len(rule_id.encode()) > MAX_RULE_ID_BYTES:
        raise InvalidParam("rule_id must be 1 to 255 bytes")


def parse_actions(actions: object) -> list[Action]:
    """The actions of a request, or 400 M_BAD_JSON naming the bad one."""
    try:
        return validate_actions(actions)
    except InvalidActionError as exc:
        raise BadJson(f"Invalid actions: {exc}") from None


def _conditions(body: JsonDict) -> tuple[JsonDict, ...]:
    conditions = body.get("conditions")
    if conditions is None:
        raise BadJson("Missing 'conditions'")
    if not isinstance(conditions, list):
        raise BadJson("'conditions' must be a list")
    for condition in conditions:
        if not isinstance(condition, dict):
            raise BadJson("Each condition must be an object")
        if not isinstance(condition.get("kind"), str):
            raise BadJson("Condition without a string 'kind'")
    return tuple(conditions)


def parse_rule(kind: str, rule_id: str, body: JsonDict) -> PushRule:
    """A client's new or replaced rule (PUT /pushrules/global/{kind}/{ruleId}).

    Room rules take their room from the rule ID and sender rules their
    sender, so their bodies carry only ``actions``.

    Raises:
        MatrixError: 400 naming what is wrong.
    """
    check_kind(kind)
    check_new_rule_id(rule_id)
    if "actions" not in body:
        raise BadJson("Missing 'actions'")
    actions = parse_actions(body["actions"])
    fields: dict[str, Any] = {}
    if kind in (OVERRIDE, UNDERRIDE):
        fields["conditions"] = _conditions(body)
    elif kind == CONTENT:
        pattern = body.get("pattern")
        if pattern is None:
            raise BadJson("Content rule missing 'pattern'")
        if not isinstance(pattern, str):
            raise BadJson("'pattern' must be a string")
        fields["pattern"] = pattern
    return PushRule(kind=kind, rule_id=rule_id, actions=tuple(actions), **fields)


def parse_enabled(body: JsonDict) -> bool:
    """The body of PUT .../enabled: ``{"enabled": true|false}``."""
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise BadJson("'enabled' must be true or false")
    return enabled
