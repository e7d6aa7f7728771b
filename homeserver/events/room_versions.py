"""Room versions and the behaviours that differ between them.

Spec: rooms/ (v1 to v12) and their fragments; rooms/_index.md "Feature matrix".
"""

from __future__ import annotations

from enum import Enum

import attrs


class EventIdFormat(Enum):
    """How event IDs are formed."""

    V1 = 1  # rooms v1-v2: "$localpart:server", carried in the event
    V3 = 2  # room v3: "$" + standard unpadded base64 of the reference hash
    V4 = 3  # rooms v4+: "$" + URL-safe unpadded base64 of the reference hash


class StateResAlgorithm(Enum):
    """Which state resolution algorithm the room uses."""

    V1 = 1
    V2 = 2
    V2_1 = 3  # room v12: v2 starting from empty state, plus the conflicted subgraph


class RedactionRules(Enum):
    """Which keys survive redaction."""

    V1 = 1  # rooms v1-v5
    V6 = 2  # v6-v8: aliases no longer special
    V9 = 3  # v9-v10: keeps join_authorised_via_users_server on members
    V11 = 4  # v11+: keeps all of create content, invite in join_rules... (MSC2176, MSC3821)


@attrs.frozen
class RoomVersion:
    """The rules of one room version."""

    identifier: str
    event_id_format: EventIdFormat
    state_res: StateResAlgorithm
    redaction: RedactionRules
    # v5+: signing keys must be valid at origin_server_ts.
    enforce_key_validity: bool
    # v1-v5: m.room.aliases has its own auth rule.
    special_case_aliases_auth: bool
    # v6+: floats and out-of-range integers make an event invalid.
    strict_canonical_json: bool
    # v6+: "notifications" power levels need power to change.
    limit_notifications_power_levels: bool
    # v7+: knocking.
    knock: bool
    # v8+: "restricted" join rule.
    restricted_join_rule: bool
    # v10+: "knock_restricted" join rule.
    knock_restricted_join_rule: bool
    # v10+: power levels must be integers, not strings.
    enforce_int_power_levels: bool
    # v11+: the create event's sender is the creator ("creator" key dropped);
    # "redacts" moves into content.
    implicit_room_creator: bool
    redacts_in_content: bool
    # v12: room ID is the create event's reference hash; the create event has no
    # room_id and is never an auth event; creators have infinite power.
    room_id_is_create_hash: bool
    additional_creators: bool


def _version(identifier: str, number: int) -> RoomVersion:
    if number <= 2:
        id_format = EventIdFormat.V1
    elif number == 3:
        id_format = EventIdFormat.V3
    else:
        id_format = EventIdFormat.V4
    if number == 1:
        state_res = StateResAlgorithm.V1
    elif number < 12:
        state_res = StateResAlgorithm.V2
    else:
        state_res = StateResAlgorithm.V2_1
    if number <= 5:
        redaction = RedactionRules.V1
    elif number <= 8:
        redaction = RedactionRules.V6
    elif number <= 10:
        redaction = RedactionRules.V9
    else:
        redaction = RedactionRules.V11
    return RoomVersion(
        identifier=identifier,
        event_id_format=id_format,
        state_res=state_res,
        redaction=redaction,
        enforce_key_validity=number >= 5,
        special_case_aliases_auth=number <= 5,
        strict_canonical_json=number >= 6,
        limit_notifications_power_levels=number >= 6,
        knock=number >= 7,
        restricted_join_rule=number >= 8,
        knock_restricted_join_rule=number >= 10,
        enforce_int_power_levels=number >= 10,
        implicit_room_creator=number >= 11,
        redacts_in_content=number >= 11,
        room_id_is_create_hash=number >= 12,
        additional_creators=number >= 12,
    )


KNOWN_ROOM_VERSIONS: dict[str, RoomVersion] = {
    str(n): _version(str(n), n) for n in range(1, 13)
}


def get_room_version(identifier: str) -> RoomVersion | None:
    """The room version called ``identifier``, or None if unknown."""
    return KNOWN_ROOM_VERSIONS.get(identifier)
