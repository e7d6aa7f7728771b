"""Auth rules for m.room.member: joins, invites, leaves, kicks, bans, knocks."""

from __future__ import annotations

import pytest

from homeserver.events.auth_rules import AuthError, signature_present
from homeserver.events.model import Event, EventTypes
from tests.events.auth_room import ALICE, ALL_VERSIONS, BOB, CAROL, MOD, Room

KNOCK_VERSIONS = [str(n) for n in range(7, 13)]
RESTRICTED_VERSIONS = [str(n) for n in range(8, 13)]
AUTHORISER = "join_authorised_via_users_server"


def always(event: Event, server_name: str) -> bool:
    return True


def never(event: Event, server_name: str) -> bool:
    return False


# --- Malformed member events --------------------------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_member_without_state_key_rejected(version: str) -> None:
    room = Room.standard(version, join_rule="public")
    event = room.event(EventTypes.MEMBER, BOB, {"membership": "join"})
    with pytest.raises(AuthError, match="state_key"):
        room.check(event)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_member_without_membership_rejected(version: str) -> None:
    room = Room.standard(version, join_rule="public")
    event = room.event(EventTypes.MEMBER, BOB, {}, state_key=BOB)
    with pytest.raises(AuthError, match="membership"):
        room.check(event)


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("membership", ["dance", 5, None, ["join"]])
def test_unknown_membership_rejected(version: str, membership: object) -> None:
    room = Room.standard(version, join_rule="public")
    with pytest.raises(AuthError, match="Unknown membership"):
        room.check(room.member(ALICE, ALICE, membership))  # type: ignore[arg-type]


# --- Joins --------------------------------------------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_join_public_room(version: str) -> None:
    room = Room.standard(version, join_rule="public")
    room.check(room.member(BOB, BOB, "join"))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_cannot_join_for_someone_else(version: str) -> None:
    room = Room.standard(version, join_rule="public")
    with pytest.raises(AuthError, match="another user"):
        room.check(room.member(ALICE, BOB, "join"))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_banned_user_cannot_join(version: str) -> None:
    room = Room.standard(version, join_rule="public")
    room.set_membership(BOB, "ban", ALICE)
    with pytest.raises(AuthError, match="banned"):
        room.check(room.member(BOB, BOB, "join"))


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize(
    ("current", "allowed"),
    [(None, False), ("invite", True), ("join", True), ("leave", False)],
)
def test_join_invite_only_room(
    version: str, current: str | None, allowed: bool
) -> None:
    room = Room.standard(version, join_rule="invite")
    if current:
        room.set_membership(BOB, current, ALICE)
    assert room.allowed(room.member(BOB, BOB, "join")) is allowed


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_join_with_no_join_rules_event_acts_as_invite(version: str) -> None:
    room = Room.standard(version)
    del room.state[("m.room.join_rules", "")]
    assert not room.allowed(room.member(BOB, BOB, "join"))
    room.set_membership(BOB, "invite", ALICE)
    assert room.allowed(room.member(BOB, BOB, "join"))


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("rule", ["private", "nonsense", 7])
def test_join_unknown_rule_rejected(version: str, rule: object) -> None:
    room = Room.standard(version)
    room.set_state("m.room.join_rules", "", ALICE, {"join_rule": rule})
    room.set_membership(BOB, "invite", ALICE)
    with pytest.raises(AuthError, match="join rule"):
        room.check(room.member(BOB, BOB, "join"))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_join_knock_room(version: str) -> None:
    """v7+: the knock rule behaves as invite for joins; before, it is unknown."""
    room = Room.standard(version, join_rule="knock")
    room.set_membership(BOB, "invite", ALICE)
    assert room.allowed(room.member(BOB, BOB, "join")) is (int(version) >= 7)
    assert not room.allowed(room.member(CAROL, CAROL, "join"))


# --- Restricted joins (v8+) and knock_restricted (v10+) -----------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("rule", ["restricted", "knock_restricted"])
def test_restricted_join_with_authoriser(version: str, rule: str) -> None:
    room = Room.standard(version, join_rule=rule)
    join = room.member(BOB, BOB, "join", **{AUTHORISER: MOD})
    supported = int(version) >= (8 if rule == "restricted" else 10)
    assert room.allowed(join, always) is supported


@pytest.mark.parametrize("version", RESTRICTED_VERSIONS)
def test_restricted_join_signature(version: str) -> None:
    room = Room.standard(version, join_rule="restricted")
    join = room.member(BOB, BOB, "join", **{AUTHORISER: MOD})
    seen: list[str] = []

    def record(event: Event, server_name: str) -> bool:
        seen.append(server_name)
        return True

    room.check(join, record)
    assert seen == ["a.test"]
    with pytest.raises(AuthError, match="not signed"):
        room.check(join, never)
    with pytest.raises(AuthError, match="verify"):
        room.check(join, None)
    assert not room.allowed(join, signature_present)
    join.pdu["signatures"] = {"a.test": {"ed25519:k": "sig"}}
    assert room.allowed(join, signature_present)


