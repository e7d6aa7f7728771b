"""The redaction algorithm: which parts of an event survive being redacted.

Spec: rooms/fragments/v1-redactions.md (rooms v1-v5), v6-redactions.md (v6-v7),
rooms/v8.md "Redactions" (v8: v6 plus ``allow`` on join rules),
v9-redactions.md (v9-v10) and v11-redactions.md (v11+).

The same algorithm protects what signatures and reference hashes cover
(server-server-api.md "Signing Events"), so it must match other servers
byte for byte.
"""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.events.model import Event, EventTypes
from homeserver.events.room_versions import RedactionRules, RoomVersion
from homeserver.types import JsonDict

# Top-level keys kept by every algorithm up to v11.
_KEPT_KEYS_V11 = frozenset(
    {
        "event_id",
        "type",
        "room_id",
        "sender",
        "state_key",
        "content",
        "hashes",
        "signatures",
        "depth",
        "prev_events",
        "auth_events",
        "origin_server_ts",
    }
)
# Before v11, three more legacy keys were protected too.
_KEPT_KEYS_V1 = _KEPT_KEYS_V11 | {"prev_state", "origin", "membership"}

_POWER_LEVELS_KEYS = (
    "ban",
    "events",
    "events_default",
    "kick",
    "redact",
    "state_default",
    "users",
    "users_default",
)

# Content keys each event type keeps under the v1 rules. Later rules are derived
# from this in _kept_content_keys.
_CONTENT_KEYS_V1: dict[str, tuple[str, ...]] = {
    EventTypes.MEMBER: ("membership",),
    EventTypes.CREATE: ("creator",),
    EventTypes.JOIN_RULES: ("join_rule",),
    EventTypes.POWER_LEVELS: _POWER_LEVELS_KEYS,
    EventTypes.ALIASES: ("aliases",),
    EventTypes.HISTORY_VISIBILITY: ("history_visibility",),
}


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON-like structure (dicts and lists copied, scalars shared).

    Faster than :func:`copy.deepcopy` and enough for parsed JSON, whose leaves are
    immutable.
    """
    if isinstance(value, dict):
        return {key: copy_json(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [copy_json(child) for child in value]
    return value


def _kept_content_keys(event_type: str, room_version: RoomVersion) -> tuple[str, ...]:
    rules = room_version.redaction
    keys = _CONTENT_KEYS_V1.get(event_type, ())
    if rules is not RedactionRules.V1 and event_type == EventTypes.ALIASES:
        # v6 (MSC2432): aliases lose their special treatment.
        return ()
    if event_type == EventTypes.JOIN_RULES and room_version.restricted_join_rule:
        # v8 (MSC3083): the restricted-join "allow" list is protected.
        keys = (*keys, "allow")
    if event_type == EventTypes.MEMBER and rules in (
        RedactionRules.V9,
        RedactionRules.V11,
    ):
        # v9 (MSC3375): the join's authorising user is protected.
        keys = (*keys, "join_authorised_via_users_server")
    if rules is RedactionRules.V11:
        if event_type == EventTypes.POWER_LEVELS:
            keys = (*keys, "invite")  # MSC2176
        elif event_type == EventTypes.REDACTION:
            keys = ("redacts",)  # MSC2174/MSC2176
    return keys


def _redact_content(
    event_type: Any, content: Any, room_version: RoomVersion
) -> JsonDict:
    if not isinstance(content, dict):
        # Not valid in any room version; treat it like an empty object so that
        # malformed input still gets a deterministic result.
        return {}
    if not isinstance(event_type, str):
        return {}
    rules = room_version.redaction
    if rules is RedactionRules.V11 and event_type == EventTypes.CREATE:
        # v11 (MSC2176): create events keep their whole content.
        return copy_json(content)
    new_content = {
        key: copy_json(content[key])
        for key in _kept_content_keys(event_type, room_version)
        if key in content
    }
    if rules is RedactionRules.V11 and event_type == EventTypes.MEMBER:
        # v11 (MSC3821): keep only the "signed" part of third_party_invite.
        third_party_invite = content.get("third_party_invite")
        if isinstance(third_party_invite, dict) and "signed" in third_party_invite:
            new_content["third_party_invite"] = {
                "signed": copy_json(third_party_invite["signed"])
            }
    return new_content


def redact_pdu(pdu: JsonDict, room_version: RoomVersion) -> JsonDict:
    """Apply the room version's redaction algorithm to a PDU.

    The result is a new, independent structure: ``pdu`` is never mutated and
    nothing is shared with it. ``unsigned`` is dropped like every other key the
    algorithm doesn't list. ``content`` is only present in the result if it was
    in the input (the spec strips keys; it doesn't add any).

    Args:
        pdu: the event JSON (federation format).
        room_version: the version of the room the event belongs to.

    Returns:
        The redacted event JSON.
    """
    kept = (
        _KEPT_KEYS_V11
        if room_version.redaction is RedactionRules.V11
        else (_KEPT_KEYS_V1)
    )
    redacted: JsonDict = {
        key: copy_json(value)
        for key, value in pdu.items()
        if key in kept and key != "content"
    }
    if "content" in pdu:
        redacted["content"] = _redact_content(
            pdu.get("type"), pdu["content"], room_version
        )
    return redacted


def redact_event(event: Event) -> Event:
    """A redacted copy of ``event``.

    The copy has the redacted PDU and otherwise the same event ID, room version,
    flags and local bookkeeping; ``event.unsigned`` (local data, not part of the
    PDU) is carried over as a shallow copy. Adding ``redacted_because`` is the
    caller's business.
    """
    return attrs.evolve(
        event,
        pdu=redact_pdu(event.pdu, event.room_version),
        unsigned=dict(event.unsigned),
    )
