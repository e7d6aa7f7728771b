"""State resolution v1 (room v1): spec prose cases.

Spec: rooms/v1.md "State resolution". Depths are given explicitly: v1 orders
conflicted events by depth, then by ``sha1(event_id)``.
"""

from __future__ import annotations

import hashlib

from homeserver.events.model import EventTypes
from homeserver.state import resolve_state
from tests.state.dag import ALICE, BAN, BOB, CHARLIE, EVELYN, JOIN, Room

PL = EventTypes.POWER_LEVELS
TOPIC = EventTypes.TOPIC
MEMBER = EventTypes.MEMBER
USERS = {ALICE: 100, BOB: 50, CHARLIE: 50}
BASE = ("CREATE", "IMA", "IPOWER", "IJR", "IMB", "IMC")


def base_room() -> Room:
    room = Room("1")
    room.add("CREATE", EventTypes.CREATE, ALICE, {"creator": ALICE}, "")
    room.add("IMA", MEMBER, ALICE, JOIN, ALICE, auth=["CREATE"], prev=["CREATE"])
    room.add(
        "IPOWER", PL, ALICE, {"users": USERS}, "", auth=["CREATE", "IMA"], prev=["IMA"]
    )
    room.add(
        "IJR",
        EventTypes.JOIN_RULES,
        ALICE,
        {"join_rule": "public"},
        "",
        auth=["CREATE", "IMA", "IPOWER"],
        prev=["IPOWER"],
    )
    auth = ["CREATE", "IPOWER", "IJR"]
    room.add("IMB", MEMBER, BOB, JOIN, BOB, auth=auth, prev=["IJR"])
    room.add("IMC", MEMBER, CHARLIE, JOIN, CHARLIE, auth=auth, prev=["IMB"])
    return room


def add_pl(
    room: Room, node: str, sender: str, users: dict[str, int], depth: int
) -> None:
    member = {ALICE: "IMA", BOB: "IMB", CHARLIE: "IMC"}[sender]
    room.add(
        node,
        PL,
        sender,
        {"users": users},
        "",
        auth=["CREATE", "IPOWER", member],
        depth=depth,
    )


def test_power_levels_later_depth_applies_when_allowed() -> None:
    room = base_room()
    add_pl(room, "P1", ALICE, {**USERS, BOB: 60}, depth=10)
    add_pl(room, "P2", ALICE, {**USERS, BOB: 70}, depth=11)
    state = room.resolve(room.state(*BASE, "P2"), room.state(*BASE, "P1"))
    assert state[(PL, "")] == room.id("P2")


def test_power_levels_stop_at_the_first_disallowed_event() -> None:
    # P1 demotes Bob; Bob's P2 is then not allowed, so the pass stops there and
    # Alice's P3 is never considered, although it would be allowed.
    room = base_room()
    add_pl(room, "P1", ALICE, {**USERS, BOB: 0}, depth=10)
    add_pl(room, "P2", BOB, {**USERS, CHARLIE: 40}, depth=11)
    add_pl(room, "P3", ALICE, {**USERS, CHARLIE: 30}, depth=12)
    states = [room.state(*BASE, p) for p in ("P3", "P1", "P2")]
    assert room.resolve(*states)[(PL, "")] == room.id("P1")


def test_membership_ban_wins_over_a_deeper_join() -> None:
    room = base_room()
    room.add(
        "BAN", MEMBER, ALICE, BAN, EVELYN, auth=["CREATE", "IPOWER", "IMA"], depth=8
    )
    room.add(
        "JOIN", MEMBER, EVELYN, JOIN, EVELYN, auth=["CREATE", "IPOWER", "IJR"], depth=9
    )
    state = room.resolve(room.state(*BASE, "BAN"), room.state(*BASE, "JOIN"))
    assert state[(MEMBER, EVELYN)] == room.id("BAN")


def test_membership_ban_after_join_applies() -> None:
    room = base_room()
    room.add(
        "JOIN", MEMBER, EVELYN, JOIN, EVELYN, auth=["CREATE", "IPOWER", "IJR"], depth=8
    )
    room.add(
        "BAN", MEMBER, ALICE, BAN, EVELYN, auth=["CREATE", "IPOWER", "IMA"], depth=9
    )
    state = room.resolve(room.state(*BASE, "BAN"), room.state(*BASE, "JOIN"))
    assert state[(MEMBER, EVELYN)] == room.id("BAN")


def test_other_events_pick_the_deepest_allowed() -> None:
    # The power levels conflict resolves to P1, which demotes Bob, so Bob's
    # deeper topic is not allowed and Alice's shallower one is picked.
    room = base_room()
    add_pl(room, "P1", ALICE, {**USERS, BOB: 0}, depth=10)
    add_pl(room, "P0", ALICE, {**USERS, CHARLIE: 60}, depth=9)
    room.add(
        "TB", TOPIC, BOB, {"topic": "b"}, "", auth=["CREATE", "IPOWER", "IMB"], depth=12
    )
    room.add(
        "TA",
        TOPIC,
        ALICE,
        {"topic": "a"},
        "",
        auth=["CREATE", "IPOWER", "IMA"],
        depth=11,
    )
    state = room.resolve(room.state(*BASE, "P0", "TB"), room.state(*BASE, "P1", "TA"))
    assert state[(PL, "")] == room.id("P1")
    assert state[(TOPIC, "")] == room.id("TA")


def test_other_events_tie_on_depth_goes_to_lowest_sha1() -> None:
    # sha1("$T3:example.com") < sha1("$T1:example.com"), the reverse of the IDs.
    room = base_room()
    for node in ("T1", "T3"):
        auth = ["CREATE", "IPOWER", "IMA"]
        room.add(node, TOPIC, ALICE, {"topic": node}, "", auth=auth, depth=11)
    digest = {n: hashlib.sha1(room.id(n).encode()).hexdigest() for n in ("T1", "T3")}
    assert digest["T3"] < digest["T1"]
    state = room.resolve(room.state(*BASE, "T1"), room.state(*BASE, "T3"))
    assert state[(TOPIC, "")] == room.id("T3")


def test_other_events_none_allowed_takes_the_shallowest() -> None:
    room = base_room()
    auth = ["CREATE", "IPOWER"]
    room.add("TE1", TOPIC, EVELYN, {"topic": "1"}, "", auth=auth, depth=11)
    room.add("TE2", TOPIC, EVELYN, {"topic": "2"}, "", auth=auth, depth=12)
    state = room.resolve(room.state(*BASE, "TE1"), room.state(*BASE, "TE2"))
    assert state[(TOPIC, "")] == room.id("TE1")


def test_a_key_missing_from_some_states_is_not_a_conflict() -> None:
    # Unlike v2: Evelyn's topic is in one state only and is kept without a check.
    room = base_room()
    room.add(
        "TE", TOPIC, EVELYN, {"topic": "1"}, "", auth=["CREATE", "IPOWER"], depth=11
    )
    state = room.resolve(room.state(*BASE, "TE"), room.state(*BASE))
    assert state[(TOPIC, "")] == room.id("TE")


def test_dispatch_uses_v1_for_room_v1() -> None:
    room = base_room()
    room.add(
        "TE", TOPIC, EVELYN, {"topic": "1"}, "", auth=["CREATE", "IPOWER"], depth=11
    )
    states = [room.state(*BASE, "TE"), room.state(*BASE)]
    assert resolve_state(room.version, states, room.events) == room.state(*BASE, "TE")
