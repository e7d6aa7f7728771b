"""Auth rules: the create event, the room ID, m.federate, and the auth events list."""

from __future__ import annotations

import pytest

from homeserver.events.auth_rules import (
    AuthError,
    auth_types_for_event,
    check_auth_events_list,
    check_auth_rules,
)
from homeserver.events.model import Event, EventTypes
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS
from tests.events.auth_room import (
    ALICE,
    ALL_VERSIONS,
    BOB,
    CAROL,
    MOD,
    Room,
    make_event,
)

PRE_V11 = [str(n) for n in range(1, 11)]
PRE_V12 = [str(n) for n in range(1, 12)]


def _create(version: str, **kwargs: object) -> Event:
    content = kwargs.pop("content", None)
    room = Room(version)
    pdu = dict(room.create.pdu)
    if content is not None:
        pdu["content"] = content
    pdu.update(kwargs)
    return Event(pdu=pdu, room_version=room.version, event_id=room.create.event_id)


# --- Rule 1: m.room.create ---------------------------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_create_event_allowed(version: str) -> None:
    room = Room(version)
    check_auth_rules(room.create, {})


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_create_with_prev_events_rejected(version: str) -> None:
    event = _create(version, prev_events=["$other"])
    with pytest.raises(AuthError, match="prev_events"):
        check_auth_rules(event, {})


@pytest.mark.parametrize("version", PRE_V12)
def test_create_room_id_domain_must_match_sender(version: str) -> None:
    event = _create(version, room_id="!room:elsewhere.test")
    with pytest.raises(AuthError, match="room_id"):
        check_auth_rules(event, {})


def test_v12_create_must_not_have_room_id() -> None:
    event = _create("12", room_id="!room:a.test")
    with pytest.raises(AuthError, match="room_id"):
        check_auth_rules(event, {})


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("bad", ["13", "org.example.custom", 5, None])
def test_create_with_unknown_room_version_rejected(version: str, bad: object) -> None:
    room = Room(version)
    content = {**room.create.content, "room_version": bad}
    with pytest.raises(AuthError, match="room version"):
        check_auth_rules(_create(version, content=content), {})


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_create_without_room_version_allowed(version: str) -> None:
    room = Room(version)
    content = {k: v for k, v in room.create.content.items() if k != "room_version"}
    check_auth_rules(_create(version, content=content), {})


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_create_creator_property(version: str) -> None:
    event = _create(version, content={"room_version": version})
    if int(version) <= 10:
        with pytest.raises(AuthError, match="creator"):
            check_auth_rules(event, {})
    else:
        check_auth_rules(event, {})


@pytest.mark.parametrize(
    "creators",
    [[BOB], [BOB, CAROL], [], ["@x:[::1]:8448"], ["@weird\u00e9:b.test"]],
)
def test_v12_valid_additional_creators(creators: list[str]) -> None:
    content = {"room_version": "12", "additional_creators": creators}
    check_auth_rules(_create("12", content=content), {})


@pytest.mark.parametrize(
    "creators",
    ["@bob:b.test", [5], ["bob"], ["@bob"], ["@bob:bad domain"], [None], {}],
)
def test_v12_invalid_additional_creators(creators: object) -> None:
    content = {"room_version": "12", "additional_creators": creators}
    with pytest.raises(AuthError, match="additional_creators"):
        check_auth_rules(_create("12", content=content), {})


@pytest.mark.parametrize("version", PRE_V12)
def test_additional_creators_ignored_before_v12(version: str) -> None:
    room = Room(version)
    content = {**room.create.content, "additional_creators": "nonsense"}
    check_auth_rules(_create(version, content=content), {})


# --- v12 rule 2: the room ID is the create event's ID --------------------------


def test_v12_room_id_must_be_create_event_id() -> None:
    room = Room.standard("12")
    event = room.event("m.room.message", ALICE)
    room.check(event)
    other = make_event(
        room.version, "m.room.message", ALICE, {}, room_id="!notthecreate"
    )
    with pytest.raises(AuthError, match="room ID"):
        check_auth_rules(other, {**room.state})