@pytest.mark.parametrize("version", RESTRICTED_VERSIONS)
def test_authoriser_signature_checked_for_any_membership(version: str) -> None:
    room = Room.standard(version, join_rule="public")
    leave = room.member(MOD, MOD, "leave", **{AUTHORISER: ALICE})
    assert not room.allowed(leave, never)
    assert room.allowed(leave, always)
    bad = room.member(MOD, MOD, "leave", **{AUTHORISER: "not-a-user"})
    assert not room.allowed(bad, always)


@pytest.mark.parametrize("version", ["1", "7"])
def test_authoriser_key_meaningless_before_v8(version: str) -> None:
    room = Room.standard(version, join_rule="public")
    assert room.allowed(room.member(BOB, BOB, "join", **{AUTHORISER: 5}), never)


@pytest.mark.parametrize("version", RESTRICTED_VERSIONS)
def test_restricted_join_without_authoriser(version: str) -> None:
    room = Room.standard(version, join_rule="restricted")
    with pytest.raises(AuthError, match=AUTHORISER):
        room.check(room.member(BOB, BOB, "join"), always)


@pytest.mark.parametrize("version", RESTRICTED_VERSIONS)
@pytest.mark.parametrize("current", ["invite", "join"])
def test_restricted_join_member_or_invited_needs_no_authoriser(
    version: str, current: str
) -> None:
    room = Room.standard(version, join_rule="restricted")
    room.set_membership(BOB, current, ALICE)
    room.check(room.member(BOB, BOB, "join"))


@pytest.mark.parametrize("version", RESTRICTED_VERSIONS)
def test_restricted_join_authoriser_must_be_joined(version: str) -> None:
    room = Room.standard(version, join_rule="restricted")
    room.set_membership(MOD, "leave")
    join = room.member(BOB, BOB, "join", **{AUTHORISER: MOD})
    with pytest.raises(AuthError, match="not in the room"):
        room.check(join, always)


@pytest.mark.parametrize("version", RESTRICTED_VERSIONS)
def test_restricted_join_authoriser_must_be_able_to_invite(version: str) -> None:
    room = Room.standard(version, join_rule="restricted")
    users = {MOD: 50} if version == "12" else {ALICE: 100, MOD: 50}
    room.power_levels({"users": users, "invite": 60})
    join = room.member(BOB, BOB, "join", **{AUTHORISER: MOD})
    with pytest.raises(AuthError, match="cannot invite"):
        room.check(join, always)
    room.power_levels({"users": users, "invite": 50})
    room.check(join, always)


@pytest.mark.parametrize("version", RESTRICTED_VERSIONS)
def test_restricted_join_banned(version: str) -> None:
    room = Room.standard(version, join_rule="restricted")
    room.set_membership(BOB, "ban", ALICE)
    join = room.member(BOB, BOB, "join", **{AUTHORISER: MOD})
    with pytest.raises(AuthError, match="banned"):
        room.check(join, always)


# --- Invites ------------------------------------------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_invite(version: str) -> None:
    room = Room.standard(version)
    room.check(room.member(ALICE, BOB, "invite"))


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("target_membership", ["join", "ban"])
def test_invite_target_joined_or_banned(version: str, target_membership: str) -> None:
    room = Room.standard(version)
    room.set_membership(BOB, target_membership, ALICE)
    with pytest.raises(AuthError, match=BOB):
        room.check(room.member(ALICE, BOB, "invite"))


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("target_membership", ["invite", "leave", "knock"])
def test_reinvite_allowed(version: str, target_membership: str) -> None:
    room = Room.standard(version)
    room.set_membership(BOB, target_membership, ALICE)
    room.check(room.member(ALICE, BOB, "invite"))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_invite_needs_sender_joined(version: str) -> None:
    room = Room.standard(version)
    room.set_membership(CAROL, "invite", ALICE)
    with pytest.raises(AuthError, match="not in the room"):
        room.check(room.member(CAROL, BOB, "invite"))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_invite_needs_invite_level(version: str) -> None:
    room = Room.standard(version)
    room.join(CAROL)
    room.check(room.member(CAROL, BOB, "invite"))  # invite defaults to 0
    users = {MOD: 50} if version == "12" else {ALICE: 100, MOD: 50}
    room.power_levels({"users": users, "invite": 50})
    with pytest.raises(AuthError, match="permission to invite"):
        room.check(room.member(CAROL, BOB, "invite"))
    room.check(room.member(MOD, BOB, "invite"))


