"""State resolution v2: the orderings, and which tie-breaker decides when.

Each resolution test is built so that exactly one tie-breaker gives the
expected answer and the lower-priority ones would give the other.
"""

from __future__ import annotations

import math

from homeserver.events.model import EventTypes
from homeserver.state.lookups import is_power_event
from homeserver.state.ordering import (
    mainline_sort,
    reverse_topological_power_sort,
    select_power_events,
    sender_power_level,
)
from tests.state.dag import ALICE, BAN, BOB, CHARLIE, JOIN, LEAVE, Room

PL = EventTypes.POWER_LEVELS
JR = EventTypes.JOIN_RULES
TOPIC = EventTypes.TOPIC
MEMBER = EventTypes.MEMBER
USERS = {ALICE: 100, BOB: 50, CHARLIE: 50}


def base_room(version: str = "10", users: dict[str, int] = USERS) -> Room:
    """Alice creates the room (PL 100), Bob and Charlie join (PL 50 each)."""
    room = Room(version)
    room.add("CREATE", EventTypes.CREATE, ALICE, {"creator": ALICE}, "")
    room.add("IMA", MEMBER, ALICE, JOIN, ALICE, auth=["CREATE"], prev=["CREATE"])
    room.add(
        "IPOWER", PL, ALICE, {"users": users}, "", auth=["CREATE", "IMA"], prev=["IMA"]
    )
    room.add(
        "IJR",
        JR,
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


BASE = ("CREATE", "IMA", "IPOWER", "IJR", "IMB", "IMC")


def member_of(sender: str) -> str:
    return {ALICE: "IMA", BOB: "IMB", CHARLIE: "IMC"}[sender]


def add_join_rules(room: Room, node: str, sender: str, ts: int, rule: str) -> None:
    room.add(
        node,
        JR,
        sender,
        {"join_rule": rule},
        "",
        auth=["CREATE", "IPOWER", member_of(sender)],
        prev=["IMC"],
        ts=ts,
    )


def resolve_two_join_rules(room: Room) -> str:
    state = room.resolve(room.state(*BASE, "JR1"), room.state(*BASE, "JR2"))
    return state[(JR, "")]


# Reverse topological power ordering: the later in the order wins.


def test_sender_power_level_decides_first() -> None:
    room = base_room()
    # Bob's JR1 is earlier and has the smaller ID, but Alice outranks him, so
    # her JR2 is applied first and his last.
    add_join_rules(room, "JR1", BOB, ts=100, rule="invite")
    add_join_rules(room, "JR2", ALICE, ts=200, rule="knock")
    assert resolve_two_join_rules(room) == room.id("JR1")


def test_origin_server_ts_decides_on_equal_power() -> None:
    room = base_room()
    # Equal power: Charlie's JR2 is older, so Bob's JR1 (smaller ID) comes last.
    add_join_rules(room, "JR1", BOB, ts=200, rule="invite")
    add_join_rules(room, "JR2", CHARLIE, ts=100, rule="knock")
    assert resolve_two_join_rules(room) == room.id("JR1")


def test_event_id_decides_on_equal_power_and_ts() -> None:
    room = base_room()
    add_join_rules(room, "JR1", CHARLIE, ts=100, rule="invite")
    add_join_rules(room, "JR2", BOB, ts=100, rule="knock")
    assert resolve_two_join_rules(room) == room.id("JR2")


def test_power_level_comes_from_the_events_own_auth_events() -> None:
    # P1 gives Bob 80 and Charlie 60; P2, which follows it, gives Bob 60 and
    # Charlie 70. Bob's JRB cites P1 (he sent it before seeing P2), Charlie's
    # JRC cites P2. Ranked by what they cite, Bob (80) sorts before Charlie (70),
    # so Charlie's rules win; ranking by the resolved P2 would make Bob's win.
    room = base_room()
    levels = {"users": {ALICE: 100, BOB: 80, CHARLIE: 60}, "events": {JR: 0}}
    room.add(
        "P1", PL, ALICE, levels, "", auth=["CREATE", "IMA", "IPOWER"], prev=["IMC"]
    )
    swapped = {"users": {ALICE: 100, BOB: 60, CHARLIE: 70}, "events": {JR: 0}}
    room.add("P2", PL, ALICE, swapped, "", auth=["CREATE", "IMA", "P1"], prev=["P1"])
    room.add(
        "JRB",
        JR,
        BOB,
        {"join_rule": "invite"},
        "",
        auth=["CREATE", "P1", "IMB"],
        prev=["P1"],
        ts=100,
    )
    room.add(
        "JRC",
        JR,
        CHARLIE,
        {"join_rule": "knock"},
        "",
        auth=["CREATE", "P2", "IMC"],
        prev=["P2"],
        ts=200,
    )
    assert sender_power_level(room.id("JRB"), room.events) == 80
    assert sender_power_level(room.id("JRC"), room.events) == 70
    state = room.resolve(room.state(*BASE, "P2", "JRB"), room.state(*BASE, "P2", "JRC"))
    assert state[(JR, "")] == room.id("JRC")


def test_sender_power_level_without_power_levels_is_creator_default() -> None:
    room = base_room()
    assert sender_power_level(room.id("IPOWER"), room.events) == 100
    room.add("TB", TOPIC, BOB, {"topic": "t"}, "", auth=["CREATE", "IMB"])
    assert sender_power_level(room.id("TB"), room.events) == 0
    assert sender_power_level(room.id("IMB"), room.events) == 50  # cites IPOWER
    room12 = Room("12")
    room12.add("CREATE", EventTypes.CREATE, ALICE, {}, "")
    room12.add("IMA", MEMBER, ALICE, JOIN, ALICE, prev=["CREATE"])
    assert sender_power_level(room12.id("IMA"), room12.events) == math.inf


def test_reverse_topological_sort_respects_auth_order_over_power() -> None:
    # Bob's PB is the oldest, but it cites Alice's PA so must wait for it.
    room = base_room()
    pa = {"users": {ALICE: 100, BOB: 75, CHARLIE: 50}}
    room.add("PA", PL, ALICE, pa, "", auth=["CREATE", "IMA", "IPOWER"], ts=300)
    pb = {"users": {ALICE: 100, BOB: 75, CHARLIE: 60}}
    room.add("PB", PL, BOB, pb, "", auth=["CREATE", "IMB", "PA"], ts=10)
    room.add(
        "KC",
        MEMBER,
        ALICE,
        LEAVE,
        CHARLIE,
        auth=["CREATE", "IMA", "IPOWER", "IMC"],
        ts=5,
    )
    ids = [room.id(n) for n in ("PB", "KC", "PA")]
    order = reverse_topological_power_sort(ids, room.events)
    # PA and KC are ready first: both Alice's (100), KC is older. Then PA, then
    # PB, which has to wait for PA.
    assert order == [room.id("KC"), room.id("PA"), room.id("PB")]


def test_reverse_topological_sort_uses_edges_between_selected_events() -> None:
    # A cites B cites C; only A and C are sorted. As in Synapse, only edges
    # between sorted events constrain the order, so A's higher power puts it first.
    room = base_room()
    room.add("C", PL, BOB, {"users": USERS}, "", auth=["CREATE", "IMB", "IPOWER"], ts=9)
    room.add("B", PL, ALICE, {"users": USERS}, "", auth=["CREATE", "IMA", "C"], ts=5)
    room.add("A", PL, ALICE, {"users": USERS}, "", auth=["CREATE", "IMA", "B"], ts=1)
    order = reverse_topological_power_sort([room.id("A"), room.id("C")], room.events)
    assert order == [room.id("A"), room.id("C")]


def test_select_power_events_walks_only_through_the_set() -> None:
    # Alice's join IMA is in the full conflicted set; Bob's power levels PB
    # reaches it only through IPOWER, which is not, so (as in Synapse) IMA stays
    # out of X.
    room = base_room()
    room.add("PB", PL, BOB, {"users": USERS}, "", auth=["CREATE", "IMB", "IPOWER"])
    room.add("T", TOPIC, BOB, {"topic": "t"}, "", auth=["CREATE", "IMB", "IPOWER"])
    full = {room.id("PB"), room.id("IMA"), room.id("T")}
    assert select_power_events(full, room.events) == {room.id("PB")}


def test_power_events() -> None:
    room = base_room()
    room.add("KICK", MEMBER, ALICE, LEAVE, BOB, auth=["CREATE", "IMA", "IPOWER", "IMB"])
    room.add(
        "BAN", MEMBER, ALICE, BAN, CHARLIE, auth=["CREATE", "IMA", "IPOWER", "IMC"]
    )
    room.add("LEAVE", MEMBER, BOB, LEAVE, BOB, auth=["CREATE", "IPOWER", "IMB"])
    room.add("T", TOPIC, ALICE, {"topic": "t"}, "", auth=["CREATE", "IMA", "IPOWER"])
    power = {
        n
        for n in ("IPOWER", "IJR", "KICK", "BAN", "LEAVE", "T", "IMA", "CREATE")
        if is_power_event(room.events[room.id(n)])
    }
    assert power == {"IPOWER", "IJR", "KICK", "BAN"}


# Mainline ordering: the later in the order wins.


def mainline_room() -> Room:
    """IPOWER <- P1 <- P2 is the mainline; P2 is the resolved power levels."""
    room = base_room()
    room.add("P1", PL, ALICE, {"users": USERS}, "", auth=["CREATE", "IMA", "IPOWER"])
    room.add("P2", PL, ALICE, {"users": USERS}, "", auth=["CREATE", "IMA", "P1"])
    return room


def add_topic(room: Room, node: str, power: str, ts: int, sender: str = BOB) -> None:
    auth = ["CREATE", member_of(sender)] + ([power] if power else [])
    room.add(node, TOPIC, sender, {"topic": node}, "", auth=auth, ts=ts)


def resolve_two_topics(room: Room, power: str) -> str:
    state = room.resolve(room.state(*BASE, power, "T1"), room.state(*BASE, power, "T2"))
    return state[(TOPIC, "")]


def test_mainline_position_decides_first() -> None:
    room = mainline_room()
    add_topic(room, "T1", "P2", ts=100)  # newer position, older and smaller
    add_topic(room, "T2", "P1", ts=200)
    assert resolve_two_topics(room, "P2") == room.id("T1")


def test_mainline_ts_decides_on_equal_position() -> None:
    room = mainline_room()
    add_topic(room, "T1", "P1", ts=200)
    add_topic(room, "T2", "P1", ts=100)
    assert resolve_two_topics(room, "P2") == room.id("T1")


def test_mainline_event_id_decides_on_equal_position_and_ts() -> None:
    room = mainline_room()
    add_topic(room, "T1", "P1", ts=100)
    add_topic(room, "T2", "P1", ts=100)
    assert resolve_two_topics(room, "P2") == room.id("T2")


def test_mainline_sort_puts_events_off_the_mainline_first() -> None:
    room = mainline_room()
    # A power levels event on another branch, not on P2's mainline.
    room.add("PX", PL, ALICE, {"users": USERS}, "", auth=["CREATE", "IMA"])
    add_topic(room, "T0", "", ts=900, sender=ALICE)  # cites no power levels
    add_topic(room, "TX", "PX", ts=800)  # its ancestry never meets the mainline
    add_topic(room, "TI", "IPOWER", ts=700)
    add_topic(room, "T1", "P1", ts=600)
    add_topic(room, "T2", "P2", ts=500)
    ids = [room.id(n) for n in ("T2", "T1", "TI", "TX", "T0")]
    order = mainline_sort(ids, room.id("P2"), room.events)
    assert order == [room.id(n) for n in ("TX", "T0", "TI", "T1", "T2")]


def test_mainline_sort_without_power_levels_orders_by_ts_then_id() -> None:
    room = mainline_room()
    add_topic(room, "T1", "P2", ts=5)
    add_topic(room, "T2", "P1", ts=5)
    add_topic(room, "T3", "IPOWER", ts=1)
    ids = [room.id(n) for n in ("T1", "T2", "T3")]
    assert mainline_sort(ids, None, room.events) == [
        room.id(n) for n in ("T3", "T1", "T2")
    ]


def test_mainline_position_starts_from_the_cited_power_levels() -> None:
    # e0 is not in its own list: P1's position is that of IPOWER, which it
    # cites (2), not its own (1). So it ties with a topic citing IPOWER, and the
    # older P1 comes first. (Step 3 never sorts power levels events, so this
    # cannot change a resolution; Synapse counts e0 and would put T first.)
    room = mainline_room()
    add_topic(room, "T", "IPOWER", ts=10**6)
    ids = [room.id("T"), room.id("P1")]
    assert mainline_sort(ids, room.id("P2"), room.events) == ids[::-1]
