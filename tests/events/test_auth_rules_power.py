"""Auth rules: power levels, ordinary events, aliases, state keys, redactions."""

from __future__ import annotations

import math
from typing import Any

import pytest

from homeserver.events.auth_rules import (
    AuthError,
    get_named_power_level,
    get_required_power_level,
    get_user_power_level,
    room_creators,
)
from homeserver.events.model import EventTypes
from homeserver.events.power_levels import parse_power_level
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from tests.events.auth_room import ALICE, ALL_VERSIONS, BOB, CAROL, MOD, Room

PRE_V10 = [str(n) for n in range(1, 10)]
V10_UP = ["10", "11", "12"]
PL = EventTypes.POWER_LEVELS


def _users(room: Room, **levels: int) -> dict[str, Any]:
    """A users map with Alice at 100 unless she is a v12 creator."""
    users: dict[str, Any] = {MOD: 50}
    if not room.version.additional_creators:
        users[ALICE] = 100
    users.update({f"@{k}:a.test": v for k, v in levels.items()})
    return users


def _pl_event(room: Room, sender: str, content: dict[str, Any]) -> Any:
    return room.event(PL, sender, content, state_key="")


# --- Reading power levels -------------------------------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_levels_without_power_levels_event(version: str) -> None:
    room = Room(version)
    creator_level = math.inf if version == "12" else 100
    assert get_user_power_level(ALICE, room.state) == creator_level
    assert get_user_power_level(BOB, room.state) == 0
    assert get_named_power_level("ban", room.state) == 50
    assert get_named_power_level("kick", room.state) == 50
    assert get_named_power_level("redact", room.state) == 50
    assert get_named_power_level("invite", room.state) == 0
    assert get_named_power_level("state_default", room.state) == 50
    assert get_named_power_level("events_default", room.state) == 0
    assert get_named_power_level("users_default", room.state) == 0
    assert get_named_power_level("notifications.room", room.state) == 50
    assert get_required_power_level("m.room.topic", "", room.state) == 50
    assert get_required_power_level("m.room.message", None, room.state) == 0


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_levels_from_power_levels_event(version: str) -> None:
    room = Room(version)
    room.power_levels(
        {
            "users": {BOB: 20},
            "users_default": 5,
            "ban": 1,
            "events": {"m.room.topic": 7, "m.room.message": 8},
            "state_default": 9,
            "events_default": 10,
            "notifications": {"room": 11},
        }
    )
    assert get_user_power_level(BOB, room.state) == 20
    assert get_user_power_level(CAROL, room.state) == 5
    # The v1-v11 creator has no special level once power levels exist.
    assert get_user_power_level(ALICE, room.state) == (
        math.inf if version == "12" else 5
    )
    assert get_named_power_level("ban", room.state) == 1
    assert get_named_power_level("kick", room.state) == 50
    assert get_named_power_level("notifications.room", room.state) == 11
    assert get_named_power_level("notifications.other", room.state) == 50
    assert get_required_power_level("m.room.topic", "", room.state) == 7
    assert get_required_power_level("m.room.message", None, room.state) == 8
    assert get_required_power_level("m.room.name", "", room.state) == 9
    assert get_required_power_level("m.custom", None, room.state) == 10


@pytest.mark.parametrize("version", PRE_V10)
def test_string_levels_read_before_v10(version: str) -> None:
    room = Room(version)
    room.power_levels(
        {"users": {BOB: " +020 "}, "ban": "7", "events": {"m.room.topic": "-3"}}
    )
    assert get_user_power_level(BOB, room.state) == 20
    assert get_named_power_level("ban", room.state) == 7
    assert get_required_power_level("m.room.topic", "", room.state) == -3