# --- Leave, kick, unban, ban --------------------------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("current", [None, "invite", "join", "leave", "ban", "knock"])
def test_leave_self(version: str, current: str | None) -> None:
    room = Room.standard(version)
    if current:
        room.set_membership(BOB, current, ALICE)
    allowed = current in ("invite", "join") or (
        current == "knock" and int(version) >= 7
    )
    assert room.allowed(room.member(BOB, BOB, "leave")) is allowed


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_kick(version: str) -> None:
    room = Room.standard(version)
    room.join(BOB)
    room.check(room.member(MOD, BOB, "leave"))  # 50 >= kick 50 and 0 < 50
    room.join(CAROL)
    with pytest.raises(AuthError, match="kick"):
        room.check(room.member(CAROL, BOB, "leave"))  # 0 < kick level


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_cannot_kick_equal_or_higher(version: str) -> None:
    room = Room.standard(version)
    with pytest.raises(AuthError, match="kick"):
        room.check(room.member(MOD, ALICE, "leave"))
    users = {MOD: 50, CAROL: 50}
    if version != "12":
        users[ALICE] = 100
    room.power_levels({"users": users})
    room.join(CAROL)
    with pytest.raises(AuthError, match="kick"):
        room.check(room.member(MOD, CAROL, "leave"))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_kick_needs_sender_joined(version: str) -> None:
    room = Room.standard(version)
    room.join(BOB)
    room.set_membership(MOD, "leave")
    with pytest.raises(AuthError, match="not in the room"):
        room.check(room.member(MOD, BOB, "leave"))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_unban_needs_ban_level(version: str) -> None:
    room = Room.standard(version)
    room.set_membership(BOB, "ban", ALICE)
    users = {MOD: 50}
    if version != "12":
        users[ALICE] = 100
    room.power_levels({"users": users, "ban": 60, "kick": 10})
    with pytest.raises(AuthError, match="unban"):
        room.check(room.member(MOD, BOB, "leave"))
    room.check(room.member(ALICE, BOB, "leave"))
    room.power_levels({"users": users, "ban": 10, "kick": 60})
    with pytest.raises(AuthError, match="kick"):
        room.check(room.member(MOD, BOB, "leave"))


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_ban(version: str) -> None:
    room = Room.standard(version)
    room.check(room.member(MOD, BOB, "ban"))  # not even in the room
    room.join(CAROL)
    with pytest.raises(AuthError, match="ban"):
        room.check(room.member(CAROL, BOB, "ban"))
    with pytest.raises(AuthError, match="ban"):
        room.check(room.member(MOD, ALICE, "ban"))
    room.set_membership(MOD, "leave")
    with pytest.raises(AuthError, match="not in the room"):
        room.check(room.member(MOD, BOB, "ban"))


def test_v12_creators_cannot_be_kicked_or_banned() -> None:
    room = Room.standard("12", create_content={"additional_creators": [CAROL]})
    room.join(CAROL)
    room.power_levels({"users": {MOD: 100}})
    for membership in ("leave", "ban"):
        assert not room.allowed(room.member(MOD, CAROL, membership))
        assert not room.allowed(room.member(ALICE, CAROL, membership))
        assert room.allowed(room.member(CAROL, MOD, membership))


def test_v11_creator_loses_power_to_power_levels() -> None:
    room = Room.standard("11")
    room.power_levels({"users": {MOD: 100}})
    assert room.allowed(room.member(MOD, ALICE, "ban"))


# --- Knocks -------------------------------------------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_knock(version: str) -> None:
    room = Room.standard(version, join_rule="knock")
    allowed = room.allowed(room.member(BOB, BOB, "knock"))
    assert allowed is (int(version) >= 7)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_knock_restricted(version: str) -> None:
    room = Room.standard(version, join_rule="knock_restricted")
    assert room.allowed(room.member(BOB, BOB, "knock")) is (int(version) >= 10)


@pytest.mark.parametrize("version", KNOCK_VERSIONS)
@pytest.mark.parametrize("rule", ["public", "invite", "restricted"])
def test_knock_needs_knock_rule(version: str, rule: str) -> None:
    room = Room.standard(version, join_rule=rule)
    with pytest.raises(AuthError, match="knock"):
        room.check(room.member(BOB, BOB, "knock"))


@pytest.mark.parametrize("version", KNOCK_VERSIONS)
def test_knock_for_someone_else(version: str) -> None:
    room = Room.standard(version, join_rule="knock")
    with pytest.raises(AuthError, match="behalf"):
        room.check(room.member(ALICE, BOB, "knock"))


@pytest.mark.parametrize("version", KNOCK_VERSIONS)
@pytest.mark.parametrize(
    ("current", "allowed"),
    [
        ("ban", False),
        ("invite", False),
        ("join", False),
        ("leave", True),
        ("knock", True),
    ],
)
def test_knock_current_membership(version: str, current: str, allowed: bool) -> None:
    room = Room.standard(version, join_rule="knock")
    room.set_membership(BOB, current, ALICE)
    assert room.allowed(room.member(BOB, BOB, "knock")) is allowed
