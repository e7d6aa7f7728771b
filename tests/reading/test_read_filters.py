"""The filter model: parsing, validation and matching."""

from __future__ import annotations

import pytest

from homeserver.errors import MatrixError
from homeserver.events.model import Event
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from homeserver.services.reading.filters import (
    Filter,
    RoomEventFilter,
    matches_any,
    parse_filter,
    parse_filter_param,
)
from homeserver.streams.tokens import Direction, RoomStreamToken


def _event(event_type: str, sender: str = "@a:test", **content: object) -> Event:
    pdu = {
        "type": event_type,
        "sender": sender,
        "room_id": "!r:test",
        "content": content,
    }
    return Event(pdu=pdu, room_version=KNOWN_ROOM_VERSIONS["10"], event_id="$x")


@pytest.mark.parametrize(
    ("value", "patterns", "expected"),
    [
        ("m.room.message", ["m.room.message"], True),
        ("m.room.message", ["m.room.*"], True),
        ("m.room.message", ["*.message"], True),
        ("m.room.message", ["m.*.message"], True),
        ("m.room.message", ["m.room"], False),
        ("m.room.message", ["m.room.messag"], False),
        ("m.roomXmessage", ["m.room.message"], False),
        ("m.room.message", ["*"], True),
        ("a+b", ["a+b"], True),
        ("m.room.message", [], False),
    ],
)
def test_wildcards(value: str, patterns: list[str], expected: bool) -> None:
    assert matches_any(value, patterns) is expected


def test_room_event_filter_matching() -> None:
    f = parse_filter(
        RoomEventFilter,
        {
            "types": ["m.room.*"],
            "not_types": ["m.room.member"],
            "not_senders": ["@spam:test"],
            "contains_url": True,
            "unknown_key": 1,
        },
    )
    assert f.check(_event("m.room.message", url="mxc://x/y"))
    assert not f.check(_event("m.room.message"))
    assert not f.check(_event("m.room.member", url="mxc://x/y"))
    assert not f.check(_event("m.room.message", "@spam:test", url="mxc://x/y"))
    assert not f.check(_event("org.other", url="mxc://x/y"))
    assert parse_filter(RoomEventFilter, {}).is_open


def test_whole_filter_parses_nested_sections() -> None:
    f = parse_filter(
        Filter,
        {
            "event_format": "federation",
            "room": {
                "rooms": ["!r:test"],
                "timeline": {"limit": 5, "lazy_load_members": True},
                "state": {"types": ["m.room.name"]},
            },
        },
    )
    assert f.event_format == "federation"
    assert f.room.timeline.limit == 5 and f.room.timeline.lazy_load_members
    assert f.room.state.types == ["m.room.name"]
    assert f.room.includes_room("!r:test") and not f.room.includes_room("!s:test")


@pytest.mark.parametrize(
    ("raw", "errcode"),
    [
        ("{", "M_INVALID_PARAM"),
        ("[]", "M_BAD_JSON"),
        ('{"limit": -3}', "M_BAD_JSON"),
        ('{"senders": [1]}', "M_BAD_JSON"),
        ('{"contains_url": "yes"}', "M_BAD_JSON"),
    ],
)
def test_bad_filters(raw: str, errcode: str) -> None:
    with pytest.raises(MatrixError) as info:
        parse_filter_param(RoomEventFilter, raw)
    assert info.value.code == 400 and info.value.errcode == errcode


def test_bad_whole_filter_names_the_key() -> None:
    with pytest.raises(MatrixError) as info:
        parse_filter(Filter, {"room": {"timeline": {"types": "x"}}})
    assert "room.timeline.types" in info.value.msg


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("t12-345", RoomStreamToken(12, 345)),
        ("t0-0", RoomStreamToken(0, 0)),
        ("t3--1", RoomStreamToken(3, -1)),
        ("s99", RoomStreamToken(None, 99)),
    ],
)
def test_tokens_round_trip(text: str, token: RoomStreamToken) -> None:
    assert RoomStreamToken.parse(text) == token
    assert token.to_string() == text


@pytest.mark.parametrize("text", ["", "t", "t1", "s", "sx", "x1", "t1-2-3", "s-1"])
def test_bad_tokens(text: str) -> None:
    with pytest.raises(MatrixError) as info:
        RoomStreamToken.parse(text, "from")
    assert info.value.errcode == "M_INVALID_PARAM"
    assert "'from'" in info.value.msg


def test_direction() -> None:
    assert Direction.parse("b") is Direction.BACKWARDS
    with pytest.raises(MatrixError):
        Direction.parse("back")


def test_sync_tokens_are_room_tokens() -> None:
    # /messages accepts a /sync next_batch: its first part is the events stream.
    assert RoomStreamToken.parse("s12_3_4_0_0_0_0") == RoomStreamToken(None, 12)