@pytest.mark.parametrize(
    ("value", "pre_v10", "v10"),
    [
        (5, 5, 5),
        (-5, -5, -5),
        ("5", 5, None),
        ("  0050\n", 50, None),
        ("+1", 1, None),
        ("5.0", None, None),
        ("1_000", None, None),
        ("\uff15", None, None),
        ("", None, None),
        (5.0, 5, None),
        (5.5, None, None),
        (True, None, None),
        (None, None, None),
        ([5], None, None),
    ],
)
def test_parse_power_level(value: Any, pre_v10: int | None, v10: int | None) -> None:
    assert parse_power_level(value, KNOWN_ROOM_VERSIONS["9"]) == pre_v10
    assert parse_power_level(value, KNOWN_ROOM_VERSIONS["10"]) == v10


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_malformed_levels_fail_closed(version: str) -> None:
    room = Room.standard(version)
    room.power_levels({"users": _users(room), "ban": "lots", "events": []})
    with pytest.raises(AuthError):
        get_named_power_level("ban", room.state)
    with pytest.raises(AuthError):
        room.check(room.event("m.room.message", MOD))
    room.check(room.member(MOD, MOD, "leave"))  # reads neither


def test_unknown_named_level() -> None:
    with pytest.raises(ValueError):
        get_named_power_level("launch_missiles", {})


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_room_creators(version: str) -> None:
    room = Room(version, create_content={"additional_creators": [BOB, 5]})
    expected = {ALICE, BOB} if version == "12" else {ALICE}
    assert room_creators(room.create) == expected


def test_v12_additional_creators_have_infinite_power() -> None:
    room = Room.standard("12", create_content={"additional_creators": [BOB]})
    assert get_user_power_level(BOB, room.state) == math.inf
    assert get_user_power_level(MOD, room.state) == 50


# --- Ordinary events: joined, events_default, state_default ---------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_sender_must_be_joined(version: str) -> None:
    room = Room.standard(version)
    for membership in (None, "invite", "leave", "ban", "knock"):
        if membership:
            room.set_membership(BOB, membership, ALICE)
        with pytest.raises(AuthError, match="not in the room"):
            room.check(room.event("m.room.message", BOB))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_events_default_and_state_default(version: str) -> None:
    room = Room.standard(version)
    room.join(BOB)
    room.check(room.event("m.room.message", BOB))
    with pytest.raises(AuthError, match="power level 50"):
        room.check(room.event("m.room.topic", BOB, state_key=""))
    room.check(room.event("m.room.topic", MOD, state_key=""))
    room.power_levels({"users": _users(room), "events_default": 10})
    with pytest.raises(AuthError, match="power level 10"):
        room.check(room.event("m.room.message", BOB))
    room.power_levels(
        {"users": _users(room), "events": {"m.room.message": 0, "m.room.topic": 0}}
    )
    room.check(room.event("m.room.topic", BOB, state_key=""))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_state_key_starting_with_at_must_be_sender(version: str) -> None:
    room = Room.standard(version)
    room.check(room.event("m.custom", ALICE, state_key=ALICE))
    room.check(room.event("m.custom", ALICE, state_key="not@user"))
    with pytest.raises(AuthError, match="another user"):
        room.check(room.event("m.custom", ALICE, state_key=MOD))
    with pytest.raises(AuthError, match="another user"):
        room.check(room.event("m.custom", ALICE, state_key=ALICE + "_suffix"))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_non_string_state_key_rejected(version: str) -> None:
    room = Room.standard(version)
    event = room.event("m.custom", ALICE)
    event.pdu["state_key"] = 5
    with pytest.raises(AuthError, match="state_key"):
        room.check(event)


# --- m.room.aliases: special in v1-v5, ordinary state in v6+ ---------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_aliases(version: str) -> None:
    room = Room.standard(version)
    special = int(version) <= 5
    # Bob is not even in the room; before v6 only his server matters.
    own = room.event(EventTypes.ALIASES, BOB, {"aliases": []}, state_key="b.test")
    assert room.allowed(own) is special
    other = room.event(EventTypes.ALIASES, ALICE, {"aliases": []}, state_key="b.test")
    assert room.allowed(other) is (not special)  # Alice has the state level
    no_key = room.event(EventTypes.ALIASES, ALICE, {"aliases": []})
    assert room.allowed(no_key) is (not special)  # a message event in v6+
    room.join(CAROL)
    mine = room.event(EventTypes.ALIASES, CAROL, {"aliases": []}, state_key="a.test")
    assert room.allowed(mine) is special  # v6+: Carol lacks state_default


