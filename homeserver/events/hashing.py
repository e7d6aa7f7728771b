"""Content hashes, reference hashes and event IDs.

Spec: server-server-api.md "Calculating the content hash for an event" and
"Calculating the reference hash for an event"; rooms/fragments/v1-event-ids.md,
rooms/v3.md "Event IDs" and rooms/fragments/v4-event-ids.md.
"""

from __future__ import annotations

import hashlib
import hmac

from unpaddedbase64 import decode_base64, encode_base64

from homeserver.events.canonical_json import encode_canonical_json
from homeserver.events.redaction import redact_pdu
from homeserver.events.room_versions import EventIdFormat, RoomVersion
from homeserver.types import JsonDict

# Keys the content hash doesn't cover: they change in transit (unsigned), depend
# on the hash (signatures) or are the hash (hashes).
_NOT_CONTENT_HASHED = ("unsigned", "signatures", "hashes")


def compute_content_hash(pdu: JsonDict) -> bytes:
    """The SHA-256 content hash of an event.

    Per the spec, ``unsigned``, ``signatures`` and ``hashes`` are removed and the
    rest is hashed as canonical JSON. (Synapse also drops some legacy
    ``age_ts``/``outlier``/``destinations`` top-level keys; real PDUs don't carry
    them, and the spec doesn't mention them, so we hash them if present.)

    Args:
        pdu: the full (unredacted) event JSON.

    Returns:
        The 32-byte digest.

    Raises:
        InvalidCanonicalJson: if the event contains NaN/Infinity or lone surrogates.
    """
    hashed = {k: v for k, v in pdu.items() if k not in _NOT_CONTENT_HASHED}
    return hashlib.sha256(encode_canonical_json(hashed)).digest()


def add_content_hash(pdu: JsonDict) -> None:
    """Set ``pdu["hashes"]`` to ``{"sha256": <unpadded base64 content hash>}``."""
    pdu["hashes"] = {"sha256": encode_base64(compute_content_hash(pdu))}


def check_content_hash(pdu: JsonDict) -> bool:
    """Whether ``pdu["hashes"]["sha256"]`` matches the event's content hash.

    A missing or malformed hash, or an event that can't be encoded, counts as a
    mismatch. On a mismatch the spec says to use the redacted event instead.
    """
    hashes = pdu.get("hashes")
    if not isinstance(hashes, dict):
        return False
    claimed = hashes.get("sha256")
    if not isinstance(claimed, str):
        return False
    try:
        expected = decode_base64(claimed)
        actual = compute_content_hash(pdu)
    except ValueError:  # bad base64 (binascii.Error), or unencodable JSON
        return False
    return hmac.compare_digest(expected, actual)


def compute_reference_hash(pdu: JsonDict, room_version: RoomVersion) -> bytes:
    """The SHA-256 reference hash of an event.

    The event is redacted, ``signatures`` and ``unsigned`` are removed (redaction
    already drops ``unsigned``, and with it any ``age_ts`` in it), and the rest is
    hashed as canonical JSON.

    Args:
        pdu: the event JSON, redacted or not (the result is the same).
        room_version: the version of the room the event belongs to.

    Returns:
        The 32-byte digest.
    """
    redacted = redact_pdu(pdu, room_version)
    redacted.pop("signatures", None)
    redacted.pop("unsigned", None)
    return hashlib.sha256(encode_canonical_json(redacted)).digest()


def compute_event_id(pdu: JsonDict, room_version: RoomVersion) -> str:
    """The event's ID.

    Rooms v1-v2 carry it in the event; v3 uses ``$`` plus the standard unpadded
    base64 reference hash; v4+ the URL-safe unpadded base64 one.

    Raises:
        ValueError: for a v1/v2 event without a string ``event_id``.
    """
    if room_version.event_id_format is EventIdFormat.V1:
        event_id = pdu.get("event_id")
        if not isinstance(event_id, str):
            raise ValueError("room v1/v2 events must carry a string event_id")
        return event_id
    reference_hash = compute_reference_hash(pdu, room_version)
    urlsafe = room_version.event_id_format is EventIdFormat.V4
    return "$" + encode_base64(reference_hash, urlsafe=urlsafe)
