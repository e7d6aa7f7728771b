"""Where the spec's words and the big implementations part, which way we go.

Each test pins a reading of rooms/fragments/v2-state-res.md that Synapse (and
for some, Ruma) implements differently, so that changing it is a decision.
"""

from __future__ import annotations

from homeserver.events.model import EventTypes
from homeserver.state.auth_chain import auth_difference
from homeserver.state.lookups import is_power_event
from homeserver.state.ordering import select_power_events
from tests.state.dag import ALICE, BOB, CHARLIE, LEAVE, Room
from tests.state.test_v2_ordering import BASE, base_room

PL = EventTypes.POWER_LEVELS
MEMBER = EventTypes.MEMBER


def test_auth_chain_of_a_state_excludes_its_own_events() -> None:
    # "The auth chain of an event E is the set containing all of E's auth
    # events, ...": E is not in it. Synapse's auth difference counts each state's
    # own events as part of its chain; Ruma, like us, does not. T cites IMB and
    # nothing in the other state does, so IMB (unconflicted) is in our
    # difference and would not be in Synapse's.
    room = base_room()
    room.add("T", EventTypes.TOPIC, BOB, {}, "", auth=["CREATE", "IMB", "IPOWER"])
    states = [room.state(*BASE, "T"), room.state(*BASE)]
    assert auth_difference(states, room.events) == {room.id("IMB")}


def test_create_event_is_not_a_power_event() -> None:
    # The spec lists power levels, join rules, kicks and bans; Synapse and Ruma
    # add m.room.create. It only matters if a create event is ever conflicted.
    room = base_room()
    assert not is_power_event(room.events[room.id("CREATE")])


def divergent_room() -> Room:
    """Alice's J1 -> J2 rename, a power levels event PA citing J1, a kick citing PA.

    J2 claims an earlier timestamp than J1, the event it cites.
    """
    room = base_room()
    auth = ["CREATE", "IPOWER", "IJR"]
    rename = {"membership": "join", "displayname": "one"}
    room.add("J1", MEMBER, ALICE, rename, ALICE, auth=[*auth, "IMA"], ts=20)
    rename = {"membership": "join", "displayname": "two"}
    room.add("J2", MEMBER, ALICE, rename, ALICE, auth=[*auth, "J1"], ts=10)
    levels = {"users": {ALICE: 100, BOB: 50}}
    room.add("PA", PL, ALICE, levels, "", auth=["CREATE", "J1", "IPOWER"])
    room.add("T", EventTypes.TOPIC, BOB, {}, "", auth=["CREATE", "IMB", "PA"])
    room.add("KICK", MEMBER, BOB, LEAVE, CHARLIE, auth=["CREATE", "IMB", "PA", "IMC"])
    return room


def test_power_events_walk_only_through_the_conflicted_set_as_synapse() -> None:
    # Step 1: "enlarge X by adding the events in the auth chain of P which also
    # belong to the full conflicted set". J1 is in the full conflicted set and
    # in the kick's auth chain, but only through PA, which is not in the set.
    # Synapse and Ruma walk through events of the set only, so J1 stays out of
    # X and is mainline-sorted with J2 in step 3, where J2's earlier timestamp
    # puts it first and J1 wins. We do the same, so rooms resolve identically
    # (checked against Synapse 1.163 with real event IDs: Alice resolves to J1).
    room = divergent_room()
    full = {room.id(n) for n in ("J1", "J2", "KICK", "IMC")}
    selected = select_power_events(full, room.events)
    assert selected == {room.id(n) for n in ("KICK", "IMC")}
    common = room.state(*BASE, "PA", "T")
    state = room.resolve(
        {**common, **room.state("J1", "KICK")}, {**common, **room.state("J2", "IMC")}
    )
    assert state[(MEMBER, ALICE)] == room.id("J1")
    assert state[(MEMBER, CHARLIE)] == room.id("KICK")