# --- Redactions: special in v1-v2, ordinary events in v3+ ------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_redactions(version: str) -> None:
    room = Room.standard(version)
    room.join(CAROL)
    room.join(BOB)
    special = int(version) <= 2
    redacts_field = "content" if int(version) >= 11 else "top"

    def redaction(sender: str, target: str) -> Any:
        if redacts_field == "content":
            return room.event(EventTypes.REDACTION, sender, {"redacts": target})
        return room.event(EventTypes.REDACTION, sender, {}, extra={"redacts": target})

    room.check(redaction(MOD, "$1:b.test"))  # at the redact level
    # Carol (0) redacting an event from her own server (a.test).
    room.check(redaction(CAROL, "$1:a.test"))
    # Carol redacting Bob's event from b.test: v1-v2 reject; v3+ leave it to
    # the redaction handling, not the auth rules.
    assert room.allowed(redaction(CAROL, "$1:b.test")) is (not special)
    assert room.allowed(redaction(CAROL, "$nodomain")) is (not special)
    room.power_levels({"users": _users(room), "events": {"m.room.redaction": 10}})
    with pytest.raises(AuthError, match="power level 10"):
        room.check(redaction(CAROL, "$1:a.test"))


# --- Changing m.room.power_levels ------------------------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_first_power_levels_event(version: str) -> None:
    room = Room(version)
    room.join(ALICE)
    users = {} if version == "12" else {ALICE: 100}
    room.check(_pl_event(room, ALICE, {"users": {**users, BOB: 1000}}))


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize(
    "users",
    [[], "x", {"bob": 5}, {"@bob": 5}, {BOB: "x"}, {BOB: True}, {BOB: None}],
)
def test_power_levels_users_must_be_valid(version: str, users: Any) -> None:
    room = Room(version)
    room.join(ALICE)
    with pytest.raises(AuthError):
        room.check(_pl_event(room, ALICE, {"users": users}))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_string_power_levels(version: str) -> None:
    room = Room(version)
    room.join(ALICE)
    content = {"users": {BOB: "50"}, "ban": "50", "events": {"m.room.name": "50"}}
    assert room.allowed(_pl_event(room, ALICE, content)) is (int(version) < 10)


@pytest.mark.parametrize("version", V10_UP)
@pytest.mark.parametrize(
    "content",
    [
        {"ban": "50"},
        {"kick": 5.5},
        {"invite": True},
        {"users_default": None},
        {"events": {"m.room.name": "50"}},
        {"events": []},
        {"notifications": {"room": "50"}},
        {"notifications": 5},
        {"users": {BOB: "50"}},
    ],
)
def test_v10_power_levels_must_be_integers(version: str, content: Any) -> None:
    room = Room(version)
    room.join(ALICE)
    with pytest.raises(AuthError):
        room.check(_pl_event(room, ALICE, content))


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize(
    "name",
    [
        "users_default",
        "events_default",
        "state_default",
        "ban",
        "redact",
        "kick",
        "invite",
    ],
)
def test_change_named_level(version: str, name: str) -> None:
    room = Room.standard(version)
    # Sending power levels stays at 50 even when state_default moves.
    base = {"users": _users(room), "events": {PL: 50}, name: 40}
    room.power_levels(base)
    assert room.allowed(_pl_event(room, MOD, {**base, name: 50}))  # to own level
    assert not room.allowed(_pl_event(room, MOD, {**base, name: 51}))  # above
    room.power_levels({**base, name: 60})
    assert not room.allowed(_pl_event(room, MOD, {**base, name: 10}))  # from above
    removed = {k: v for k, v in base.items() if k != name}
    assert not room.allowed(_pl_event(room, MOD, removed))
    assert room.allowed(_pl_event(room, MOD, {**base, name: 60}))  # unchanged
    assert room.allowed(_pl_event(room, ALICE, {**base, name: 10}))


