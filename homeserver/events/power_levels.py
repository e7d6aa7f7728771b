"""Power levels: reading ``m.room.power_levels`` and the rule for changing it.

Spec: client-server-api ``m.room.power_levels`` (defaults); server-server-api
"Checks performed on receipt of a PDU" > "Definitions" (required power level;
invite, kick, ban and redact levels); rooms v1-v9 "m.room.power_levels events
accept values as strings"; the ``m.room.power_levels`` auth rule of every room
version (rule 10 in v1-v5 and v12, rule 9 in v6-v11); rooms/v12 (creators have
infinite power). Pure: no I/O.

Malformed values: an accepted power levels event can still hold values the
rules never validated (before v10 only ``users`` is checked, and the first power
levels event is not compared with anything). Reading such a value raises
:class:`AuthError`, failing closed exactly where Synapse's ``int()`` would fail;
a JSON ``null`` reads as absent, as in Synapse.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from homeserver.events.auth_common import (
    CREATE_KEY,
    POWER_LEVELS_KEY,
    AuthError,
    AuthEvents,
    room_creators,
    short_repr,
)
from homeserver.events.ids import is_valid_user_id
from homeserver.events.model import Event
from homeserver.events.room_versions import RoomVersion
from homeserver.types import JsonDict

# The named levels and their defaults (client-server-api m.room.power_levels).
NAMED_LEVEL_DEFAULTS: Mapping[str, int] = {
    "ban": 50,
    "kick": 50,
    "redact": 50,
    "invite": 0,
    "state_default": 50,
    "events_default": 0,
    "users_default": 0,
}
NOTIFICATION_LEVEL_DEFAULT = 50  # "notifications.room"; also used for other keys
CREATOR_LEVEL_WITHOUT_POWER_LEVELS = 100  # rooms v1-v11
CREATOR_POWER_LEVEL = math.inf  # rooms v12+

# One base-10 integer with optional sign and surrounding whitespace
# (rooms/fragments/v1-stringy-power-levels.md).
_INT_STRING = re.compile(r"[ \t\n\r\f\v]*[+-]?[0-9]+[ \t\n\r\f\v]*")

PowerLevel = int | float  # float only for math.inf (v12 creators)


def parse_power_level(value: Any, room_version: RoomVersion) -> int | None:
    """Interpret one power level value from event content.

    Args:
        value: the JSON value.
        room_version: the room's version; v10+ accept integers only, earlier
            versions also accept integer strings (``" +050 "``) and, as JSON
            numbers, integral floats (possible before v6's canonical JSON rules).

    Returns:
        The integer, or None if the value is not a valid power level. Booleans
        are never power levels.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if room_version.enforce_int_power_levels:
        return None
    if isinstance(value, str) and _INT_STRING.fullmatch(value):
        return int(value.strip(" \t\n\r\f\v"))
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _read_level(value: Any, room_version: RoomVersion, what: str) -> int | None:
    if value is None:
        return None
    level = parse_power_level(value, room_version)
    if level is None:
        raise AuthError(f"Malformed power level for {what}: {short_repr(value)}")
    return level


def _sub_map(content: JsonDict, name: str) -> Mapping[str, Any]:
    value = content.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AuthError(f"Malformed power levels: {name!r} is not an object")
    return value


def get_user_power_level(user_id: str, auth_events: AuthEvents) -> PowerLevel:
    """A user's power level.

    Args:
        user_id: the user.
        auth_events: the auth state; should hold the create event and the power
            levels event if there is one.

    Returns:
        ``math.inf`` for a v12+ room creator; otherwise the level from
        ``users`` or ``users_default``; with no power levels event, 100 for the
        creator of a v1-v11 room and 0 for anyone else.

    Raises:
        AuthError: the level in the power levels event is malformed.
    """
    create = auth_events.get(CREATE_KEY)
    creators = room_creators(create) if create is not None else set()
    if (
        create is not None
        and create.room_version.additional_creators
        and user_id in creators
    ):
        return CREATOR_POWER_LEVEL
    power_levels = auth_events.get(POWER_LEVELS_KEY)
    if power_levels is not None:
        version, content = power_levels.room_version, power_levels.content
        level = _read_level(_sub_map(content, "users").get(user_id), version, user_id)
        if level is None:
            level = _read_level(content.get("users_default"), version, "users_default")
        return level if level is not None else 0
    if user_id in creators:
        return CREATOR_LEVEL_WITHOUT_POWER_LEVELS
    return 0


def get_named_power_level(name: str, auth_events: AuthEvents) -> int:
    """One of the named levels, with its default.

    Args:
        name: ``ban``, ``kick``, ``redact``, ``invite``, ``state_default``,
            ``events_default``, ``users_default``, or ``notifications.<key>``
            (e.g. ``notifications.room``).
        auth_events: the auth state (only the power levels event is read).

    Returns:
        The level.

    Raises:
        ValueError: ``name`` is not a named level.
        AuthError: the value in the power levels event is malformed.
    """
    if name.startswith("notifications."):
        default = NOTIFICATION_LEVEL_DEFAULT
    elif name in NAMED_LEVEL_DEFAULTS:
        default = NAMED_LEVEL_DEFAULTS[name]
    else:
        raise ValueError(f"Unknown named power level {name!r}")
    power_levels = auth_events.get(POWER_LEVELS_KEY)
    if power_levels is None:
        return default
    content = power_levels.content
    if name.startswith("notifications."):
        key = name.removeprefix("notifications.")
        value = _sub_map(content, "notifications").get(key)
    else:
        value = content.get(name)
    level = _read_level(value, power_levels.room_version, name)
    return default if level is None else level


def get_required_power_level(
    event_type: str, state_key: str | None, auth_events: AuthEvents
) -> int:
    """The *required power level* to send an event of a type.

    Args:
        event_type: the event's type.
        state_key: its state key, or None for a non-state event.
        auth_events: the auth state (only the power levels event is read).

    Returns:
        ``events[event_type]`` if set, else ``state_default`` (state events)
        or ``events_default``.

    Raises:
        AuthError: the power levels event is malformed.
    """
    power_levels = auth_events.get(POWER_LEVELS_KEY)
    if power_levels is not None:
        value = _sub_map(power_levels.content, "events").get(event_type)
        level = _read_level(value, power_levels.room_version, event_type)
        if level is not None:
            return level
    default = "state_default" if state_key is not None else "events_default"
    return get_named_power_level(default, auth_events)


def check_power_levels_event(event: Event, auth_events: AuthEvents) -> None:
    """The ``m.room.power_levels`` rule: content checks, then what may change.

    Args:
        event: the new power levels event.
        auth_events: the auth state, holding the previous power levels event
            if any, and the create event.

    Raises:
        AuthError: the event is not allowed.
    """
    version = event.room_version
    content = event.content
    if version.enforce_int_power_levels:
        _check_integers_only(content)
    users = content.get("users", {})
    if not isinstance(users, dict):
        raise AuthError("Power levels 'users' must be an object")
    for user_id, level in users.items():
        if not is_valid_user_id(user_id):
            raise AuthError(
                f"Power levels 'users' has an invalid user ID {short_repr(user_id)}"
            )
        if parse_power_level(level, version) is None:
            raise AuthError(
                f"Power levels 'users' has an invalid level {short_repr(level)}"
            )
    if version.additional_creators:
        create = auth_events.get(CREATE_KEY)
        if create is None:
            raise AuthError("No create event to check the room creators against")
        listed = room_creators(create).intersection(users)
        if listed:
            raise AuthError(
                f"Room creators cannot be listed in power levels: {sorted(listed)}"
            )
    previous = auth_events.get(POWER_LEVELS_KEY)
    if previous is None:
        return
    _check_changes(event, previous.content, auth_events)


def _check_integers_only(content: JsonDict) -> None:
    """Rules 10.1-10.3 of v10+: every level must be a JSON integer."""
    for name in NAMED_LEVEL_DEFAULTS:
        if name in content and not _is_int(content[name]):
            raise AuthError(f"Power level {name!r} must be an integer")
    for name in ("events", "notifications", "users"):
        if name not in content:
            continue
        value = content[name]
        if not isinstance(value, dict) or not all(map(_is_int, value.values())):
            raise AuthError(f"Power levels {name!r} must map to integers")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_changes(event: Event, old: JsonDict, auth_events: AuthEvents) -> None:
    """Rules 10.5-10.10 (v12 numbering): nobody raises anything above themselves."""
    version, new, sender = event.room_version, event.content, event.sender
    level = get_user_power_level(sender, auth_events)
    named_old = {k: old[k] for k in NAMED_LEVEL_DEFAULTS if k in old}
    named_new = {k: new[k] for k in NAMED_LEVEL_DEFAULTS if k in new}
    for name, before, after in _altered(named_old, named_new, version):
        if (before is not None and before > level) or (
            after is not None and after > level
        ):
            raise AuthError(f"Cannot change {name!r} above your own power level")
    maps = ["events"]
    if version.limit_notifications_power_levels:
        maps.append("notifications")
    for map_name in maps:
        altered = _altered(_sub_map(old, map_name), _sub_map(new, map_name), version)
        for key, before, after in altered:
            if (before is not None and before > level) or (
                after is not None and after > level
            ):
                raise AuthError(
                    f"Cannot change {map_name}[{short_repr(key)}] above your own "
                    "power level"
                )
    for user_id, before, after in _altered(
        _sub_map(old, "users"), _sub_map(new, "users"), version
    ):
        if user_id != sender and before is not None and before >= level:
            raise AuthError(
                f"Cannot change the level of {user_id}, who is not below you"
            )
        if after is not None and after > level:
            raise AuthError(f"Cannot give {user_id} a level above your own")


def _altered(
    old: Mapping[str, Any], new: Mapping[str, Any], version: RoomVersion
) -> Iterator[tuple[str, int | None, int | None]]:
    """Entries added, changed or removed: ``(key, old level, new level)``.

    A missing side is None. Equal values (``"50"`` and ``50`` before v10) are
    not a change. A malformed value on an altered entry fails closed.
    """
    for key in sorted(set(old) | set(new)):
        if key in old and key in new:
            if type(old[key]) is type(new[key]) and old[key] == new[key]:
                continue
            before = parse_power_level(old[key], version)
            after = parse_power_level(new[key], version)
            if before is not None and before == after:
                continue
        before = _read_present(old, key, version)
        after = _read_present(new, key, version)
        yield key, before, after


def _read_present(
    levels: Mapping[str, Any], key: str, version: RoomVersion
) -> int | None:
    if key not in levels:
        return None
    level = parse_power_level(levels[key], version)
    if level is None:
        raise AuthError(
            f"Malformed power level for {short_repr(key)}: {short_repr(levels[key])}"
        )
    return level
