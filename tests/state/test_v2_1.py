"""State resolution v2.1 (room v12) against v2 (v11) on the same graphs.

The two "problems" of MSC4297, which motivated v2.1, as Synapse's
``tests/state/test_v21.py`` and Ruma's ``MSC4297-problem-*`` fixtures pose them.
Each graph is built twice, once per room version: v12 events do not cite the
create event, and Alice as creator needs no entry in the power levels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from homeserver.events.model import EventTypes
from homeserver.state.auth_chain import conflicted_subgraph
from tests.state.dag import ALICE, BOB, CHARLIE, EVELYN, JOIN, LEAVE, ZARA, Room

PL = EventTypes.POWER_LEVELS
JR = EventTypes.JOIN_RULES
MEMBER = EventTypes.MEMBER


class VersionedRoom:
    """Adds events to a v11 or v12 room from one description."""

    def __init__(self, version: str) -> None:
        self.room = Room(version)
        self.v12 = version == "12"
        self.room.add("CREATE", EventTypes.CREATE, ALICE, {"creator": ALICE}, "")

    def add(
        self,
        node: str,
        event_type: str,
        sender: str,
        content: Mapping[str, Any],
        state_key: str,
        auth: Iterable[str],
    ) -> None:
        auth = list(auth) if self.v12 else ["CREATE", *auth]
        if event_type == PL and not self.v12:
            content = {"users": {ALICE: 100, **content.get("users", {})}}
        self.room.add(node, event_type, sender, content, state_key, auth=auth)

    def id(self, node: str) -> str:
        return self.room.id(node)


def problem_a(version: str) -> tuple[Room, dict[tuple[str, str], str]]:
    """Conflicted join rules whose sender has since left (MSC4297 problem A).

    Alice makes the room public, Bob joins, Alice makes it invite-only and leaves.
    A faulty fork claims the old, public join rules.
    """
    r = VersionedRoom(version)
    r.add("MA1", MEMBER, ALICE, JOIN, ALICE, [])
    r.add("POWER", PL, ALICE, {"users": {BOB: 100}}, "", ["MA1"])
    r.add("JR1", JR, ALICE, {"join_rule": "public"}, "", ["MA1", "POWER"])
    r.add("MB", MEMBER, BOB, JOIN, BOB, ["POWER", "JR1"])
    r.add("JR2", JR, ALICE, {"join_rule": "invite"}, "", ["MA1", "POWER"])
    r.add("MA2", MEMBER, ALICE, LEAVE, ALICE, ["POWER", "MA1"])
    room = r.room
    correct = room.state("CREATE", "MA2", "MB", "POWER", "JR2")
    faulty = room.state("CREATE", "MA2", "MB", "POWER", "JR1")
    return room, room.resolve(correct, faulty)


def test_problem_a_v2_loses_the_join_rules() -> None:
    # v2 checks both join rules against the unconflicted state, where Alice has
    # left, so neither applies: the room ends up with no join rules at all.
    room, state = problem_a("11")
    assert (JR, "") not in state
    assert state[(MEMBER, ALICE)] == room.id("MA2")


def test_problem_a_v2_1_keeps_the_latest_join_rules() -> None:
    # v2.1 starts from an empty state, so Alice's membership comes from the
    # join rules' own auth events and both apply, in order.
    room, state = problem_a("12")
    assert state == room.state("CREATE", "MA2", "MB", "POWER", "JR2")


def problem_b(version: str) -> tuple[Room, dict[tuple[str, str], str]]:
    """A state reset through an event citing old power levels (MSC4297 problem B).

    Alice promotes Bob (POWER2), who promotes Charlie (POWER3). Evelyn joins
    under POWER3, then renames herself citing the old POWER1, and a fork's state
    after the rename claims POWER1. Zara joins under POWER3 on the other fork.
    """
    r = VersionedRoom(version)
    r.add("MA", MEMBER, ALICE, JOIN, ALICE, [])
    r.add("POWER1", PL, ALICE, {"users": {}}, "", ["MA"])
    r.add("JR", JR, ALICE, {"join_rule": "public"}, "", ["MA", "POWER1"])
    r.add("MB", MEMBER, BOB, JOIN, BOB, ["POWER1", "JR"])
    r.add("MC", MEMBER, CHARLIE, JOIN, CHARLIE, ["POWER1", "JR"])
    r.add("POWER2", PL, ALICE, {"users": {BOB: 50}}, "", ["MA", "POWER1"])
    r.add("POWER3", PL, BOB, {"users": {BOB: 50, CHARLIE: 50}}, "", ["MB", "POWER2"])
    r.add("ME1", MEMBER, EVELYN, JOIN, EVELYN, ["POWER3", "JR"])
    rename = {"membership": "join", "displayname": "eve"}
    r.add("ME2", MEMBER, EVELYN, rename, EVELYN, ["POWER1", "JR", "ME1"])
    r.add("MZ", MEMBER, ZARA, JOIN, ZARA, ["POWER3", "JR"])
    room = r.room
    common = ("CREATE", "MA", "MB", "MC", "JR")
    dodgy = room.state(*common, "ME2", "POWER1")
    sensible = room.state(*common, "MZ", "POWER3")
    return room, room.resolve(dodgy, sensible)


def test_problem_b_v2_resets_the_power_levels() -> None:
    # v2 never replays POWER2, so Bob's POWER3 fails against POWER1.
    room, state = problem_b("11")
    assert state[(PL, "")] == room.id("POWER1")
    assert state[(MEMBER, EVELYN)] == room.id("ME2")


def test_problem_b_v2_1_replays_the_conflicted_subgraph() -> None:
    # POWER2 lies on the path POWER3 -> POWER2 -> POWER1 between two conflicted
    # events, so v2.1 replays it and POWER3 applies. ME2 sits in the POWER1
    # epoch of the mainline and is replayed before ME1 (POWER3 epoch).
    room, state = problem_b("12")
    assert state == room.state("CREATE", "MA", "MB", "MC", "JR", "POWER3", "ME1", "MZ")


def test_conflicted_subgraph_of_problem_b() -> None:
    room, _ = problem_b("12")
    conflicted = [room.id(n) for n in ("POWER1", "POWER3", "ME2", "MZ")]
    subgraph = conflicted_subgraph(conflicted, room.events)
    expected = {"POWER1", "POWER2", "POWER3", "MB", "JR", "ME1", "ME2", "MZ"}
    assert subgraph == {room.id(n) for n in expected}


def test_v2_1_unconflicted_state_still_wins() -> None:
    # Starting from empty does not lose unconflicted state: step 5 restores it,
    # here Alice's leave although her join is what the replay saw.
    room, state = problem_a("12")
    assert state[(MEMBER, ALICE)] == room.id("MA2")
    assert state[(EventTypes.CREATE, "")] == room.id("CREATE")