@pytest.mark.parametrize("version", PRE_V10)
def test_string_and_int_levels_compare_as_numbers(version: str) -> None:
    room = Room.standard(version)
    room.power_levels({"users": _users(room), "ban": "60"})
    assert room.allowed(_pl_event(room, MOD, {"users": _users(room), "ban": 60}))
    assert room.allowed(_pl_event(room, MOD, {"users": _users(room), "ban": " 060"}))


@pytest.mark.parametrize("version", PRE_V10)
def test_malformed_named_level_fails_closed_when_changed(version: str) -> None:
    room = Room.standard(version)
    with pytest.raises(AuthError, match="Malformed"):
        room.check(_pl_event(room, ALICE, {"users": _users(room), "ban": "high"}))


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("map_name", ["events", "notifications"])
def test_change_events_and_notifications(version: str, map_name: str) -> None:
    room = Room.standard(version)
    limited = map_name == "events" or int(version) >= 6
    base = {"users": _users(room), map_name: {"x": 40, "high": 60}}
    room.power_levels(base)

    def change(levels: dict[str, int]) -> bool:
        return room.allowed(_pl_event(room, MOD, {**base, map_name: levels}))

    assert change({"x": 50, "high": 60})  # changed to own level
    assert change({"x": 40, "high": 60, "new": 50})  # added at own level
    assert change({"high": 60})  # removed, was below
    assert change({"x": 40, "high": 60, "new": 51}) is not limited  # added above
    assert change({"x": 51, "high": 60}) is not limited  # changed above
    assert change({"x": 40, "high": 10}) is not limited  # changed from above
    assert change({"x": 40}) is not limited  # removed from above


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_change_users(version: str) -> None:
    room = Room.standard(version)
    base = _users(room, peer=50, low=10)

    def change(users: dict[str, Any]) -> bool:
        return room.allowed(_pl_event(room, MOD, {"users": users}))

    room.power_levels({"users": base})
    assert change({**base, "@new:a.test": 50})  # add at own level
    assert not change({**base, "@new:a.test": 51})  # add above
    assert change({**base, "@low:a.test": 49})  # change someone below
    assert not change({**base, "@low:a.test": 51})  # ...but not above self
    assert change({k: v for k, v in base.items() if k != "@low:a.test"})  # remove
    assert not change({**base, "@peer:a.test": 10})  # demote an equal
    assert not change({k: v for k, v in base.items() if k != "@peer:a.test"})
    assert change({**base, MOD: 10})  # demote oneself
    assert change({k: v for k, v in base.items() if k != MOD})
    assert not change({**base, MOD: 51})  # promote oneself
    if version != "12":
        assert not change({**base, ALICE: 10})  # demote a superior


def test_v12_creators_cannot_be_listed() -> None:
    room = Room.standard("12", create_content={"additional_creators": [CAROL]})
    for creator in (ALICE, CAROL):
        event = _pl_event(room, ALICE, {"users": {creator: 100}})
        with pytest.raises(AuthError, match="creators"):
            room.check(event)
    del room.state[(PL, "")]
    with pytest.raises(AuthError, match="creators"):
        room.check(_pl_event(room, ALICE, {"users": {ALICE: 100}}))


def test_v12_creator_can_set_any_level() -> None:
    room = Room.standard("12")
    room.power_levels({"users": {MOD: 2**53 - 1}, "ban": 2**53 - 1})
    room.check(_pl_event(room, ALICE, {"users": {MOD: 0, BOB: 10**9}, "ban": 0}))


@pytest.mark.parametrize("version", [str(n) for n in range(1, 12)])
def test_creator_may_be_listed_before_v12(version: str) -> None:
    room = Room.standard(version)
    room.check(_pl_event(room, ALICE, {"users": {ALICE: 100}}))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_power_levels_needs_state_level(version: str) -> None:
    room = Room.standard(version)
    room.join(BOB)
    with pytest.raises(AuthError, match="power level"):
        room.check(_pl_event(room, BOB, {"users": _users(room)}))
