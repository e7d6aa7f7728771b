"""Shared test data: the spec's signing key and real events with known IDs/hashes.

Sources: appendices.md "Cryptographic Test Vectors"; the spec's PDU examples
(spec_examples.json); real events (one from Synapse on jki.re, one from a local
Synapse) used as event-ID vectors in matrix-org/gomatrixserverlib
``eventversion_test.go``.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from signedjson.key import decode_signing_key_base64, get_verify_key

from homeserver.types import JsonDict

SIGNING_KEY_SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"
SERVER_NAME = "domain"
KEY_ID = "ed25519:1"
SIGNING_KEY = decode_signing_key_base64("ed25519", "1", SIGNING_KEY_SEED)
VERIFY_KEY = get_verify_key(SIGNING_KEY)

OTHER_SIGNING_KEY = decode_signing_key_base64(
    "ed25519", "2", "JTxA23bIChDY7mY9KZrA4sUtPs0VgLIyDlyOQmAMPjA"
)
OTHER_VERIFY_KEY = get_verify_key(OTHER_SIGNING_KEY)

# A room v5 create event from jki.re (sent by Synapse). Its event ID is
# $RrGxF28UrHLmoASHndYb9Jb/1SFww2ptmtur9INS438 under v3 rules and
# $RrGxF28UrHLmoASHndYb9Jb_1SFww2ptmtur9INS438 under v4+ rules.
REAL_V5_CREATE: JsonDict = json.loads(
    """{"auth_events": [], "prev_events": [], "type": "m.room.create",
    "room_id": "!uXDCzlYgCTHtiWCkEx:jki.re", "sender": "@erikj:jki.re",
    "content": {"room_version": "5", "predecessor": {
        "room_id": "!gdRMqOrTFdOCYHNwOo:half-shot.uk",
        "event_id": "$LP7ROBc4b+cMc1UE9haIz8q5AK2AIW4eJ90FfKLvyZI"},
        "creator": "@erikj:jki.re"},
    "depth": 1, "prev_state": [], "state_key": "", "origin": "jki.re",
    "origin_server_ts": 1560284621137,
    "hashes": {"sha256": "IX6zuNiJpJPNf70BLleL3HSCpjKeq9Uhu7uUpyDjBmc"},
    "signatures": {"jki.re": {"ed25519:auto":
        "O4IyFfF2PPtGp5uaDm8t57dZbdh8vc8Q64LgCwvzYRVItAMI0uisfiAFaxkVT7MRpzh6N2QNN5NMRXZKmgPYDA"}},
    "unsigned": {"age": 1321650}}"""
)
REAL_V5_CREATE_ID_V3 = "$RrGxF28UrHLmoASHndYb9Jb/1SFww2ptmtur9INS438"
REAL_V5_CREATE_ID_V4 = "$RrGxF28UrHLmoASHndYb9Jb_1SFww2ptmtur9INS438"

# A room v1 m.room.name event from a local Synapse; its ID is carried inline.
REAL_V1_NAME: JsonDict = json.loads(
    """{"auth_events": [
        ["$oXL79cT7fFxR7dPH:localhost",
         {"sha256": "abjkiDSg1RkuZrbj2jZoGMlQaaj1Ue3Jhi7I7NlKfXY"}],
        ["$IVUsaSkm1LBAZYYh:localhost",
         {"sha256": "X7RUj46hM/8sUHNBIFkStbOauPvbDzjSdH4NibYWnko"}],
        ["$VS2QT0EeArZYi8wf:localhost",
         {"sha256": "k9eM6utkCH8vhLW9/oRsH74jOBS/6RVK42iGDFbylno"}]],
    "content": {"name": "test3"}, "depth": 7,
    "event_id": "$yvN1b43rlmcOs5fY:localhost",
    "hashes": {"sha256": "Oh1mwI1jEqZ3tgJ+V1Dmu5nOEGpCE4RFUqyJv2gQXKs"},
    "origin": "localhost", "origin_server_ts": 1510854416361,
    "prev_events": [["$FqI6TVvWpcbcnJ97:localhost",
        {"sha256": "upCsBqUhNUgT2/+zkzg8TbqdQpWWKQnZpGJc6KcbUC4"}]],
    "prev_state": [], "room_id": "!19Mp0U9hjajeIiw1:localhost",
    "sender": "@test:localhost",
    "signatures": {"localhost": {"ed25519:u9kP":
        "5IzSuRXkxvbTp0vZhhXYZeOe+619iG3AybJXr7zfNn/4vHz4TH7qSJVQXSaHHvcTcDodAKHnTG1WDulgO5okAQ"}},
    "state_key": "", "type": "m.room.name"}"""
)

# The spec's PDU examples (data/api/server-server/examples/, Matrix v1.19), copied
# verbatim into spec_examples.json so the tests need nothing outside the checkout.
SPEC_EXAMPLES: dict[str, Any] = json.loads(
    (Path(__file__).with_name("spec_examples.json")).read_text()
)["files"]


def load_spec_example(name: str) -> JsonDict:
    """A PDU example from the spec, with its ``$ref``/``allOf`` parts merged."""
    return _resolve(SPEC_EXAMPLES[name], PurePosixPath(name).parent)


def _resolve(value: Any, base: PurePosixPath) -> Any:
    if not isinstance(value, dict):
        return value
    merged: JsonDict = {}
    if "$ref" in value:
        ref = base / value["$ref"]
        merged.update(_resolve(SPEC_EXAMPLES[str(ref)], ref.parent))
    for part in value.get("allOf", []):
        merged.update(_resolve(part, base))
    merged.update({k: v for k, v in value.items() if k not in ("$ref", "allOf")})
    return merged
