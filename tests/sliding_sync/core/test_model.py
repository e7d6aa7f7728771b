"""The sliding-sync request model: both required_state formats, combining, errors."""

from __future__ import annotations

import pytest

from homeserver.errors import MatrixError
from homeserver.services.sliding_sync.model import (
    MAX_TIMELINE_LIMIT,
    RequiredState,
    RoomConfig,
)


def test_deployed_format_wildcards_and_lazy() -> None:
    rs = RequiredState.parse(
        [["m.room.create", ""], ["*", "*"], ["m.room.member", "$LAZY"]]
    )
    # "*" everything covers the create event, and all members makes lazy moot.
    assert rs.include == {(None, None)}
    assert rs.lazy_members is False
    lazy = RequiredState.parse([["m.room.name", ""], ["m.room.member", "$LAZY"]])
    assert lazy.include == {("m.room.name", "")}
    assert lazy.lazy_members is True
    me = RequiredState.parse([["m.room.member", "$ME"]])
    assert me.include == {("m.room.member", "$ME")}
    assert me.for_user("@a:hs").include == {("m.room.member", "@a:hs")}


def test_both_formats_normalise_to_the_same_model() -> None:
    deployed = RequiredState.parse(
        [["m.room.create", ""], ["m.room.member", "$LAZY"], ["m.space.child", "*"]]
    )
    merged = RequiredState.parse(
        {
            "include": [
                {"type": "m.room.create", "state_key": ""},
                {"type": "m.space.child"},
            ],
            "lazy_members": True,
        }
    )
    assert deployed == merged


def test_merged_format_exclude_and_matches() -> None:
    rs = RequiredState.parse(
        {"include": [{}], "exclude": [{"type": "m.room.create", "state_key": ""}]}
    )
    assert rs.matches("m.room.name", "")
    assert not rs.matches("m.room.create", "")
    key_only = RequiredState.parse({"include": [{"state_key": "@a:hs"}]})
    assert key_only.matches("m.room.member", "@a:hs")
    assert key_only.matches("org.custom", "@a:hs")
    assert not key_only.matches("m.room.member", "@b:hs")
    # an exclusion that drops nothing included is dropped
    assert (
        RequiredState.parse(
            {"include": [{"type": "a"}], "exclude": [{"type": "b"}]}
        ).exclude
        == frozenset()
    )


def test_combine_is_a_superset() -> None:
    everything_but_create = RequiredState.parse(
        {"include": [{}], "exclude": [{"type": "m.room.create", "state_key": ""}]}
    )
    create = RequiredState.parse([["m.room.create", ""]])
    both = everything_but_create.combine(create)
    assert both.matches("m.room.create", "")
    assert both.matches("m.room.name", "")
    # an exclusion both configs share survives
    a = RequiredState.parse({"include": [{}], "exclude": [{"type": "x"}]})
    b = RequiredState.parse(
        {"include": [{"type": "m.room.name"}], "exclude": [{"type": "x"}]}
    )
    assert not a.combine(b).matches("x", "")
    # an exclusion the other config cannot return survives too
    c = RequiredState.parse([["m.room.topic", ""]])
    assert not a.combine(c).matches("x", "")
    assert a.combine(c).matches("m.room.topic", "")


def test_combine_lazy_members_rule() -> None:
    lazy = RequiredState.parse([["m.room.member", "$LAZY"]])
    plain = RequiredState.parse([["m.room.name", ""]])
    all_members = RequiredState.parse([["m.room.member", "*"]])
    assert lazy.combine(plain).lazy_members is True
    combined = lazy.combine(all_members)
    assert combined.lazy_members is False
    assert combined.matches("m.room.member", "@x:hs")
    assert lazy.combine(lazy) == lazy


def test_room_config_combine_and_expands() -> None:
    small = RoomConfig.parse({"timeline_limit": 1, "required_state": []})
    big = RoomConfig.parse(
        {"timeline_limit": 10, "required_state": [["m.room.name", ""]]}
    )
    combined = small.combine(big)
    assert combined.timeline_limit == 10
    assert combined.required_state.include == {("m.room.name", "")}
    assert big.expands(small)
    assert not small.expands(big)
    assert not big.expands(big)
    state_only = RoomConfig.parse(
        {"timeline_limit": 1, "required_state": [["m.room.topic", ""]]}
    )
    assert state_only.expands(big)
    assert RoomConfig.from_json(combined.to_json()) == combined
    capped = RoomConfig.parse({"timeline_limit": 10**9, "required_state": []})
    assert capped.timeline_limit == MAX_TIMELINE_LIMIT


@pytest.mark.parametrize(
    ("value", "errcode"),
    [
        ("nope", "M_BAD_JSON"),
        ([["only-one"]], "M_BAD_JSON"),
        ([["a", 1]], "M_BAD_JSON"),
        ([{"type": "a"}], "M_BAD_JSON"),
        ({"include": {"type": "a"}}, "M_BAD_JSON"),
        ({"include": [["a", ""]]}, "M_BAD_JSON"),
        ({"include": [{"type": 3}]}, "M_BAD_JSON"),
        ({"lazy_members": "yes"}, "M_BAD_JSON"),
    ],
)
def test_bad_required_state(value: object, errcode: str) -> None:
    with pytest.raises(MatrixError) as info:
        RequiredState.parse(value)
    assert info.value.code == 400
    assert info.value.errcode == errcode


@pytest.mark.parametrize(
    ("value", "errcode"),
    [
        ([], "M_BAD_JSON"),
        ({"required_state": []}, "M_MISSING_PARAM"),
        ({"timeline_limit": 1}, "M_MISSING_PARAM"),
        ({"timeline_limit": "1", "required_state": []}, "M_BAD_JSON"),
        ({"timeline_limit": True, "required_state": []}, "M_BAD_JSON"),
        ({"timeline_limit": -1, "required_state": []}, "M_INVALID_PARAM"),
    ],
)
def test_bad_room_config(value: object, errcode: str) -> None:
    with pytest.raises(MatrixError) as info:
        RoomConfig.parse(value)
    assert info.value.code == 400
    assert info.value.errcode == errcode
