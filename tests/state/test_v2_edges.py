"""State resolution v2: edge cases, inputs the storage layer supplies, and scale."""

from __future__ import annotations

import time

from homeserver.events.model import EventTypes
from homeserver.state import resolve_state
from homeserver.state.auth_chain import auth_chain, auth_difference, conflicted_subgraph
from homeserver.state.iterative_auth import iterative_auth_checks
from tests.state.dag import ALICE, BOB, JOIN, Room
from tests.state.test_v2_1 import problem_b
from tests.state.test_v2_ordering import BASE, USERS, base_room

PL = EventTypes.POWER_LEVELS
TOPIC = EventTypes.TOPIC
MEMBER = EventTypes.MEMBER


def add_topic(room: Room, node: str, ts: int, *, rejected: bool = False) -> None:
    room.add(
        node,
        TOPIC,
        ALICE,
        {"topic": node},
        "",
        auth=["CREATE", "IMA", "IPOWER"],
        ts=ts,
        rejected=rejected,
    )


def test_no_state_sets() -> None:
    room = base_room()
    assert room.resolve() == {}


def test_single_and_identical_states_resolve_to_themselves() -> None:
    room = base_room()
    state = room.state(*BASE)
    assert room.resolve(state) == state
    assert room.resolve(state, dict(state), dict(state)) == state


def test_unconflicted_events_need_not_be_known() -> None:
    room = base_room()
    state = {**room.state(*BASE), ("m.room.name", ""): "$unknown:example.com"}
    add_topic(room, "T1", 1)
    add_topic(room, "T2", 2)
    resolved = room.resolve(
        {**state, **room.state("T1")}, {**state, **room.state("T2")}
    )
    assert resolved[("m.room.name", "")] == "$unknown:example.com"
    assert resolved[(TOPIC, "")] == room.id("T2")


def test_unknown_conflicted_events_are_left_out() -> None:
    room = base_room()
    add_topic(room, "T1", 1)
    unknown = {(TOPIC, ""): "$unknown:example.com"}
    resolved = room.resolve(room.state(*BASE, "T1"), {**room.state(*BASE), **unknown})
    assert resolved[(TOPIC, "")] == room.id("T1")


def test_rejected_conflicted_events_are_not_admitted() -> None:
    # T2 would win on timestamp, but it was rejected.
    room = base_room()
    add_topic(room, "T1", 1)
    add_topic(room, "T2", 2, rejected=True)
    resolved = room.resolve(room.state(*BASE, "T1"), room.state(*BASE, "T2"))
    assert resolved[(TOPIC, "")] == room.id("T1")


def test_rejected_auth_events_are_not_used() -> None:
    # Alice's topic cites a rejected power levels event that would forbid it.
    # With that ignored (and no power levels in the state) the creator may.
    room = base_room()
    strict = {"users": USERS, "events": {TOPIC: 101}}
    room.add(
        "PX", PL, ALICE, strict, "", auth=["CREATE", "IMA", "IPOWER"], rejected=True
    )
    room.add("TA", TOPIC, ALICE, {"topic": "a"}, "", auth=["CREATE", "IMA", "PX"])
    ta = [room.id("TA")]
    assert iterative_auth_checks(room.version, ta, {}, room.events) == room.state("TA")
    room.events[room.id("PX")].rejected_reason = None
    assert iterative_auth_checks(room.version, ta, {}, room.events) == {}


def test_rejected_state_events_are_not_used_as_auth_events() -> None:
    # The state's power levels were rejected: the topic's own cited power
    # levels are used instead.
    room = base_room()
    strict = {"users": USERS, "events": {TOPIC: 101}}
    room.add(
        "PX", PL, ALICE, strict, "", auth=["CREATE", "IMA", "IPOWER"], rejected=True
    )
    room.add("TB", TOPIC, BOB, {"topic": "b"}, "", auth=["CREATE", "IMB", "IPOWER"])
    state = room.state("PX")
    result = iterative_auth_checks(room.version, [room.id("TB")], state, room.events)
    assert result == room.state("PX", "TB")


