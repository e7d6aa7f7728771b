"""Is this a well-formed PDU for its room version? (Check 1 on receipt of a PDU.)

Spec: server-server-api.md "Checks performed on receipt of a PDU" (an invalid
event is dropped); the PDU schemas
``data/api/server-server/definitions/pdu_v{1,3,4,6,11,12}.yaml`` and their
components; client-server-api "Size limits"; appendices "Identifier Grammar";
rooms/fragments/v6-canonical-json.md.

Only the event *format* is checked here: event-type-specific content rules
(membership values, power level shapes...) belong to the auth rules, and hashes
and signatures to :mod:`homeserver.events.hashing` and
:mod:`homeserver.events.signing`.
"""

from __future__ import annotations

import re
from typing import Any

from homeserver.events.canonical_json import (
    MAX_SAFE_INTEGER,
    InvalidCanonicalJson,
    check_canonical_json_values,
    encode_canonical_json,
)
from homeserver.events.ids import MAX_ID_BYTES, is_valid_user_id, utf8_length
from homeserver.events.model import EventTypes
from homeserver.events.room_versions import EventIdFormat, RoomVersion
from homeserver.types import JsonDict
from homeserver.util.json_values import find_bad_value

# Client-server API "Size limits": the whole event as canonical JSON, signatures
# included.
MAX_PDU_SIZE = 65536
# The PDU schemas: prev_events "Must contain less than or equal to 20 events",
# auth_events "less than or equal to 10" (Synapse enforces the same limits).
MAX_PREV_EVENTS = 20
MAX_AUTH_EVENTS = 10
# pdu_v1/v3/v4: depth "Must be less than the maximum value for an integer
# (2^63 - 1)"; depth_v6: 2^53 - 1. As Synapse does, the maximum itself is
# allowed ("If the room's depth is already at the limit, the depth must be set
# to the limit").
MAX_DEPTH_V1 = 2**63 - 1
MAX_DEPTH_V6 = MAX_SAFE_INTEGER
# Room v12 room IDs are "!" + the create event's URL-safe unpadded base64
# SHA-256 reference hash (43 characters).
_V12_ROOM_ID = re.compile(r"![A-Za-z0-9_-]{43}")

_BASE_REQUIRED = (
    "sender",
    "origin_server_ts",
    "type",
    "content",
    "depth",
    "hashes",
    "signatures",
    "auth_events",
    "prev_events",
)


class EventFormatError(ValueError):
    """The event doesn't have the format its room version requires."""


class EventTooLarge(EventFormatError):
    """The event is over the size limit (clients get 413 M_TOO_LARGE)."""


def validate_pdu(pdu: JsonDict, room_version: RoomVersion) -> None:
    """Check that ``pdu`` is a well-formed event for ``room_version``.

    Checks the canonical JSON rules (strict from v6), the 64 KiB size limit,
    that no string anywhere holds a NUL character (U+0000: PostgreSQL cannot
    store one in a text column, so this server stores no event with one, to
    behave the same on both engines), required keys and their types, identifier shapes and byte lengths (255),
    the ``prev_events``/``auth_events`` shapes and counts, and the place of
    ``redacts``.

    Raises:
        EventFormatError: saying what is wrong.
    """
    if not isinstance(pdu, dict):
        raise EventFormatError("event is not a JSON object")
    encoded = _check_encoding(pdu, room_version)
    # Canonical JSON escapes a NUL as \u0000: walk the event only if its text
    # holds that escape (most events never are).
    if b"\\u0000" in encoded:
        problem = find_bad_value(pdu, nul_only=True)
        if problem is not None:
            raise EventFormatError(problem)
    _check_required_keys(pdu, room_version)
    _check_scalars(pdu, room_version)
    _check_ids(pdu, room_version)
    _check_hashes_and_signatures(pdu)
    _check_references(pdu, "prev_events", MAX_PREV_EVENTS, room_version)
    _check_references(pdu, "auth_events", MAX_AUTH_EVENTS, room_version)
    _check_redacts(pdu, room_version)


def _check_encoding(pdu: JsonDict, room_version: RoomVersion) -> bytes:
    """The event as canonical JSON, checked against the version's value rules
    and the size limit."""
    try:
        if room_version.strict_canonical_json:
            check_canonical_json_values(pdu)
        encoded = encode_canonical_json(pdu)
    except (InvalidCanonicalJson, TypeError, RecursionError) as e:
        raise EventFormatError(f"event is not valid canonical JSON: {e}") from e
    if len(encoded) > MAX_PDU_SIZE:
        raise EventTooLarge(
            f"event is {len(encoded)} bytes as canonical JSON; the limit is"
            f" {MAX_PDU_SIZE}"
        )
    return encoded


def _is_v12_create(pdu: JsonDict, room_version: RoomVersion) -> bool:
    return room_version.room_id_is_create_hash and pdu.get("type") == (
        EventTypes.CREATE
    )


