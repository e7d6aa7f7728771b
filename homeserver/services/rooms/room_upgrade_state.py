"""What a replacement room starts with: pure helpers for room upgrades.

Spec: client-server API, "Room Upgrades" > "Server behaviour"; rooms/v12
(creators are not listed in power levels; ``additional_creators``);
event schemas ``m.room.create`` (``predecessor``) and ``m.room.canonical_alias``.
No I/O: the service in ``room_upgrade.py`` fetches the old state and sends.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from homeserver.errors import MatrixError
from homeserver.events.ids import is_valid_user_id
from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.events.power_levels import NAMED_LEVEL_DEFAULTS, parse_power_level
from homeserver.events.room_versions import RoomVersion
from homeserver.types import JsonDict, RoomAlias

# Spec's recommended list of state to transfer (power levels are handled apart).
COPIED_STATE_TYPES = (
    EventTypes.JOIN_RULES,
    EventTypes.HISTORY_VISIBILITY,
    EventTypes.GUEST_ACCESS,
    EventTypes.NAME,
    EventTypes.TOPIC,
    EventTypes.AVATAR,
    EventTypes.ENCRYPTION,
    EventTypes.SERVER_ACL,
)
SPACE_CHILD = "m.space.child"
ROOM_TYPE_SPACE = "m.space"
# Rooms v1-v11 give their creator this level by default; used when a v12+
# creator (infinite power, absent from power levels) moves to an older version.
CREATOR_LEVEL_BEFORE_V12 = 100
RESTRICTED_LEVEL_MIN = 50


def upgraded_creation_content(
    old_create: Event,
    old_room_id: str,
    last_event_id: str | None,
    new_version: RoomVersion,
    additional_creators: list[str],
) -> JsonDict:
    """The new room's ``m.room.create`` content (without ``room_version``/``creator``).

    ``predecessor.event_id`` (deprecated, still recommended) is
    ``last_event_id``: the old room's tombstone, as Synapse names it, or, for
    a v12 new room whose ID cannot be known before its create event, the
    old room's last event before the upgrade.
    ``type`` and a false ``m.federate`` carry over, as Synapse does.
    """
    predecessor: JsonDict = {"room_id": old_room_id}
    if last_event_id is not None:
        predecessor["event_id"] = last_event_id
    content: JsonDict = {"predecessor": predecessor}
    if new_version.additional_creators and additional_creators:
        content["additional_creators"] = list(additional_creators)
    if old_create.content.get("m.federate") is False:
        content["m.federate"] = False
    room_type = old_create.content.get("type")
    if isinstance(room_type, str):
        content["type"] = room_type
    return content


def copied_state(
    old_state: Mapping[StateKey, Event], room_type: str | None
) -> list[tuple[str, str, JsonDict]]:
    """The state to send in the new room after its power levels, in order.

    The spec's recommended types, plus a space's non-empty ``m.space.child``
    events (as Synapse). Memberships and the canonical alias are handled apart.
    """
    out = [
        (event_type, "", copy.deepcopy(old_state[(event_type, "")].content))
        for event_type in COPIED_STATE_TYPES
        if (event_type, "") in old_state
    ]
    if room_type == ROOM_TYPE_SPACE:
        for (event_type, state_key), event in sorted(old_state.items()):
            if event_type == SPACE_CHILD and event.content:
                out.append((event_type, state_key, copy.deepcopy(event.content)))
    return out


def fixup_power_levels(content: JsonDict, version: RoomVersion) -> JsonDict:
    """A copy of power levels content with every level as a JSON integer.

    Rooms before v10 accept levels as strings (``"50"``); v10+ do not, so levels
    are normalised before going into a newer room (Synapse's
    ``copy_and_fixup_power_levels_contents``). Levels that do not parse, and
    ``users`` entries that are not user IDs, are dropped.
    """
    out: JsonDict = {}
    for key, value in content.items():
        if key in NAMED_LEVEL_DEFAULTS:
            level = parse_power_level(value, version)
            if level is not None:
                out[key] = level
        elif key in ("events", "notifications", "users") and isinstance(value, dict):
            levels = {}
            for name, raw in value.items():
                level = parse_power_level(raw, version)
                if level is not None and (key != "users" or is_valid_user_id(name)):
                    levels[name] = level
            out[key] = levels
        else:
            out[key] = copy.deepcopy(value)
    return out


def new_room_power_levels(
    old_levels: JsonDict,
    upgrader: str,
    new_version: RoomVersion,
    new_creators: Iterable[str],
    upgrader_was_infinite: bool,
) -> JsonDict:
    """The power levels the new room should end up with.

    The old room's levels, except: in v12+ the new room's creators must not be
    listed (they have infinite power); an upgrader who had a v12+ creator's
    infinite power and moves to an older version gets the creator level (100)
    those versions default to, so they keep control of the room.
    """
    levels = copy.deepcopy(old_levels)
    users = dict(levels.get("users") or {})
    if new_version.additional_creators:
        for creator in new_creators:
            users.pop(creator, None)
    elif upgrader_was_infinite:
        users[upgrader] = max(_level(users.get(upgrader)), CREATOR_LEVEL_BEFORE_V12)
    levels["users"] = users
    return levels


def with_upgrader_power(
    levels: JsonDict, upgrader: str, new_version: RoomVersion
) -> JsonDict:
    """The power levels to start the new room with, so the upgrader can copy state.

    As Synapse: the upgrader is raised (until the final power levels are sent)
    to the highest of ``state_default``, ``ban`` and every ``events`` level.
    Not needed in v12+, where the upgrader is a creator with infinite power.
    """
    if new_version.additional_creators:
        return levels
    events = levels.get("events") or {}
    needed = max(
        _level(levels.get("state_default"), 50),
        _level(levels.get("ban"), 50),
        max((_level(v) for v in events.values()), default=0),
    )
    users = dict(levels.get("users") or {})
    if _level(users.get(upgrader), _level(levels.get("users_default"))) >= needed:
        return levels
    users[upgrader] = needed
    return {**levels, "users": users}


def restricted_old_levels(levels: JsonDict) -> JsonDict | None:
    """Old-room power levels that stop ordinary users talking and inviting.

    Spec: "setting ``events_default`` and ``invite`` to the greater of 50 and
    ``users_default + 1``". None if both already are at least that.
    """
    restricted = max(RESTRICTED_LEVEL_MIN, _level(levels.get("users_default")) + 1)
    out = copy.deepcopy(levels)
    changed = False
    for key in ("events_default", "invite"):
        if _level(out.get(key), NAMED_LEVEL_DEFAULTS[key]) < restricted:
            out[key] = restricted
            changed = True
    return out if changed else None


def split_canonical_alias(
    content: JsonDict, server_name: str
) -> tuple[JsonDict, JsonDict]:
    """Split canonical alias content between the old and the new room.

    This server's aliases move to the new room (with the local aliases
    themselves); other servers' aliases stay in the old room's event (Synapse's
    ``_move_aliases_to_new_room``). Returns ``(old_content, new_content)``.
    """
    old = dict(content)
    new: JsonDict = {}
    alias = content.get("alias")
    if _is_local(alias, server_name):
        new["alias"] = alias
        del old["alias"]
    alt = content.get("alt_aliases")
    if isinstance(alt, list):
        moved = [a for a in alt if _is_local(a, server_name)]
        kept = [a for a in alt if not _is_local(a, server_name)]
        if moved:
            new["alt_aliases"] = moved
        if kept:
            old["alt_aliases"] = kept
        else:
            old.pop("alt_aliases", None)
    return old, new


def _is_local(alias: Any, server_name: str) -> bool:
    if not isinstance(alias, str):
        return False
    try:
        return RoomAlias.parse(alias).domain == server_name
    except MatrixError:  # a malformed alias is not ours either
        return False


def _level(value: Any, default: int = 0) -> int:
    """A level from fixed-up content (integers only), or ``default``."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default