def test_v12_rejected_create_event() -> None:
    room = Room.standard("12")
    room.create.rejected_reason = "auth"
    with pytest.raises(AuthError, match="rejected"):
        room.check(room.event("m.room.message", ALICE))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_missing_create_event_rejected(version: str) -> None:
    room = Room.standard(version)
    del room.state[(EventTypes.CREATE, "")]
    with pytest.raises(AuthError, match="create"):
        room.check(room.event("m.room.message", ALICE))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_auth_state_from_another_room_rejected(version: str) -> None:
    room = Room.standard(version)
    other = Room.standard(version, creator="@zed:z.test")
    room.state[("m.room.member", ALICE)] = other.state[("m.room.member", "@zed:z.test")]
    with pytest.raises(AuthError, match="another room"):
        room.check(room.event("m.room.message", ALICE))


# --- m.federate ---------------------------------------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("federate", [False, "false", 0])
def test_unfederated_room_rejects_other_servers(version: str, federate: object) -> None:
    room = Room.standard(version, create_content={"m.federate": federate})
    room.join(BOB)
    with pytest.raises(AuthError, match="federate"):
        room.check(room.event("m.room.message", BOB))
    with pytest.raises(AuthError, match="federate"):
        room.check(room.member(BOB, BOB, "leave"))
    room.check(room.event("m.room.message", ALICE))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_federated_room_allows_other_servers(version: str) -> None:
    room = Room.standard(version, create_content={"m.federate": True})
    room.join(BOB)
    room.check(room.event("m.room.message", BOB))


# --- The creator's first join -------------------------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_creator_first_join(version: str) -> None:
    room = Room(version)
    join = room.event(
        "m.room.member",
        ALICE,
        {"membership": "join"},
        state_key=ALICE,
        prev_events=[room.create.event_id],
    )
    room.check(join)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_first_join_by_non_creator_rejected(version: str) -> None:
    room = Room(version)
    join = room.event(
        "m.room.member",
        CAROL,
        {"membership": "join"},
        state_key=CAROL,
        prev_events=[room.create.event_id],
    )
    with pytest.raises(AuthError):
        room.check(join)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_creator_join_needs_create_as_only_prev_event(version: str) -> None:
    room = Room(version)
    join = room.event(
        "m.room.member",
        ALICE,
        {"membership": "join"},
        state_key=ALICE,
        prev_events=[room.create.event_id, "$other:a.test"],
    )
    with pytest.raises(AuthError):
        room.check(join)


@pytest.mark.parametrize("version", PRE_V11)
def test_pre_v11_creator_is_content_creator(version: str) -> None:
    room = Room(version, creator=ALICE, create_content={"creator": CAROL})
    join = room.event(
        "m.room.member",
        CAROL,
        {"membership": "join"},
        state_key=CAROL,
        prev_events=[room.create.event_id],
    )
    room.check(join)


@pytest.mark.parametrize("version", ["11", "12"])
def test_v11_creator_is_create_sender(version: str) -> None:
    room = Room(version, create_content={"creator": CAROL})
    as_carol = room.event(
        "m.room.member",
        CAROL,
        {"membership": "join"},
        state_key=CAROL,
        prev_events=[room.create.event_id],
    )
    with pytest.raises(AuthError):
        room.check(as_carol)


def test_v12_additional_creator_has_no_first_join() -> None:
    room = Room("12", create_content={"additional_creators": [CAROL]})
    join = room.event(
        "m.room.member",
        CAROL,
        {"membership": "join"},
        state_key=CAROL,
        prev_events=[room.create.event_id],
    )
    with pytest.raises(AuthError):
        room.check(join)


# --- Auth events selection ----------------------------------------------------