def _check_required_keys(pdu: JsonDict, room_version: RoomVersion) -> None:
    required = list(_BASE_REQUIRED)
    if room_version.event_id_format is EventIdFormat.V1:
        required.append("event_id")
    # v12: "room_id ... Omitted from m.room.create events". Whether a v12 create
    # event *with* a room_id is allowed is an auth rule (it is rejected, not
    # dropped), so it isn't checked here.
    if not _is_v12_create(pdu, room_version):
        required.append("room_id")
    missing = [key for key in required if key not in pdu]
    if missing:
        raise EventFormatError(f"event is missing required keys: {', '.join(missing)}")


def _check_limited_string(pdu: JsonDict, key: str) -> str:
    value = pdu[key]
    if not isinstance(value, str):
        raise EventFormatError(f"{key} must be a string")
    try:
        length = utf8_length(value)
    except ValueError as e:
        raise EventFormatError(f"{key} is not valid Unicode") from e
    if length > MAX_ID_BYTES:
        raise EventFormatError(f"{key} is longer than {MAX_ID_BYTES} bytes")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_scalars(pdu: JsonDict, room_version: RoomVersion) -> None:
    _check_limited_string(pdu, "type")
    if "state_key" in pdu:
        _check_limited_string(pdu, "state_key")
    if not isinstance(pdu["content"], dict):
        raise EventFormatError("content must be an object")
    if not _is_int(pdu["origin_server_ts"]):
        raise EventFormatError("origin_server_ts must be an integer")
    depth = pdu["depth"]
    max_depth = MAX_DEPTH_V6 if room_version.strict_canonical_json else MAX_DEPTH_V1
    if not _is_int(depth):
        raise EventFormatError("depth must be an integer")
    if not 0 <= depth <= max_depth:
        raise EventFormatError(f"depth must be between 0 and {max_depth}")
    if "unsigned" in pdu and not isinstance(pdu["unsigned"], dict):
        raise EventFormatError("unsigned must be an object")


def _check_ids(pdu: JsonDict, room_version: RoomVersion) -> None:
    if not is_valid_user_id(pdu["sender"]):
        raise EventFormatError("sender is not a valid user ID")
    if "room_id" in pdu:
        room_id = _check_limited_string(pdu, "room_id")
        if room_version.room_id_is_create_hash:
            if not _V12_ROOM_ID.fullmatch(room_id):
                raise EventFormatError(
                    "room_id must be '!' and a create event's reference hash"
                )
        elif not room_id.startswith("!") or ":" not in room_id:
            raise EventFormatError("room_id must look like !opaque_id:domain")
    if room_version.event_id_format is EventIdFormat.V1:
        event_id = _check_limited_string(pdu, "event_id")
        if not event_id.startswith("$") or ":" not in event_id:
            raise EventFormatError("event_id must look like $opaque_id:domain")


def _check_hashes_and_signatures(pdu: JsonDict) -> None:
    hashes = pdu["hashes"]
    if not isinstance(hashes, dict) or not isinstance(hashes.get("sha256"), str):
        raise EventFormatError("hashes must be an object with a string sha256")
    signatures = pdu["signatures"]
    if not isinstance(signatures, dict) or not all(
        isinstance(server_signatures, dict)
        and all(isinstance(sig, str) for sig in server_signatures.values())
        for server_signatures in signatures.values()
    ):
        raise EventFormatError(
            "signatures must map server names to objects of string signatures"
        )


def _is_event_id(value: Any) -> bool:
    if not isinstance(value, str) or not value.startswith("$"):
        return False
    try:
        return utf8_length(value) <= MAX_ID_BYTES
    except ValueError:
        return False


def _check_references(
    pdu: JsonDict, key: str, limit: int, room_version: RoomVersion
) -> None:
    references = pdu[key]
    if not isinstance(references, list):
        raise EventFormatError(f"{key} must be an array")
    if len(references) > limit:
        raise EventFormatError(f"{key} has {len(references)} entries; at most {limit}")
    for reference in references:
        if room_version.event_id_format is EventIdFormat.V1:
            # [event_id, {"sha256": ...}] pairs. The hash object isn't required
            # to be non-empty: Synapse sends {} there.
            ok = (
                isinstance(reference, list)
                and len(reference) == 2
                and _is_event_id(reference[0])
                and isinstance(reference[1], dict)
            )
            shape = "[event_id, {hashes}] pairs"
        else:
            ok = _is_event_id(reference)
            shape = "event IDs"
        if not ok:
            raise EventFormatError(f"{key} must be an array of {shape}")


def _check_redacts(pdu: JsonDict, room_version: RoomVersion) -> None:
    if room_version.redacts_in_content:
        if pdu.get("type") == EventTypes.REDACTION and "redacts" in pdu["content"]:
            if not _is_event_id(pdu["content"]["redacts"]):
                raise EventFormatError("content.redacts must be an event ID")
    elif "redacts" in pdu and not _is_event_id(pdu["redacts"]):
        raise EventFormatError("redacts must be an event ID")
