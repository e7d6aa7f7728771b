"""Building events: each room version's PDU shape, hashes, signatures and IDs."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.events.builder import build_event
from homeserver.events.hashing import (
    check_content_hash,
    compute_event_id,
    compute_reference_hash,
)
from homeserver.events.model import Event, EventTypes
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from homeserver.events.signing import required_signature_servers, verify_event_signature
from homeserver.events.validation import EventFormatError, validate_pdu
from homeserver.types import JsonDict
from tests.events.vectors import OTHER_VERIFY_KEY, SIGNING_KEY, VERIFY_KEY

V = KNOWN_ROOM_VERSIONS
ALL_VERSIONS = list(V.values())
SERVER = "example.org"
V12_ROOM_ID = "!" + "A" * 43


def _room_id(version: RoomVersion) -> str:
    return V12_ROOM_ID if version.room_id_is_create_hash else "!room:example.org"


def _build(version: RoomVersion, **overrides: Any) -> Event:
    is_v1 = version.identifier in ("1", "2")
    prev = "$prev:example.org" if is_v1 else "$prev"
    auth = "$auth:example.org" if is_v1 else "$auth"
    fields: dict[str, Any] = {
        "room_id": _room_id(version),
        "type": EventTypes.MESSAGE,
        "sender": "@alice:example.org",
        "content": {"body": "hello", "msgtype": "m.text"},
        "prev_event_ids": [prev],
        "auth_event_ids": [auth],
        "depth": 4,
        "origin_server_ts": 1_700_000_000_000,
        "server_name": SERVER,
        "signing_key": SIGNING_KEY,
    }
    fields.update(overrides)
    return build_event(version, **fields)


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: v.identifier)
def test_built_events_are_valid_hashed_and_signed(version: RoomVersion) -> None:
    event = _build(version)
    pdu = event.pdu
    validate_pdu(pdu, version)
    assert check_content_hash(pdu)
    assert verify_event_signature(pdu, version, SERVER, VERIFY_KEY)
    assert not verify_event_signature(pdu, version, SERVER, OTHER_VERIFY_KEY)
    assert required_signature_servers(pdu, version) == {SERVER}
    assert event.event_id == compute_event_id(pdu, version)
    assert event.room_version is version
    assert event.room_id == _room_id(version)
    assert event.type == EventTypes.MESSAGE
    assert event.sender == "@alice:example.org"
    assert event.content == {"body": "hello", "msgtype": "m.text"}
    assert event.depth == 4
    assert not event.is_state()
    assert "unsigned" not in pdu


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: v.identifier)
def test_version_specific_shape(version: RoomVersion) -> None:
    event = _build(version)
    pdu = event.pdu
    n = int(version.identifier)
    if n <= 2:
        assert pdu["event_id"] == event.event_id
        assert event.event_id.startswith("$")
        assert event.event_id.endswith(":example.org")
        assert len(event.event_id) == len("$:example.org") + 18
        assert pdu["prev_events"] == [["$prev:example.org", {}]]
        assert pdu["auth_events"] == [["$auth:example.org", {}]]
        assert event.prev_event_ids == ["$prev:example.org"]
        assert event.auth_event_ids == ["$auth:example.org"]
    else:
        assert "event_id" not in pdu
        assert pdu["prev_events"] == ["$prev"]
        assert pdu["auth_events"] == ["$auth"]
        assert event.prev_event_ids == ["$prev"]
        assert len(event.event_id) == 44
        if n == 3:
            assert "-" not in event.event_id and "_" not in event.event_id
        else:
            assert "+" not in event.event_id and "/" not in event.event_id
    assert ("origin" in pdu) == (n <= 10)
    if n <= 10:
        assert pdu["origin"] == SERVER


def test_v1_event_ids_are_random() -> None:
    ids = {_build(V["1"]).event_id for _ in range(20)}
    assert len(ids) == 20


def test_v1_reference_hashes_come_from_the_callback() -> None:
    hashes = {
        "$prev:example.org": {"sha256": "p"},
        "$auth:example.org": {"sha256": "a"},
    }
    event = _build(V["1"], prev_event_hashes=lambda event_id: hashes[event_id])
    assert event.pdu["prev_events"] == [["$prev:example.org", {"sha256": "p"}]]
    assert event.pdu["auth_events"] == [["$auth:example.org", {"sha256": "a"}]]
    # The pairs are copies, not the caller's objects.
    assert event.pdu["prev_events"][0][1] is not hashes["$prev:example.org"]


def test_v3_plus_event_id_matches_reference_hash_in_both_encodings() -> None:
    event = _build(V["3"])
    same_pdu_in_v4 = compute_event_id(event.pdu, V["4"])
    assert compute_reference_hash(event.pdu, V["3"]) == compute_reference_hash(
        event.pdu, V["4"]
    )
    assert same_pdu_in_v4[1:].translate(str.maketrans("-_", "+/")) == event.event_id[1:]


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: v.identifier)
def test_state_events_and_redactions(version: RoomVersion) -> None:
    state = _build(
        version,
        type=EventTypes.NAME,
        state_key="",
        content={"name": "Room"},
    )
    assert state.is_state() and state.state_key == ""
    redaction = _build(version, type=EventTypes.REDACTION, content={}, redacts="$t")
    if version.redacts_in_content:
        assert redaction.pdu["content"] == {"redacts": "$t"}
        assert "redacts" not in redaction.pdu
    else:
        assert redaction.pdu["redacts"] == "$t"
        assert redaction.pdu["content"] == {}
    assert redaction.redacts == "$t"


def test_v12_create_has_no_room_id_and_derives_it() -> None:
    create = build_event(
        V["12"],
        room_id=None,
        type=EventTypes.CREATE,
        state_key="",
        sender="@alice:example.org",
        content={"room_version": "12"},
        prev_event_ids=[],
        auth_event_ids=[],
        depth=1,
        origin_server_ts=1,
        server_name=SERVER,
        signing_key=SIGNING_KEY,
    )
    assert "room_id" not in create.pdu
    validate_pdu(create.pdu, V["12"])
    assert create.room_id == "!" + create.event_id[1:]
    assert verify_event_signature(create.pdu, V["12"], SERVER, VERIFY_KEY)
    # The derived room ID is itself a valid v12 room ID for later events.
    message = _build(V["12"], room_id=create.room_id)
    assert message.room_id == create.room_id


def test_room_id_rules() -> None:
    with pytest.raises(EventFormatError, match="no room_id"):
        _build(V["12"], type=EventTypes.CREATE, state_key="", content={})
    with pytest.raises(EventFormatError, match="room_id is required"):
        _build(V["11"], type=EventTypes.CREATE, state_key="", room_id=None)
    with pytest.raises(EventFormatError, match="room_id is required"):
        _build(V["12"], room_id=None)


@pytest.mark.parametrize("version", ["1", "5", "10", "12"])
def test_oversized_content_is_rejected(version: str) -> None:
    with pytest.raises(EventFormatError, match="limit is 65536"):
        _build(V[version], content={"body": "x" * 70_000})


def test_floats_rejected_from_v6_but_allowed_before() -> None:
    with pytest.raises(EventFormatError, match="canonical JSON"):
        _build(V["6"], content={"n": 1.5})
    event = _build(V["5"], content={"n": 1.5})
    assert check_content_hash(event.pdu)
    with pytest.raises(EventFormatError, match="canonical JSON"):
        _build(V["5"], content={"n": float("nan")})


def test_invalid_sender_is_rejected() -> None:
    with pytest.raises(EventFormatError, match="sender"):
        _build(V["10"], sender="alice")


def test_extra_keys() -> None:
    event = _build(V["10"], extra={"unsigned": {"transaction_id": "t"}, "x": [1]})
    assert event.pdu["unsigned"] == {"transaction_id": "t"}
    assert event.pdu["x"] == [1]
    assert check_content_hash(event.pdu)
    assert verify_event_signature(event.pdu, V["10"], SERVER, VERIFY_KEY)
    for clash in ("type", "hashes", "signatures", "event_id", "depth"):
        with pytest.raises(EventFormatError, match=clash):
            _build(V["10"], extra={clash: "x"})


def test_content_is_copied_not_shared() -> None:
    content: JsonDict = {"body": "hi", "nested": {"a": 1}}
    event = _build(V["11"], content=content, type=EventTypes.REDACTION, redacts="$t")
    assert content == {"body": "hi", "nested": {"a": 1}}
    content["nested"]["a"] = 2
    assert event.content["nested"] == {"a": 1}


def test_signature_key_id_comes_from_the_key() -> None:
    event = _build(V["10"])
    assert list(event.pdu["signatures"]) == [SERVER]
    assert list(event.pdu["signatures"][SERVER]) == ["ed25519:1"]