def test_auth_difference_argument_is_used() -> None:
    # In v2, Problem B resets the power levels to POWER1. Telling the resolver
    # that POWER2 is in the auth difference makes it replay POWER2, and POWER3
    # then applies: so the argument is used instead of a computed difference.
    room, computed = problem_b("11")
    states = [
        room.state("CREATE", "MA", "MB", "MC", "JR", "ME2", "POWER1"),
        room.state("CREATE", "MA", "MB", "MC", "JR", "MZ", "POWER3"),
    ]
    own = auth_difference(states, room.events)
    assert resolve_state(room.version, states, room.events, own) == computed
    forced = resolve_state(room.version, states, room.events, own | {room.id("POWER2")})
    assert forced[(PL, "")] == room.id("POWER3")


def test_auth_chain_excludes_the_start_and_skips_unknown_events() -> None:
    room = base_room()
    room.add("X", TOPIC, ALICE, {}, "", auth=["IMA", "IPOWER"])
    room.events[room.id("X")].pdu["auth_events"].append("$unknown:example.com")
    chain = auth_chain([room.id("X")], room.events)
    assert chain == {room.id(n) for n in ("IMA", "IPOWER", "CREATE")}


def test_auth_difference() -> None:
    room = base_room()
    room.add("PB", PL, BOB, {"users": USERS}, "", auth=["CREATE", "IMB", "IPOWER"])
    room.add("T", TOPIC, BOB, {}, "", auth=["CREATE", "IMB", "PB"])
    states = [room.state(*BASE, "T"), room.state(*BASE)]
    # PB is only in T's auth chain. So is IMB: in the second state nothing cites
    # it. An event's auth chain does not contain the event, so an unconflicted
    # state event can be in the auth difference (Synapse, which counts the state
    # events themselves, would leave IMB out). T is in no auth chain.
    assert auth_difference(states, room.events) == {room.id("PB"), room.id("IMB")}


def test_conflicted_subgraph_is_the_paths_between_conflicted_events() -> None:
    # A -> B -> C -> D and B -> E, with A and C conflicted: B is on a path
    # between them, E and D are not (nothing conflicted below them).
    room = Room()
    room.add("D", TOPIC, ALICE, {}, "")
    room.add("C", TOPIC, ALICE, {}, "", auth=["D"])
    room.add("E", TOPIC, ALICE, {}, "")
    room.add("B", TOPIC, ALICE, {}, "", auth=["C", "E"])
    room.add("A", TOPIC, ALICE, {}, "", auth=["B"])
    subgraph = conflicted_subgraph([room.id("A"), room.id("C")], room.events)
    assert subgraph == {room.id(n) for n in ("A", "B", "C")}


def test_large_room_resolves_quickly() -> None:
    # 3,000 events of history (a join, then a power levels event citing it,
    # over and over), then two forks of 100 power levels and topic changes each.
    room = base_room()
    previous_pl = "IPOWER"
    for i in range(1500):
        user = f"@u{i}:example.com"
        room.add(f"J{i}", MEMBER, user, JOIN, user, auth=["CREATE", previous_pl, "IJR"])
        room.add(
            f"P{i}",
            PL,
            ALICE,
            {"users": USERS},
            "",
            auth=["CREATE", "IMA", previous_pl],
        )
        previous_pl = f"P{i}"
    common = room.state(*BASE, *(f"J{i}" for i in range(1500)), previous_pl)
    forks = []
    for fork in ("A", "B"):
        pl = previous_pl
        for i in range(100):
            room.add(
                f"{fork}P{i}",
                PL,
                ALICE,
                {"users": USERS},
                "",
                auth=["CREATE", "IMA", pl],
            )
            pl = f"{fork}P{i}"
            room.add(
                f"{fork}T{i}",
                TOPIC,
                ALICE,
                {"topic": str(i)},
                "",
                auth=["CREATE", "IMA", pl],
            )
        forks.append(common | room.state(pl, f"{fork}T99"))
    started = time.monotonic()
    resolved = room.resolve(*forks)
    assert time.monotonic() - started < 10
    # Fork A's power levels are all older, so B's are replayed after them; A's
    # topic then sits lower on B's mainline than B's topic.
    assert resolved == common | room.state("BP99", "BT99")
