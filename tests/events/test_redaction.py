"""The redaction algorithm, table-driven per room version, plus properties."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from homeserver.events.canonical_json import MAX_SAFE_INTEGER, MIN_SAFE_INTEGER
from homeserver.events.model import Event
from homeserver.events.redaction import redact_event, redact_pdu
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion
from homeserver.types import JsonDict

V = KNOWN_ROOM_VERSIONS
ALL_VERSIONS = list(V.values())

# --- top-level keys -----------------------------------------------------------------

FULL_PDU: JsonDict = {
    "event_id": "$e:x",
    "type": "m.room.message",
    "room_id": "!r:x",
    "sender": "@s:x",
    "state_key": "",
    "content": {"body": "hi"},
    "hashes": {"sha256": "h"},
    "signatures": {"x": {"ed25519:1": "sig"}},
    "depth": 5,
    "prev_events": ["$p"],
    "prev_state": [],
    "auth_events": ["$a"],
    "origin": "x",
    "origin_server_ts": 10,
    "membership": "join",
    "unsigned": {"age": 1, "age_ts": 2},
    "redacts": "$target",
    "age_ts": 3,
    "outlier": False,
    "custom": {"nested": True},
}
KEPT_ALWAYS = {
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
KEPT_BEFORE_V11 = {"prev_state", "origin", "membership"}


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: v.identifier)
def test_top_level_keys(version: RoomVersion) -> None:
    redacted = redact_pdu(FULL_PDU, version)
    expected = KEPT_ALWAYS | (
        KEPT_BEFORE_V11 if int(version.identifier) < 11 else set()
    )
    assert set(redacted) == expected
    for key in expected - {"content"}:
        assert redacted[key] == FULL_PDU[key]
    assert redacted["content"] == {}


# --- content keys, per event type and room version ----------------------------------

THIRD_PARTY_INVITE = {
    "display_name": "alice",
    "signed": {"mxid": "@alice:x", "token": "tok", "signatures": {"id": {"k": "s"}}},
}
CONTENTS: dict[str, JsonDict] = {
    "m.room.member": {
        "membership": "join",
        "join_authorised_via_users_server": "@auth:x",
        "third_party_invite": THIRD_PARTY_INVITE,
        "displayname": "Alice",
        "avatar_url": "mxc://x/a",
        "reason": "hi",
    },
    "m.room.create": {
        "creator": "@c:x",
        "room_version": "1",
        "m.federate": False,
        "predecessor": {"room_id": "!old:x", "event_id": "$old"},
        "additional_creators": ["@d:x"],
        "type": "m.space",
    },
    "m.room.join_rules": {
        "join_rule": "restricted",
        "allow": [{"type": "m.room_membership", "room_id": "!space:x"}],
        "other": 1,
    },
    "m.room.power_levels": {
        "ban": 50,
        "events": {"m.room.name": 100},
        "events_default": 0,
        "invite": 0,
        "kick": 50,
        "redact": 50,
        "state_default": 50,
        "users": {"@a:x": 100},
        "users_default": 0,
        "notifications": {"room": 50},
        "other": 1,
    },
    "m.room.aliases": {"aliases": ["#a:x"], "other": 1},
    "m.room.history_visibility": {"history_visibility": "shared", "other": 1},
    "m.room.redaction": {"redacts": "$target", "reason": "spam"},
    "m.room.message": {"body": "hi", "msgtype": "m.text"},
    "m.room.name": {"name": "Room"},
    "m.room.topic": {"topic": "Topic"},
    "m.room.third_party_invite": {"display_name": "a", "public_key": "k"},
    "m.room.encryption": {"algorithm": "m.megolm.v1.aes-sha2"},
    "m.room.server_acl": {"allow": ["*"], "deny": []},
}
PL_KEYS = {
    "ban",
    "events",
    "events_default",
    "kick",
    "redact",
    "state_default",
    "users",
    "users_default",
}


def _expected_keys(event_type: str, n: int) -> set[str]:
    """The content keys each event type keeps in room version ``n``."""
    if event_type == "m.room.member":
        keys = {"membership"}
        if n >= 9:
            keys.add("join_authorised_via_users_server")
        if n >= 11:
            keys.add("third_party_invite")
        return keys
    if event_type == "m.room.create":
        return set(CONTENTS[event_type]) if n >= 11 else {"creator"}
    if event_type == "m.room.join_rules":
        return {"join_rule", "allow"} if n >= 8 else {"join_rule"}
    if event_type == "m.room.power_levels":
        return PL_KEYS | {"invite"} if n >= 11 else PL_KEYS
    if event_type == "m.room.aliases":
        return {"aliases"} if n <= 5 else set()
    if event_type == "m.room.history_visibility":
        return {"history_visibility"}
    if event_type == "m.room.redaction":
        return {"redacts"} if n >= 11 else set()
    return set()


CASES = [(event_type, version) for event_type in CONTENTS for version in ALL_VERSIONS]


@pytest.mark.parametrize(
    ("event_type", "version"),
    CASES,
    ids=[f"{t}-v{v.identifier}" for t, v in CASES],
)
def test_content_keys(event_type: str, version: RoomVersion) -> None:
    pdu = {"type": event_type, "state_key": "", "content": CONTENTS[event_type]}
    redacted = redact_pdu(pdu, version)
    n = int(version.identifier)
    expected_keys = _expected_keys(event_type, n)
    assert set(redacted["content"]) == expected_keys
    for key in expected_keys - {"third_party_invite"}:
        assert redacted["content"][key] == CONTENTS[event_type][key]


@pytest.mark.parametrize("version", ["11", "12"])
def test_v11_keeps_only_the_signed_part_of_third_party_invite(version: str) -> None:
    pdu = {"type": "m.room.member", "content": CONTENTS["m.room.member"]}
    redacted = redact_pdu(pdu, V[version])
    assert redacted["content"]["third_party_invite"] == {
        "signed": THIRD_PARTY_INVITE["signed"]
    }


@pytest.mark.parametrize(
    "third_party_invite", [{"display_name": "no signed key"}, "not an object", None]
)
def test_v11_third_party_invite_without_signed_is_dropped(
    third_party_invite: Any,
) -> None:
    content = {"membership": "invite", "third_party_invite": third_party_invite}
    redacted = redact_pdu({"type": "m.room.member", "content": content}, V["11"])
    assert redacted["content"] == {"membership": "invite"}


def test_kept_content_keys_are_kept_whatever_their_values() -> None:
    content = {"membership": {"odd": ["shape"]}, "other": 1}
    redacted = redact_pdu({"type": "m.room.member", "content": content}, V["1"])
    assert redacted["content"] == {"membership": {"odd": ["shape"]}}


@pytest.mark.parametrize("content", [None, [], "text", 5])
def test_non_object_content_redacts_to_empty(content: Any) -> None:
    redacted = redact_pdu({"type": "m.room.create", "content": content}, V["11"])
    assert redacted["content"] == {}


def test_missing_content_is_not_added() -> None:
    assert redact_pdu({"type": "m.room.message"}, V["10"]) == {"type": "m.room.message"}


def test_redacted_copy_shares_nothing_with_the_input() -> None:
    pdu = {
        "type": "m.room.create",
        "content": {"predecessor": {"room_id": "!a:x"}},
        "signatures": {"x": {"k": "s"}},
        "prev_events": [["$a:x", {"sha256": "h"}]],
    }
    original = copy.deepcopy(pdu)
    redacted = redact_pdu(pdu, V["11"])
    redacted["content"]["predecessor"]["room_id"] = "!changed:x"
    redacted["signatures"]["x"]["k2"] = "s2"
    redacted["prev_events"][0][1]["sha256"] = "changed"
    assert pdu == original


def test_redact_event_keeps_identity_and_flags() -> None:
    event = Event(
        pdu={"type": "m.room.message", "content": {"body": "hi"}, "room_id": "!r:x"},
        room_version=V["10"],
        event_id="$abc",
        rejected_reason="because",
        outlier=True,
        soft_failed=True,
        stream_ordering=7,
        unsigned={"redacted_because": {"x": 1}},
    )
    redacted = redact_event(event)
    assert redacted is not event
    assert redacted.pdu == {"type": "m.room.message", "content": {}, "room_id": "!r:x"}
    assert event.pdu["content"] == {"body": "hi"}
    assert (redacted.event_id, redacted.room_version) == ("$abc", V["10"])
    assert (redacted.rejected_reason, redacted.outlier, redacted.soft_failed) == (
        "because",
        True,
        True,
    )
    assert redacted.stream_ordering == 7
    assert redacted.unsigned == event.unsigned
    assert redacted.unsigned is not event.unsigned


# --- properties -------------------------------------------------------------------

safe_ints = st.integers(min_value=MIN_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
json_values = st.recursive(
    st.none() | st.booleans() | safe_ints | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
EVENT_TYPES = [*CONTENTS, "org.example.custom"]
CONTENT_KEYS = sorted({k for content in CONTENTS.values() for k in content})
TOP_LEVEL_KEYS = sorted(FULL_PDU)


@st.composite
def pdus(draw: st.DrawFn) -> JsonDict:
    """Arbitrary event-shaped JSON, biased towards keys redaction cares about."""
    content_keys = draw(st.lists(st.sampled_from(CONTENT_KEYS), unique=True))
    content: JsonDict = {key: draw(json_values) for key in content_keys}
    if draw(st.booleans()):
        content["third_party_invite"] = {"signed": draw(json_values)}
    content.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3)))
    pdu: JsonDict = {
        key: draw(json_values)
        for key in draw(st.lists(st.sampled_from(TOP_LEVEL_KEYS), unique=True))
    }
    pdu.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3)))
    pdu["type"] = draw(st.sampled_from(EVENT_TYPES))
    pdu["content"] = content
    return pdu


def _assert_no_new_keys(redacted: Any, original: Any) -> None:
    if isinstance(redacted, dict):
        assert isinstance(original, dict)
        assert set(redacted) <= set(original)
        for key, value in redacted.items():
            _assert_no_new_keys(value, original[key])
    else:
        assert redacted == original


@given(version=st.sampled_from(ALL_VERSIONS), pdu=pdus())
def test_redaction_properties(version: RoomVersion, pdu: JsonDict) -> None:
    original = copy.deepcopy(pdu)
    redacted = redact_pdu(pdu, version)
    assert pdu == original  # never mutates its input
    assert redact_pdu(redacted, version) == redacted  # idempotent
    _assert_no_new_keys(redacted, pdu)
    assert "unsigned" not in redacted
