"""Membership templates and PDUs from other servers (events/template.py)."""

from __future__ import annotations

from typing import Any

import pytest
from signedjson.key import generate_signing_key, get_verify_key

from homeserver.events.auth_rules import AuthError
from homeserver.events.builder import build_event
from homeserver.events.hashing import check_content_hash
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from homeserver.events.signing import verify_event_signature
from homeserver.events.template import (
    check_join_against_state,
    check_template,
    event_from_pdu,
    event_from_template,
    federation_pdu,
)
from homeserver.events.validation import EventFormatError

KEY = generate_signing_key("k1")
ROOM = "!room:b.test"
ALICE = "@alice:a.test"


def _template(**changes: Any) -> dict[str, Any]:
    template: dict[str, Any] = {
        "type": "m.room.member",
        "room_id": ROOM,
        "sender": ALICE,
        "state_key": ALICE,
        "content": {"membership": "join"},
        "depth": 7,
        "prev_events": ["$prev"],
        "auth_events": ["$create", "$power", "$rules"],
        "origin": "b.test",
        "origin_server_ts": 5,
    }
    template.update(changes)
    return template


@pytest.mark.parametrize(
    ("changes", "wrong"),
    [
        ({"type": "m.room.message"}, "type"),
        ({"room_id": "!other:b.test"}, "room_id"),
        ({"sender": "@eve:a.test"}, "sender"),
        ({"state_key": "@eve:a.test"}, "state_key"),
        ({"content": {"membership": "leave"}}, "content.membership"),
    ],
)
def test_check_template_refuses_the_wrong_event(
    changes: dict[str, Any], wrong: str
) -> None:
    with pytest.raises(EventFormatError, match=wrong):
        check_template(_template(**changes), ROOM, ALICE, "join")
    assert check_template(_template(), ROOM, ALICE, "join")["depth"] == 7
    with pytest.raises(EventFormatError):
        check_template(["not", "an", "object"], ROOM, ALICE, "join")


@pytest.mark.parametrize("version", ["1", "10", "11"])
def test_event_from_template_is_hashed_signed_and_ours(version: str) -> None:
    room_version = KNOWN_ROOM_VERSIONS[version]
    template = _template()
    if version == "1":
        template["prev_events"] = [["$prev:b.test", {"sha256": "abc"}]]
        template["auth_events"] = [["$create:b.test", {"sha256": "abc"}]]
    event = event_from_template(
        room_version,
        template,
        server_name="a.test",
        signing_key=KEY,
        origin_server_ts=1234,
        extra_content={"displayname": "Alice", "membership": "leave"},
    )
    pdu = event.pdu
    # The template's membership wins over extra content.
    assert pdu["content"] == {"membership": "join", "displayname": "Alice"}
    assert pdu["origin_server_ts"] == 1234
    assert ("origin" in pdu) == (version != "11")
    if "origin" in pdu:
        assert pdu["origin"] == "a.test"
    assert check_content_hash(pdu)
    assert verify_event_signature(pdu, room_version, "a.test", get_verify_key(KEY))
    assert "b.test" not in pdu.get("signatures", {})
    if version == "1":
        assert event.event_id.endswith(":a.test")
    else:
        assert event.event_id.startswith("$") and ":" not in event.event_id
    # The template itself is not changed.
    assert template["content"] == {"membership": "join"}


def test_event_from_pdu_drops_unsigned_and_checks_format() -> None:
    room_version = KNOWN_ROOM_VERSIONS["10"]
    built = build_event(
        room_version,
        room_id=ROOM,
        type="m.room.message",
        sender=ALICE,
        content={"body": "hi"},
        prev_event_ids=["$p"],
        auth_event_ids=["$a"],
        depth=3,
        origin_server_ts=1,
        server_name="a.test",
        signing_key=KEY,
    )
    pdu = dict(federation_pdu(built), unsigned={"age": 5})
    event = event_from_pdu(pdu, room_version)
    assert "unsigned" not in event.pdu
    assert event.event_id == built.event_id
    with pytest.raises(EventFormatError):
        event_from_pdu({"type": "m.room.message"}, room_version)
    with pytest.raises(EventFormatError):
        event_from_pdu("nope", room_version)


def _state_event(
    event_type: str, state_key: str, content: dict[str, Any], sender: str
) -> Any:
    return build_event(
        KNOWN_ROOM_VERSIONS["10"],
        room_id=ROOM,
        type=event_type,
        sender=sender,
        content=content,
        prev_event_ids=["$p"],
        auth_event_ids=["$a"],
        depth=2,
        origin_server_ts=1,
        server_name="b.test",
        signing_key=KEY,
        state_key=state_key,
    )


def test_check_join_against_state() -> None:
    version = KNOWN_ROOM_VERSIONS["10"]
    bob = "@bob:b.test"
    create = _state_event("m.room.create", "", {"creator": bob}, bob)
    power = _state_event("m.room.power_levels", "", {"users": {bob: 100}}, bob)
    public = _state_event("m.room.join_rules", "", {"join_rule": "public"}, bob)
    invite_only = _state_event("m.room.join_rules", "", {"join_rule": "invite"}, bob)
    join = event_from_template(
        version,
        _template(),
        server_name="a.test",
        signing_key=KEY,
        origin_server_ts=10,
    )
    state = [federation_pdu(e) for e in (create, power, public)]
    check_join_against_state(join, state, version)
    with pytest.raises(AuthError):
        check_join_against_state(
            join, [federation_pdu(e) for e in (create, power, invite_only)], version
        )
    with pytest.raises(AuthError):
        check_join_against_state(join, [federation_pdu(power)], version)
