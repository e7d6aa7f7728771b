"""Shape checks on the content of the state events the server understands.

The auth rules let much malformed content through (or refuse it with a bare
403); clients sending such content deserve a 400 M_BAD_JSON that says what is
wrong. Pure: no I/O. Only local events are checked here; remote events are
judged by the auth rules alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeserver.events.ids import is_valid_user_id
from homeserver.events.model import EventTypes, Membership
from homeserver.events.room_versions import RoomVersion
from homeserver.types import JsonDict

MEMBERSHIPS = {
    Membership.JOIN,
    Membership.INVITE,
    Membership.LEAVE,
    Membership.BAN,
    Membership.KNOCK,
}
HISTORY_VISIBILITIES = {"world_readable", "shared", "invited", "joined"}
GUEST_ACCESS = {"can_join", "forbidden"}
NAMED_LEVELS = (
    "ban",
    "kick",
    "redact",
    "invite",
    "state_default",
    "events_default",
    "users_default",
)


class InvalidContent(ValueError):
    """The content does not fit its event type."""


def _level(value: Any, where: str, room_version: RoomVersion) -> None:
    if isinstance(value, bool):
        raise InvalidContent(f"{where} must be an integer")
    if isinstance(value, int):
        if not -(2**53) < value < 2**53:
            raise InvalidContent(f"{where} is out of range")
        return
    if not room_version.enforce_int_power_levels and isinstance(value, str):
        if value.strip().lstrip("+-").isdigit():
            return
    raise InvalidContent(f"{where} must be an integer")


def _levels_map(content: JsonDict, key: str, room_version: RoomVersion) -> None:
    value = content.get(key, {})
    if not isinstance(value, dict):
        raise InvalidContent(f"{key} must be an object")
    for name, level in value.items():
        if key == "users" and not is_valid_user_id(name):
            raise InvalidContent(f"users: {name!r} is not a user ID")
        _level(level, f"{key}.{name}", room_version)


def _power_levels(content: JsonDict, room_version: RoomVersion) -> None:
    for name in NAMED_LEVELS:
        if name in content:
            _level(content[name], name, room_version)
    for key in ("users", "events", "notifications"):
        _levels_map(content, key, room_version)


def _string(
    key: str, allowed: set[str] | None = None, required: bool = True
) -> Callable:
    def check(content: JsonDict, room_version: RoomVersion) -> None:
        if key not in content and not required:
            return
        value = content.get(key)
        if not isinstance(value, str):
            raise InvalidContent(f"{key} must be a string")
        if allowed is not None and value not in allowed:
            raise InvalidContent(f"{key} must be one of {', '.join(sorted(allowed))}")

    return check


def _join_rules(content: JsonDict, room_version: RoomVersion) -> None:
    _string("join_rule")(content, room_version)
    allow = content.get("allow", [])
    if not isinstance(allow, list) or not all(isinstance(a, dict) for a in allow):
        raise InvalidContent("allow must be a list of objects")


def _server_acl(content: JsonDict, room_version: RoomVersion) -> None:
    for key in ("allow", "deny"):
        value = content.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidContent(f"{key} must be a list of strings")
    if not isinstance(content.get("allow_ip_literals", True), bool):
        raise InvalidContent("allow_ip_literals must be a boolean")


CHECKS: dict[str, Callable[[JsonDict, RoomVersion], None]] = {
    EventTypes.POWER_LEVELS: _power_levels,
    EventTypes.JOIN_RULES: _join_rules,
    EventTypes.HISTORY_VISIBILITY: _string("history_visibility", HISTORY_VISIBILITIES),
    EventTypes.GUEST_ACCESS: _string("guest_access", GUEST_ACCESS),
    EventTypes.MEMBER: _string("membership", MEMBERSHIPS),
    EventTypes.NAME: _string("name", required=False),
    EventTypes.TOPIC: _string("topic", required=False),
    EventTypes.AVATAR: _string("url", required=False),
    EventTypes.ENCRYPTION: _string("algorithm"),
    EventTypes.SERVER_ACL: _server_acl,
}


def validate_content(
    room_version: RoomVersion, event_type: str, state_key: str | None, content: JsonDict
) -> None:
    """Raise InvalidContent if a known state event's content is malformed."""
    check = CHECKS.get(event_type)
    if check is not None and state_key is not None:
        check(content, room_version)
