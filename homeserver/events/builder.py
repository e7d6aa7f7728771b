"""Building, hashing and signing new events for any room version.

Spec: the PDU format of each room version (rooms/v1.md ... v12.md and
data/api/server-server/definitions/pdu_v*.yaml); server-server-api.md "Adding
hashes and signatures to outgoing events".
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable

from signedjson.types import SigningKey

from homeserver.events.canonical_json import (
    InvalidCanonicalJson,
    check_canonical_json_values,
)
from homeserver.events.hashing import add_content_hash, compute_event_id
from homeserver.events.model import Event, EventTypes
from homeserver.events.redaction import copy_json
from homeserver.events.room_versions import EventIdFormat, RedactionRules, RoomVersion
from homeserver.events.signing import sign_event
from homeserver.events.validation import EventFormatError, validate_pdu
from homeserver.types import JsonDict

_EVENT_ID_ALPHABET = string.ascii_letters
_EVENT_ID_LOCALPART_LENGTH = 18


def random_v1_event_id(server_name: str) -> str:
    """A fresh ``$localpart:server`` event ID for rooms v1 and v2."""
    localpart = "".join(
        secrets.choice(_EVENT_ID_ALPHABET) for _ in range(_EVENT_ID_LOCALPART_LENGTH)
    )
    return f"${localpart}:{server_name}"


def _references(
    event_ids: list[str],
    room_version: RoomVersion,
    hashes_of: Callable[[str], JsonDict] | None,
) -> list[object]:
    if room_version.event_id_format is not EventIdFormat.V1:
        return list(event_ids)
    # v1/v2: [event_id, {"sha256": ...}] pairs.
    return [
        [event_id, copy_json(hashes_of(event_id)) if hashes_of else {}]
        for event_id in event_ids
    ]


def build_event(
    room_version: RoomVersion,
    *,
    room_id: str | None,
    type: str,
    sender: str,
    content: JsonDict,
    prev_event_ids: list[str],
    auth_event_ids: list[str],
    depth: int,
    origin_server_ts: int,
    server_name: str,
    signing_key: SigningKey,
    state_key: str | None = None,
    redacts: str | None = None,
    extra: JsonDict | None = None,
    prev_event_hashes: Callable[[str], JsonDict] | None = None,
) -> Event:
    """Build a complete, hashed and signed event.

    Args:
        room_version: the version of the room.
        room_id: the room; must be None for (and only for) a v12 create event,
            whose room ID is derived from its own event ID.
        type: the event type.
        sender: the sending user's ID.
        content: the event content; copied, never modified.
        prev_event_ids: the events this one follows.
        auth_event_ids: the events that authorise it.
        depth: its depth in the DAG.
        origin_server_ts: the creation time, in milliseconds.
        server_name: our server name: the signing entity, ``origin`` (v1-v10),
            and the domain of v1/v2 event IDs.
        signing_key: our signing key.
        state_key: for state events, the state key.
        redacts: for redactions, the redacted event; put at the top level before
            v11 and in ``content`` from v11.
        extra: other top-level keys to include (e.g. ``unsigned``); they may not
            replace keys the builder sets.
        prev_event_hashes: v1/v2 only: returns the hash object to pair with a
            referenced event ID in ``prev_events``/``auth_events`` (e.g.
            ``{"sha256": <its reference hash>}``); ``{}`` is used if None.

    Returns:
        The event, with ``event_id`` computed for the room version.

    Raises:
        EventFormatError: the result isn't a valid PDU (e.g. too large, a float in
            a v6+ room, a bad sender), or ``room_id``/``extra`` conflict with the
            room version's rules.
    """
    pdu = _assemble_pdu(
        room_version,
        room_id=room_id,
        type=type,
        sender=sender,
        content=content,
        depth=depth,
        origin_server_ts=origin_server_ts,
        server_name=server_name,
        state_key=state_key,
        redacts=redacts,
    )
    pdu["prev_events"] = _references(prev_event_ids, room_version, prev_event_hashes)
    pdu["auth_events"] = _references(auth_event_ids, room_version, prev_event_hashes)
    if room_version.event_id_format is EventIdFormat.V1:
        pdu["event_id"] = random_v1_event_id(server_name)
    if extra:
        clashes = sorted(set(extra) & (set(pdu) | {"event_id", "hashes", "signatures"}))
        if clashes:
            raise EventFormatError(f"extra may not set {', '.join(clashes)}")
        pdu.update(copy_json(extra))
    return finish_event(pdu, room_version, server_name, signing_key)


def finish_event(
    pdu: JsonDict, room_version: RoomVersion, server_name: str, signing_key: SigningKey
) -> Event:
    """Hash, sign and check a complete unsigned PDU (changed in place).

    Raises:
        EventFormatError: it is not valid canonical JSON or not a valid PDU
            for ``room_version``.
    """
    try:
        if room_version.strict_canonical_json:
            # Fail with a clear message before hashing rather than after.
            check_canonical_json_values(pdu)
        add_content_hash(pdu)
    except (InvalidCanonicalJson, TypeError) as e:
        raise EventFormatError(f"event is not valid canonical JSON: {e}") from e
    sign_event(pdu, room_version, server_name, signing_key)
    validate_pdu(pdu, room_version)
    return Event(
        pdu=pdu, room_version=room_version, event_id=compute_event_id(pdu, room_version)
    )


def _assemble_pdu(
    room_version: RoomVersion,
    *,
    room_id: str | None,
    type: str,
    sender: str,
    content: JsonDict,
    depth: int,
    origin_server_ts: int,
    server_name: str,
    state_key: str | None,
    redacts: str | None,
) -> JsonDict:
    """The unsigned PDU's core keys, placed as the room version wants them."""
    is_v12_create = room_version.room_id_is_create_hash and type == EventTypes.CREATE
    if is_v12_create and room_id is not None:
        raise EventFormatError("room v12 create events have no room_id")
    if not is_v12_create and room_id is None:
        raise EventFormatError("room_id is required")

    pdu: JsonDict = {
        "type": type,
        "sender": sender,
        "content": copy_json(content),
        "depth": depth,
        "origin_server_ts": origin_server_ts,
    }
    if room_id is not None:
        pdu["room_id"] = room_id
    if state_key is not None:
        pdu["state_key"] = state_key
    if redacts is not None:
        if room_version.redacts_in_content:
            pdu["content"]["redacts"] = redacts
        else:
            pdu["redacts"] = redacts
    # "origin" is protected by redaction (and so signed) only before v11, which
    # is also when it stopped being sent (MSC2176 / MSC3989).
    if room_version.redaction is not RedactionRules.V11:
        pdu["origin"] = server_name
    return pdu
