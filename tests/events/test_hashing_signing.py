"""Hashes, signatures and event IDs against the spec's vectors and real events."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unpaddedbase64 import decode_base64, encode_base64

from homeserver.events.canonical_json import encode_canonical_json
from homeserver.events.hashing import (
    add_content_hash,
    check_content_hash,
    compute_content_hash,
    compute_event_id,
    compute_reference_hash,
)
from homeserver.events.redaction import redact_pdu
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from homeserver.events.signing import (
    required_signature_servers,
    sign_event,
    sign_json,
    verify_event_signature,
    verify_json,
)
from homeserver.types import JsonDict
from tests.events.test_redaction import pdus
from tests.events.vectors import (
    KEY_ID,
    OTHER_SIGNING_KEY,
    OTHER_VERIFY_KEY,
    REAL_V1_NAME,
    REAL_V5_CREATE,
    REAL_V5_CREATE_ID_V3,
    REAL_V5_CREATE_ID_V4,
    SERVER_NAME,
    SIGNING_KEY,
    VERIFY_KEY,
)

V = KNOWN_ROOM_VERSIONS
ALL_VERSIONS = list(V.values())


# --- appendices.md "JSON Signing" ---------------------------------------------


def test_sign_empty_object() -> None:
    assert sign_json({}, SERVER_NAME, SIGNING_KEY) == {
        "signatures": {
            "domain": {
                "ed25519:1": "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
            }
        }
    }


def test_sign_data_object() -> None:
    obj = {"one": 1, "two": "Two"}
    result = sign_json(obj, SERVER_NAME, SIGNING_KEY)
    assert result is obj  # in place
    assert obj == {
        "one": 1,
        "signatures": {
            "domain": {
                "ed25519:1": "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
            }
        },
        "two": "Two",
    }
    assert verify_json(obj, SERVER_NAME, VERIFY_KEY)


def test_unsigned_and_existing_signatures_are_not_signed_and_are_kept() -> None:
    obj: JsonDict = {
        "one": 1,
        "two": "Two",
        "unsigned": {"age_ts": 5},
        "signatures": {"other": {"ed25519:x": "abc"}},
    }
    sign_json(obj, SERVER_NAME, SIGNING_KEY)
    assert obj["unsigned"] == {"age_ts": 5}
    assert obj["signatures"]["other"] == {"ed25519:x": "abc"}
    assert obj["signatures"]["domain"][KEY_ID] == (
        "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
    )
    obj["unsigned"]["age_ts"] = 6  # unsigned may change in transit
    assert verify_json(obj, SERVER_NAME, VERIFY_KEY)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda o: o.update(one=2),
        lambda o: o.pop("two"),
        lambda o: o.update(three=3),
        lambda o: o.pop("signatures"),
        lambda o: o["signatures"].pop("domain"),
        lambda o: o["signatures"]["domain"].update({KEY_ID: "!!notbase64"}),
        lambda o: o["signatures"]["domain"].update({KEY_ID: "AAAA"}),
        lambda o: o["signatures"].update(domain="string"),
        lambda o: o.update(signatures=[]),
    ],
)
def test_verify_json_fails_closed(tamper: Any) -> None:
    obj = sign_json({"one": 1, "two": "Two"}, SERVER_NAME, SIGNING_KEY)
    tamper(obj)
    assert not verify_json(obj, SERVER_NAME, VERIFY_KEY)


def test_verify_json_with_the_wrong_key_or_server() -> None:
    obj = sign_json({"one": 1}, SERVER_NAME, SIGNING_KEY)
    assert not verify_json(obj, SERVER_NAME, OTHER_VERIFY_KEY)
    assert not verify_json(obj, "other", VERIFY_KEY)


# --- appendices.md "Event Signing" (room v1 rules) ------------------------------

MINIMAL_EVENT: JsonDict = {
    "room_id": "!x:domain",
    "sender": "@a:domain",
    "origin": "domain",
    "origin_server_ts": 1000000,
    "signatures": {},
    "hashes": {},
    "type": "X",
    "content": {},
    "prev_events": [],
    "auth_events": [],
    "depth": 3,
    "unsigned": {"age_ts": 1000000},
}
MINIMAL_EVENT_SIGNED: JsonDict = {
    "auth_events": [],
    "content": {},
    "depth": 3,
    "hashes": {"sha256": "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"},
    "origin": "domain",
    "origin_server_ts": 1000000,
    "prev_events": [],
    "room_id": "!x:domain",
    "sender": "@a:domain",
    "signatures": {
        "domain": {
            "ed25519:1": "KxwGjPSDEtvnFgU00fwFz+l6d2pJM6XBIaMEn81SXPTRl16AqLAYqfIReFGZlHi5KLjAWbOoMszkwsQma+lYAg"
        }
    },
    "type": "X",
    "unsigned": {"age_ts": 1000000},
}
MESSAGE_EVENT: JsonDict = {
    "content": {"body": "Here is the message content"},
    "event_id": "$0:domain",
    "origin": "domain",
    "origin_server_ts": 1000000,
    "type": "m.room.message",
    "room_id": "!r:domain",
    "sender": "@u:domain",
    "signatures": {},
    "unsigned": {"age_ts": 1000000},
}
MESSAGE_EVENT_SIGNED: JsonDict = {
    "content": {"body": "Here is the message content"},
    "event_id": "$0:domain",
    "hashes": {"sha256": "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"},
    "origin": "domain",
    "origin_server_ts": 1000000,
    "type": "m.room.message",
    "room_id": "!r:domain",
    "sender": "@u:domain",
    "signatures": {
        "domain": {
            "ed25519:1": "Wm+VzmOUOz08Ds+0NTWb1d4CZrVsJSikkeRxh6aCcUwu6pNC78FunoD7KNWzqFn241eYHYMGCA5McEiVPdhzBA"
        }
    },
    "unsigned": {"age_ts": 1000000},
}


def _hash_and_sign(pdu: JsonDict, room_version: RoomVersion) -> JsonDict:
    pdu = copy.deepcopy(pdu)
    add_content_hash(pdu)
    sign_event(pdu, room_version, SERVER_NAME, SIGNING_KEY)
    return pdu


@pytest.mark.parametrize(
    ("given_event", "expected"),
    [(MINIMAL_EVENT, MINIMAL_EVENT_SIGNED), (MESSAGE_EVENT, MESSAGE_EVENT_SIGNED)],
    ids=["minimal", "redactable"],
)
def test_event_signing_vectors(given_event: JsonDict, expected: JsonDict) -> None:
    signed = _hash_and_sign(given_event, V["1"])
    assert signed == expected
    assert check_content_hash(signed)
    assert verify_event_signature(signed, V["1"], SERVER_NAME, VERIFY_KEY)


def test_the_message_vector_signature_covers_the_redacted_form() -> None:
    redacted = redact_pdu(MESSAGE_EVENT_SIGNED, V["1"])
    assert redacted == {
        "content": {},
        "event_id": "$0:domain",
        "hashes": {"sha256": "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"},
        "origin": "domain",
        "origin_server_ts": 1000000,
        "type": "m.room.message",
        "room_id": "!r:domain",
        "sender": "@u:domain",
        "signatures": MESSAGE_EVENT_SIGNED["signatures"],
    }
    # The same signature, computed directly over the redacted form...
    bare = {k: v for k, v in redacted.items() if k != "signatures"}
    signature = sign_json(bare, SERVER_NAME, SIGNING_KEY)["signatures"]
    assert signature == MESSAGE_EVENT_SIGNED["signatures"]
    # ...verifies on the redacted copy, whose content hash no longer matches.
    assert verify_event_signature(redacted, V["1"], SERVER_NAME, VERIFY_KEY)
    assert not check_content_hash(redacted)


def test_the_content_hash_is_sha256_of_the_canonical_event_minus_three_keys() -> None:
    expected = hashlib.sha256(
        encode_canonical_json(
            {
                k: v
                for k, v in MESSAGE_EVENT_SIGNED.items()
                if k not in ("unsigned", "signatures", "hashes")
            }
        )
    ).digest()
    assert compute_content_hash(MESSAGE_EVENT_SIGNED) == expected
    assert encode_base64(expected) == MESSAGE_EVENT_SIGNED["hashes"]["sha256"]


@pytest.mark.parametrize(
    "hashes",
    [None, "x", {}, {"sha256": 5}, {"sha256": "!!!"}, {"sha256": "AAAA"}],
)
def test_check_content_hash_fails_closed(hashes: Any) -> None:
    pdu = copy.deepcopy(MESSAGE_EVENT_SIGNED)
    pdu["hashes"] = hashes
    assert not check_content_hash(pdu)


def test_check_content_hash_accepts_padded_base64() -> None:
    pdu = copy.deepcopy(MESSAGE_EVENT_SIGNED)
    pdu["hashes"]["sha256"] += "="
    assert check_content_hash(pdu)


# --- event IDs ------------------------------------------------------------------


def test_real_event_ids_v3_and_v4() -> None:
    assert compute_event_id(REAL_V5_CREATE, V["3"]) == REAL_V5_CREATE_ID_V3
    for version in ("4", "5", "6", "9", "10"):
        assert compute_event_id(REAL_V5_CREATE, V[version]) == REAL_V5_CREATE_ID_V4
    assert check_content_hash(REAL_V5_CREATE)


def test_real_v1_event_carries_its_id_and_hash() -> None:
    assert compute_event_id(REAL_V1_NAME, V["1"]) == "$yvN1b43rlmcOs5fY:localhost"
    assert compute_event_id(REAL_V1_NAME, V["2"]) == "$yvN1b43rlmcOs5fY:localhost"
    assert check_content_hash(REAL_V1_NAME)


def test_v1_event_without_event_id_raises() -> None:
    with pytest.raises(ValueError):
        compute_event_id(MINIMAL_EVENT, V["1"])


def test_event_id_is_the_encoded_reference_hash() -> None:
    reference = compute_reference_hash(REAL_V5_CREATE, V["5"])
    redacted = redact_pdu(REAL_V5_CREATE, V["5"])
    del redacted["signatures"]
    assert reference == hashlib.sha256(encode_canonical_json(redacted)).digest()
    assert decode_base64(REAL_V5_CREATE_ID_V4[1:]) == reference
    assert decode_base64(REAL_V5_CREATE_ID_V3[1:]) == reference


def test_reference_hash_ignores_unsigned_signatures_and_redactable_parts() -> None:
    base = compute_reference_hash(REAL_V5_CREATE, V["5"])
    changed = copy.deepcopy(REAL_V5_CREATE)
    changed["unsigned"] = {"age": 1}
    changed["signatures"]["other.server"] = {"ed25519:a": "sig"}
    changed["content"]["predecessor"] = {"room_id": "!elsewhere:x"}
    changed["unknown_top_level"] = 1
    assert compute_reference_hash(changed, V["5"]) == base
    # ...but not the hashes, which cover the redactable parts.
    changed["hashes"] = {"sha256": "different"}
    assert compute_reference_hash(changed, V["5"]) != base


@given(version=st.sampled_from(ALL_VERSIONS), pdu=pdus())
def test_redaction_does_not_change_reference_hash_or_event_id(
    version: RoomVersion, pdu: JsonDict
) -> None:
    redacted = redact_pdu(pdu, version)
    assert compute_reference_hash(redacted, version) == compute_reference_hash(
        pdu, version
    )
    if isinstance(pdu.get("event_id"), str) or version.identifier not in ("1", "2"):
        assert compute_event_id(redacted, version) == compute_event_id(pdu, version)


@given(version=st.sampled_from(ALL_VERSIONS), pdu=pdus())
def test_signatures_survive_redaction(version: RoomVersion, pdu: JsonDict) -> None:
    add_content_hash(pdu)
    sign_event(pdu, version, SERVER_NAME, SIGNING_KEY)
    assert check_content_hash(pdu)
    assert verify_event_signature(pdu, version, SERVER_NAME, VERIFY_KEY)
    redacted = redact_pdu(pdu, version)
    assert verify_event_signature(redacted, version, SERVER_NAME, VERIFY_KEY)
    assert not verify_event_signature(redacted, version, SERVER_NAME, OTHER_VERIFY_KEY)


def test_sign_event_adds_to_existing_signatures() -> None:
    pdu = _hash_and_sign(MESSAGE_EVENT, V["1"])
    sign_event(pdu, V["1"], "other.server", OTHER_SIGNING_KEY)
    assert set(pdu["signatures"]) == {"domain", "other.server"}
    assert verify_event_signature(pdu, V["1"], SERVER_NAME, VERIFY_KEY)
    assert verify_event_signature(pdu, V["1"], "other.server", OTHER_VERIFY_KEY)


def test_sign_event_does_not_cover_redactable_content() -> None:
    pdu = _hash_and_sign(MESSAGE_EVENT, V["1"])
    pdu["content"]["body"] = "tampered"
    # The signature still verifies (it's over the redacted form)...
    assert verify_event_signature(pdu, V["1"], SERVER_NAME, VERIFY_KEY)
    # ...but the content hash catches the change.
    assert not check_content_hash(pdu)
    pdu["origin_server_ts"] += 1
    assert not verify_event_signature(pdu, V["1"], SERVER_NAME, VERIFY_KEY)


# --- required signatures ----------------------------------------------------------


def _event(**fields: Any) -> JsonDict:
    return {"type": "m.room.message", "sender": "@u:a.example", "content": {}, **fields}


@pytest.mark.parametrize(
    ("version", "pdu", "expected"),
    [
        ("10", _event(), {"a.example"}),
        ("3", _event(), {"a.example"}),
        ("1", _event(event_id="$e:a.example"), {"a.example"}),
        ("2", _event(event_id="$e:b.example"), {"a.example", "b.example"}),
        # Third-party invites may be sent by another server than the sender's.
        (
            "10",
            _event(
                type="m.room.member",
                state_key="@x:c.example",
                content={"membership": "invite", "third_party_invite": {}},
            ),
            set(),
        ),
        (
            "1",
            _event(
                event_id="$e:b.example",
                type="m.room.member",
                content={"membership": "invite", "third_party_invite": {}},
            ),
            {"b.example"},
        ),
        # A third_party_invite on a non-invite doesn't exempt the sender.
        (
            "10",
            _event(
                type="m.room.member",
                content={"membership": "join", "third_party_invite": {}},
            ),
            {"a.example"},
        ),
        # Restricted joins need the authorising server's signature too (v8+).
        (
            "8",
            _event(
                type="m.room.member",
                content={
                    "membership": "join",
                    "join_authorised_via_users_server": "@r:b.example:8448",
                },
            ),
            {"a.example", "b.example:8448"},
        ),
        (
            "7",
            _event(
                type="m.room.member",
                content={
                    "membership": "join",
                    "join_authorised_via_users_server": "@r:b.example",
                },
            ),
            {"a.example"},
        ),
        (
            "12",
            _event(
                type="m.room.member",
                content={
                    "membership": "join",
                    "join_authorised_via_users_server": "@r:a.example",
                },
            ),
            {"a.example"},
        ),
    ],
)
def test_required_signature_servers(
    version: str, pdu: JsonDict, expected: set[str]
) -> None:
    assert required_signature_servers(pdu, V[version]) == expected


@pytest.mark.parametrize(
    ("version", "pdu"),
    [
        ("10", {"type": "m.room.message", "content": {}}),
        ("10", _event(sender="nodomain")),
        ("1", _event()),  # no event_id
        ("2", _event(event_id="$no-domain")),
        (
            "9",
            _event(
                type="m.room.member",
                content={"membership": "join", "join_authorised_via_users_server": 5},
            ),
        ),
    ],
)
def test_required_signature_servers_rejects_unusable_ids(
    version: str, pdu: JsonDict
) -> None:
    with pytest.raises(ValueError):
        required_signature_servers(pdu, V[version])


def test_v3_plus_event_ids_have_no_domain_to_require() -> None:
    pdu = _event(event_id="$no-domain")
    assert required_signature_servers(pdu, V["3"]) == {"a.example"}
