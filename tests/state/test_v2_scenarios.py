"""State resolution v2: the classic scenarios.

Ported (as scenarios, not code) from Synapse's ``tests/state/test_v2.py`` and
the fixtures of Ruma's ``crates/ruma-state-res/tests/it/resolve``. Each builds a
small room on the prev-events graph given as chains (``[A, B, C]``: A follows B,
B follows C) after a common start (create, Alice joins and is admin, public join
rules, Bob, Charlie and Zara join), then checks the state at END.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from homeserver.events.model import EventTypes
from tests.state.dag import ALICE, BAN, BOB, CHARLIE, EVELYN, JOIN, ZARA, Node, play

PL = EventTypes.POWER_LEVELS
TOPIC = EventTypes.TOPIC
MEMBER = EventTypes.MEMBER


def check(
    nodes: Sequence[Node], edges: Sequence[Sequence[str]], expected: Sequence[str]
) -> None:
    played = play(nodes, edges)
    room = played.room
    want = {room.events[room.id(n)].state_tuple: room.id(n) for n in expected}
    assert played.changed_state(expected) == want


def test_ban_vs_power_levels() -> None:
    # Alice promotes Bob then bans him; concurrently Bob (still a moderator on his
    # fork) changes the power levels. The ban is applied first and Bob's power
    # levels change then fails.
    nodes = [
        Node("PA", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
        Node("MA", ALICE, MEMBER, ALICE, JOIN),
        Node("MB", ALICE, MEMBER, BOB, BAN),
        Node("PB", BOB, PL, "", {"users": {ALICE: 100, BOB: 50}}),
    ]
    edges = [["END", "MB", "MA", "PA", "START"], ["END", "PB", "PA"]]
    check(nodes, edges, ["PA", "MA", "MB"])


def test_join_rule_evasion() -> None:
    # Evelyn joins concurrently with the room going invite-only: the join rules
    # win and her join is dropped.
    nodes = [
        Node("JR", ALICE, EventTypes.JOIN_RULES, "", {"join_rule": "invite"}),
        Node("ME", EVELYN, MEMBER, EVELYN, JOIN),
    ]
    edges = [["END", "JR", "START"], ["END", "ME", "START"]]
    check(nodes, edges, ["JR"])


def test_offtopic_power_levels() -> None:
    # Alice makes Bob a moderator, Bob makes Charlie one, Charlie demotes
    # himself; a fork stays at Alice's change. Charlie's change, built on the
    # others, wins.
    nodes = [
        Node("PA", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
        Node("PB", BOB, PL, "", {"users": {ALICE: 100, BOB: 50, CHARLIE: 50}}),
        Node("PC", CHARLIE, PL, "", {"users": {ALICE: 100, BOB: 50, CHARLIE: 0}}),
    ]
    edges = [["END", "PC", "PB", "PA", "START"], ["END", "PA"]]
    check(nodes, edges, ["PC"])


TOPIC_NODES = [
    Node("T1", ALICE, TOPIC, "", {"topic": "1"}),
    Node("PA1", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
    Node("T2", ALICE, TOPIC, "", {"topic": "2"}),
    Node("PA2", ALICE, PL, "", {"users": {ALICE: 100, BOB: 0}}),
    Node("PB", BOB, PL, "", {"users": {ALICE: 100, BOB: 50}}),
    Node("T3", BOB, TOPIC, "", {"topic": "3"}),
]


def test_topic_basic() -> None:
    # Alice demotes Bob while Bob, still a moderator on his fork, re-sends the
    # power levels and sets a topic: the demotion wins, and with it Alice's topic.
    edges = [["END", "PA2", "T2", "PA1", "T1", "START"], ["END", "T3", "PB", "PA1"]]
    check(TOPIC_NODES, edges, ["PA2", "T2"])


def test_topic_reset() -> None:
    # Bob sets a topic, then is banned; a fork still has the first topic. Bob's
    # topic must not survive his ban.
    nodes = [
        Node("T1", ALICE, TOPIC, "", {"topic": "1"}),
        Node("PA", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
        Node("T2", BOB, TOPIC, "", {"topic": "2"}),
        Node("MB", ALICE, MEMBER, BOB, BAN),
    ]
    edges = [["END", "MB", "T2", "PA", "T1", "START"], ["END", "T1"]]
    check(nodes, edges, ["T1", "MB", "PA"])


def test_topic() -> None:
    # As topic_basic, then the forks merge (MZ1) and Alice sets a new topic.
    nodes = [
        *TOPIC_NODES,
        Node("MZ1", ZARA, EventTypes.MESSAGE, None),
        Node("T4", ALICE, TOPIC, "", {"topic": "4"}),
    ]
    edges = [
        ["END", "T4", "MZ1", "PA2", "T2", "PA1", "T1", "START"],
        ["END", "MZ1", "T3", "PB", "PA1"],
    ]
    check(nodes, edges, ["T4", "PA2"])


def test_mainline_sort() -> None:
    # T3 (citing PA2) beats T4 (citing the older PA1 through PB) although T4
    # was sent later: it is based on a later event of the resolved mainline.
    nodes = [
        Node("T1", ALICE, TOPIC, "", {"topic": "1"}),
        Node("PA1", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
        Node("T2", ALICE, TOPIC, "", {"topic": "2"}),
        Node(
            "PA2",
            ALICE,
            PL,
            "",
            {"users": {ALICE: 100, BOB: 50}, "events": {PL: 100}},
        ),
        Node("PB", BOB, PL, "", {"users": {ALICE: 100, BOB: 50}}),
        Node("T3", BOB, TOPIC, "", {"topic": "3"}),
        Node("T4", ALICE, TOPIC, "", {"topic": "4"}),
    ]
    edges = [
        ["END", "T3", "PA2", "T2", "PA1", "T1", "START"],
        ["END", "T4", "PB", "PA1"],
    ]
    check(nodes, edges, ["T3", "PA2"])


def test_ban_races_join() -> None:
    # Evelyn joins while Alice, concurrently, bans her: the ban is a power event
    # and is applied first, so the join then fails.
    nodes = [
        Node("BE", ALICE, MEMBER, EVELYN, BAN),
        Node("JE", EVELYN, MEMBER, EVELYN, JOIN),
    ]
    edges = [["END", "BE", "START"], ["END", "JE", "START"]]
    check(nodes, edges, ["BE"])


def test_topic_vs_ban() -> None:
    # Ruma's topic-vs-ban: Bob (a moderator) sets a topic while Alice bans him.
    nodes = [
        Node("PA", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
        Node("T1", ALICE, TOPIC, "", {"topic": "alice"}),
        Node("MB", ALICE, MEMBER, BOB, BAN),
        Node("TB", BOB, TOPIC, "", {"topic": "bob"}),
    ]
    edges = [["END", "MB", "T1", "PA", "START"], ["END", "TB", "T1"]]
    check(nodes, edges, ["PA", "T1", "MB"])


def test_power_levels_admin_vs_mod() -> None:
    # Ruma's power-levels-admin-vs-mod: Alice demotes Bob; concurrently Bob, a
    # moderator, promotes Charlie. Alice sorts first (higher power), so Bob's
    # change is checked after his demotion and fails.
    nodes = [
        Node("PA1", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
        Node("PA2", ALICE, PL, "", {"users": {ALICE: 100}}),
        Node("PB", BOB, PL, "", {"users": {ALICE: 100, BOB: 50, CHARLIE: 50}}),
    ]
    edges = [["END", "PA2", "PA1", "START"], ["END", "PB", "PA1"]]
    check(nodes, edges, ["PA2"])


def test_concurrent_joins() -> None:
    # Ruma's concurrent-joins: two joins on two forks both end up in the state.
    nodes = [
        Node("JE", EVELYN, MEMBER, EVELYN, JOIN),
        Node("JX", "@xavier:example.com", MEMBER, "@xavier:example.com", JOIN),
    ]
    edges = [["END", "JE", "START"], ["END", "JX", "START"]]
    check(nodes, edges, ["JE", "JX"])


@pytest.mark.parametrize("version", ["2", "6", "10", "11"])
def test_scenarios_hold_across_v2_room_versions(version: str) -> None:
    nodes = [
        Node("PA", ALICE, PL, "", {"users": {ALICE: 100, BOB: 50}}),
        Node("MA", ALICE, MEMBER, ALICE, JOIN),
        Node("MB", ALICE, MEMBER, BOB, BAN),
        Node("PB", BOB, PL, "", {"users": {ALICE: 100, BOB: 50}}),
    ]
    edges = [["END", "MB", "MA", "PA", "START"], ["END", "PB", "PA"]]
    played = play(nodes, edges, version)
    room = played.room
    assert played.state_after["END"][(PL, "")] == room.id("PA")
    assert played.state_after["END"][(MEMBER, BOB)] == room.id("MB")