def test_selection_for_create() -> None:
    assert (
        auth_types_for_event(KNOWN_ROOM_VERSIONS["10"], "m.room.create", "", ALICE, {})
        == []
    )


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_selection_for_message(version: str) -> None:
    types = auth_types_for_event(
        KNOWN_ROOM_VERSIONS[version], "m.room.message", None, BOB, {}
    )
    expected = [("m.room.power_levels", ""), ("m.room.member", BOB)]
    if version != "12":
        expected.insert(0, ("m.room.create", ""))
    assert types == expected


@pytest.mark.parametrize("membership", ["join", "invite", "knock"])
def test_selection_for_membership_with_join_rules(membership: str) -> None:
    types = auth_types_for_event(
        KNOWN_ROOM_VERSIONS["10"],
        "m.room.member",
        CAROL,
        BOB,
        {"membership": membership},
    )
    assert set(types) == {
        ("m.room.create", ""),
        ("m.room.power_levels", ""),
        ("m.room.member", BOB),
        ("m.room.member", CAROL),
        ("m.room.join_rules", ""),
    }


@pytest.mark.parametrize("membership", ["leave", "ban"])
def test_selection_for_membership_without_join_rules(membership: str) -> None:
    types = auth_types_for_event(
        KNOWN_ROOM_VERSIONS["10"], "m.room.member", BOB, BOB, {"membership": membership}
    )
    assert ("m.room.join_rules", "") not in types
    assert types.count(("m.room.member", BOB)) == 1


def test_selection_for_third_party_invite() -> None:
    content = {
        "membership": "invite",
        "third_party_invite": {"signed": {"token": "abc", "mxid": CAROL}},
    }
    types = auth_types_for_event(
        KNOWN_ROOM_VERSIONS["5"], "m.room.member", CAROL, BOB, content
    )
    assert ("m.room.third_party_invite", "abc") in types
    malformed = {"membership": "invite", "third_party_invite": "nope"}
    types = auth_types_for_event(
        KNOWN_ROOM_VERSIONS["5"], "m.room.member", CAROL, BOB, malformed
    )
    assert not any(t == "m.room.third_party_invite" for t, _ in types)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_selection_for_restricted_join(version: str) -> None:
    content = {"membership": "join", "join_authorised_via_users_server": MOD}
    types = auth_types_for_event(
        KNOWN_ROOM_VERSIONS[version], "m.room.member", BOB, BOB, content
    )
    assert (("m.room.member", MOD) in types) == (int(version) >= 8)


# --- check_auth_events_list ---------------------------------------------------


def _with_auth(room: Room, event: Event, auth: list[Event]) -> Event:
    refs = [
        [a.event_id, {"sha256": "x"}]
        if int(room.version.identifier) <= 2
        else a.event_id
        for a in auth
    ]
    event.pdu["auth_events"] = refs
    return event


def _auth_for(room: Room, *keys: tuple[str, str]) -> list[Event]:
    return [room.state[key] for key in keys]


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_auth_events_list_ok(version: str) -> None:
    room = Room.standard(version)
    keys = [("m.room.power_levels", ""), ("m.room.member", ALICE)]
    if version != "12":
        keys.append(("m.room.create", ""))
    auth = _auth_for(room, *keys)
    event = _with_auth(room, room.event("m.room.message", ALICE), auth)
    check_auth_events_list(event, auth)


@pytest.mark.parametrize("version", PRE_V12)
def test_auth_events_list_requires_create(version: str) -> None:
    room = Room.standard(version)
    auth = _auth_for(room, ("m.room.power_levels", ""), ("m.room.member", ALICE))
    event = _with_auth(room, room.event("m.room.message", ALICE), auth)
    with pytest.raises(AuthError, match="No create event"):
        check_auth_events_list(event, auth)


