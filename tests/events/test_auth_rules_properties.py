"""Property tests of the auth rules (hypothesis)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homeserver.events.auth_rules import (
    AuthError,
    auth_types_for_event,
    check_auth_events_list,
    check_auth_rules,
    get_named_power_level,
    get_required_power_level,
    get_user_power_level,
)
from homeserver.events.model import Event, EventTypes
from tests.events.auth_room import ALICE, ALL_VERSIONS, BOB, CAROL, MOD, Room

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# The arbitrary-content test draws nine recursive JSON values per example:
# almost all of its time is Hypothesis making them (about 0.1 s per example,
# the checks themselves take well under 1 ms), so it runs fewer examples.
ARBITRARY_SETTINGS = settings(SETTINGS, max_examples=150)
PEOPLE = [BOB, CAROL, MOD, "@dave:d.test"]
NAMED = ["users_default", "events_default", "state_default", "ban", "kick", "invite"]
PL = EventTypes.POWER_LEVELS

levels = st.integers(min_value=-10, max_value=110)
versions = st.sampled_from(ALL_VERSIONS)


# --- Nobody can raise anything above their own level ------------------------------


@SETTINGS
@given(
    version=versions,
    sender=st.sampled_from([ALICE, *PEOPLE]),
    old_users=st.dictionaries(st.sampled_from(PEOPLE), levels),
    new_users=st.dictionaries(st.sampled_from(PEOPLE), levels),
    old_named=st.dictionaries(st.sampled_from(NAMED), levels),
    new_named=st.dictionaries(st.sampled_from(NAMED), levels),
)
def test_power_level_changes_exactly_as_the_rules_say(
    version: str,
    sender: str,
    old_users: dict[str, int],
    new_users: dict[str, int],
    old_named: dict[str, int],
    new_named: dict[str, int],
) -> None:
    room = Room(version)
    for user in [ALICE, *PEOPLE]:
        room.join(user)
    room.power_levels({"users": old_users, **old_named})
    event = room.event(PL, sender, {"users": new_users, **new_named}, state_key="")
    allowed = room.allowed(event)

    if version == "12" and sender == ALICE:
        level: float = math.inf
    else:
        level = old_users.get(sender, old_named.get("users_default", 0))
    may_send = level >= old_named.get("state_default", 50)
    raises_above_self = any(
        value > level for key, value in new_users.items() if old_users.get(key) != value
    ) or any(
        max(old_named.get(k, -math.inf), new_named.get(k, -math.inf)) > level
        for k in set(old_named) | set(new_named)
        if old_named.get(k) != new_named.get(k)
    )
    touches_peer_or_superior = any(
        value >= level
        for key, value in old_users.items()
        if key != sender and new_users.get(key) != value
    )
    expected = may_send and not raises_above_self and not touches_peer_or_superior
    assert allowed is expected
    if allowed:
        for key, value in new_users.items():
            if old_users.get(key) != value:
                assert value <= level


# --- Only members act (apart from joining, knocking and leaving) -------------------


@SETTINGS
@given(
    version=versions,
    membership=st.sampled_from([None, "invite", "leave", "ban", "knock"]),
    event_type=st.sampled_from(
        [
            "m.room.message",
            "m.room.topic",
            "m.room.redaction",
            "m.room.third_party_invite",
            "m.room.join_rules",
            "m.room.aliases",
            PL,
            "org.example.custom",
        ]
    ),
    state_key=st.sampled_from([None, "", BOB, "b.test", "x"]),
    everyone_level=levels,
)
def test_non_members_cannot_send_events(
    version: str,
    membership: str | None,
    event_type: str,
    state_key: str | None,
    everyone_level: int,
) -> None:
    room = Room.standard(version, join_rule="public")
    room.power_levels({"users_default": everyone_level})
    if membership:
        room.set_membership(BOB, membership, ALICE)
    event = room.event(event_type, BOB, {}, state_key=state_key)
    special_alias = event_type == EventTypes.ALIASES and int(version) <= 5
    if special_alias and state_key == "b.test":
        return  # v1-v5 let a server manage its own aliases without joining
    assert not room.allowed(event)


@SETTINGS
@given(
    version=versions,
    membership=st.sampled_from([None, "invite", "leave", "ban", "knock"]),
    change=st.sampled_from(["invite", "ban", "leave"]),
    everyone_level=levels,
)
def test_non_members_cannot_change_others_membership(
    version: str, membership: str | None, change: str, everyone_level: int
) -> None:
    room = Room.standard(version, join_rule="public")
    room.power_levels({"users_default": everyone_level})
    room.join(CAROL)
    if membership:
        room.set_membership(BOB, membership, ALICE)
    assert not room.allowed(room.member(BOB, CAROL, change))


# --- Arbitrary content never raises anything but AuthError -----------------------

KEYS = [
    "membership",
    "users",
    "users_default",
    "ban",
    "kick",
    "invite",
    "redact",
    "state_default",
    "events_default",
    "events",
    "notifications",
    "room",
    "third_party_invite",
    "signed",
    "mxid",
    "token",
    "signatures",
    "public_key",
    "public_keys",
    "join_authorised_via_users_server",
    "join_rule",
    "creator",
    "m.federate",
    "additional_creators",
    "room_version",
    "redacts",
    BOB,
    "ed25519:1",
    "tok",
]
SCALARS = [
    "join",
    "invite",
    "leave",
    "ban",
    "knock",
    "public",
    "restricted",
    "knock_restricted",
    "50",
    " 7 ",
    BOB,
    ALICE,
    "tok",
    "10",
    "$x:a.test",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(SCALARS)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(KEYS) | st.text(max_size=4), children, max_size=5
        )
    ),
    max_leaves=12,
)
contents = st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=4), json_values, max_size=6
)
# Membership-shaped content, so fuzzing reaches past "no membership".
member_contents = st.builds(
    lambda base, membership, extra: {**base, "membership": membership, **extra},
    contents,
    st.sampled_from(["join", "invite", "leave", "ban", "knock"]) | json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "third_party_invite": st.fixed_dictionaries(
                {
                    "signed": st.fixed_dictionaries(
                        {
                            "mxid": st.sampled_from([BOB, 5]),
                            "token": st.sampled_from(["tok", 5]),
                        },
                        optional={"signatures": json_values},
                    )
                    | contents
                }
            )
            | json_values,
            "join_authorised_via_users_server": st.sampled_from([MOD, BOB])
            | json_values,
        },
    ),
)
any_contents = contents | member_contents
event_types = st.sampled_from(
    [
        EventTypes.CREATE,
        EventTypes.MEMBER,
        PL,
        EventTypes.JOIN_RULES,
        EventTypes.THIRD_PARTY_INVITE,
        EventTypes.REDACTION,
        EventTypes.ALIASES,
        "m.room.message",
    ]
)
state_keys = (
    st.none() | st.sampled_from(["", ALICE, BOB, "a.test", "tok"]) | json_values
)


@ARBITRARY_SETTINGS
@given(
    version=versions,
    event_type=event_types,
    sender=st.sampled_from([ALICE, BOB, MOD, "@e:[::1]"]),
    state_key=state_keys,
    content=any_contents,
    pl_content=contents,
    join_rules_content=contents,
    member_content=any_contents,
    invite_content=contents,
    create_extra=contents,
    prev_events=json_values,
    signed_ok=st.booleans(),
)
def test_arbitrary_content_only_raises_auth_error(
    version: str,
    event_type: str,
    sender: str,
    state_key: Any,
    content: dict[str, Any],
    pl_content: dict[str, Any],
    join_rules_content: dict[str, Any],
    member_content: dict[str, Any],
    invite_content: dict[str, Any],
    create_extra: dict[str, Any],
    prev_events: Any,
    signed_ok: bool,
) -> None:
    room = Room.standard(version, create_content=create_extra)
    room.set_state(PL, "", ALICE, pl_content)
    room.set_state(EventTypes.JOIN_RULES, "", ALICE, join_rules_content)
    room.set_state(EventTypes.MEMBER, BOB, BOB, member_content)
    room.set_state(EventTypes.THIRD_PARTY_INVITE, "tok", ALICE, invite_content)
    event = room.event(event_type, sender, content)
    if state_key is not None:
        event.pdu["state_key"] = state_key
    event.pdu["prev_events"] = prev_events

    def verify(event: Event, server_name: str) -> bool:
        return signed_ok

    for auth_state in (room.state, {(EventTypes.CREATE, ""): room.create}):
        try:
            check_auth_rules(event, auth_state, verify_signature=verify)
        except AuthError:
            pass
    try:
        check_auth_events_list(event, list(room.state.values()))
    except AuthError:
        pass
    sk = event.state_key
    auth_types_for_event(room.version, event_type, sk, sender, event.content)
    for getter in (
        lambda: get_user_power_level(BOB, room.state),
        lambda: get_named_power_level("notifications.room", room.state),
        lambda: get_named_power_level("ban", room.state),
        lambda: get_required_power_level(event_type, sk, room.state),
    ):
        try:
            getter()
        except AuthError:
            pass