def test_v12_auth_events_list_must_not_have_create() -> None:
    room = Room.standard("12")
    auth = _auth_for(room, ("m.room.create", ""), ("m.room.member", ALICE))
    event = _with_auth(room, room.event("m.room.message", ALICE), auth)
    with pytest.raises(AuthError, match="create event must not"):
        check_auth_events_list(event, auth)


@pytest.mark.parametrize("version", ["1", "6", "12"])
def test_auth_events_list_duplicates(version: str) -> None:
    room = Room.standard(version)
    old_pl = room.state[("m.room.power_levels", "")]
    room.power_levels({"users": {}})
    new_pl = room.state[("m.room.power_levels", "")]
    auth = [old_pl, new_pl, room.state[("m.room.member", ALICE)]]
    if version != "12":
        auth.append(room.create)
    event = _with_auth(room, room.event("m.room.message", ALICE), auth)
    with pytest.raises(AuthError, match="Duplicate"):
        check_auth_events_list(event, auth)


def test_auth_events_list_same_id_twice() -> None:
    room = Room.standard("10")
    auth = [room.create, room.create]
    event = _with_auth(room, room.event("m.room.message", ALICE), auth)
    with pytest.raises(AuthError, match="twice"):
        check_auth_events_list(event, auth)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_auth_events_list_unexpected_entry(version: str) -> None:
    room = Room.standard(version)
    keys = [("m.room.join_rules", ""), ("m.room.member", ALICE)]
    if version != "12":
        keys.append(("m.room.create", ""))
    auth = _auth_for(room, *keys)
    event = _with_auth(room, room.event("m.room.message", ALICE), auth)
    with pytest.raises(AuthError, match="selection"):
        check_auth_events_list(event, auth)


def test_auth_events_list_other_users_member_event_unexpected() -> None:
    room = Room.standard("10")
    auth = _auth_for(room, ("m.room.create", ""), ("m.room.member", MOD))
    event = _with_auth(room, room.event("m.room.message", ALICE), auth)
    with pytest.raises(AuthError, match="selection"):
        check_auth_events_list(event, auth)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_auth_events_list_rejected_entry(version: str) -> None:
    room = Room.standard(version)
    member = room.state[("m.room.member", ALICE)]
    member.rejected_reason = "auth_error"
    auth = [member] + ([room.create] if version != "12" else [])
    event = _with_auth(room, room.event("m.room.message", ALICE), auth)
    with pytest.raises(AuthError, match="rejected"):
        check_auth_events_list(event, auth)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_auth_events_list_other_room(version: str) -> None:
    room = Room.standard(version)
    other = Room.standard(version)
    auth = [other.state[("m.room.member", ALICE)]]
    if version != "12":
        auth.append(room.create)
    event = _with_auth(room, room.event("m.room.message", ALICE), auth)
    with pytest.raises(AuthError, match="another room"):
        check_auth_events_list(event, auth)


def test_auth_events_list_must_match_supplied_events() -> None:
    room = Room.standard("10")
    auth = _auth_for(room, ("m.room.create", ""), ("m.room.member", ALICE))
    event = _with_auth(room, room.event("m.room.message", ALICE), auth[:1])
    with pytest.raises(AuthError, match="not those"):
        check_auth_events_list(event, auth)


def test_auth_events_list_for_membership_events() -> None:
    room = Room.standard("10", join_rule="restricted")
    keys = [
        ("m.room.create", ""),
        ("m.room.power_levels", ""),
        ("m.room.join_rules", ""),
        ("m.room.member", MOD),
    ]
    auth = _auth_for(room, *keys)
    join = room.member(BOB, BOB, "join", join_authorised_via_users_server=MOD)
    check_auth_events_list(_with_auth(room, join, auth), auth)
    plain = room.member(BOB, BOB, "join")
    with pytest.raises(AuthError, match="selection"):
        check_auth_events_list(_with_auth(room, plain, auth), auth)


def test_auth_events_list_ignored_for_create() -> None:
    room = Room("10")
    check_auth_events_list(room.create, [])
