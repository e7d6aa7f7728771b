"""Property tests of state resolution on randomly forked rooms.

A room is grown one event at a time, each on top of the state after a randomly
chosen earlier event, so the history is a tree of forks. Each event cites the
auth events the state before it gives, is checked against that state, and is
marked rejected (leaving the state alone) if not allowed, as a server would.
Timestamps come from a small range so ties happen.

What holds, for v1, v2 and v2.1 alike unless said otherwise:

- the result does not depend on the order of the state sets, nor on repeating
  one; it is a pure function of its inputs;
- one state set, or identical ones, resolve to that set;
- every key on which all sets agree keeps that event (the unconflicted state
  map always wins);
- every resolved value is an event of an input set (v1), or of an input set or
  the full conflicted set (v2: the auth difference too, v2.1: also the
  conflicted state subgraph), filed under its own ``(type, state_key)``.

Not a property: "every resolved value comes from an input state". In v2, an
event from the auth difference can win a conflicted key (e.g. an older power
levels event when both forks' newer ones fail), so that is what we check.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homeserver.events.auth_rules import (
    AuthError,
    auth_types_for_event,
    check_auth_rules,
)
from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.events.room_versions import StateResAlgorithm
from homeserver.state import resolve_state
from homeserver.state.auth_chain import auth_difference, conflicted_subgraph
from homeserver.state.lookups import CREATE_KEY
from homeserver.state.resolution_v2 import separate
from tests.state.dag import ALICE, BOB, CHARLIE, EVELYN, JOIN, Room

StateMap = dict[StateKey, str]
DAVE = "@dave:example.com"
PEOPLE = [ALICE, BOB, CHARLIE, DAVE, EVELYN]
PL = EventTypes.POWER_LEVELS
MEMBER = EventTypes.MEMBER


class Forks:
    """A room plus the state after each of its events."""

    def __init__(self, version: str) -> None:
        self.room = Room(version)
        self.states: list[StateMap] = [{}]
        self.count = 0

    def add(
        self,
        parent: int,
        event_type: str,
        sender: str,
        content: dict[str, Any],
        state_key: str,
        ts: int,
    ) -> None:
        before = self.states[parent]
        room = self.room
        wanted = auth_types_for_event(
            room.version, event_type, state_key, sender, content
        )
        auth_ids = [before[k] for k in wanted if k in before]
        self.count += 1
        node = f"E{self.count}"
        prev = [] if not before else [max(before.values(), key=_event_number)]
        event = room.add(
            node,
            event_type,
            sender,
            content,
            state_key,
            auth=[_node(e) for e in auth_ids],
            prev=[_node(e) for e in prev],
            ts=ts,
        )
        after = dict(before)
        if self._allowed(event, before):
            after[event.state_tuple] = event.event_id
        else:
            event.rejected_reason = "auth"
        self.states.append(after)

    def _allowed(self, event: Event, before: StateMap) -> bool:
        auth = {k: self.room.events[v] for k, v in before.items()}
        if self.states[1:]:
            auth[CREATE_KEY] = self.room.events[self.states[1][CREATE_KEY]]
        try:
            check_auth_rules(event, auth)
        except AuthError:
            return False
        return True


def _node(event_id: str) -> str:
    return event_id[1:].removesuffix(":example.com")


def _event_number(event_id: str) -> int:
    return int(_node(event_id)[1:])


@st.composite
def forked_rooms(draw: st.DrawFn, version: str) -> tuple[Forks, list[StateMap]]:
    forks = Forks(version)
    v12 = version == "12"
    forks.add(0, EventTypes.CREATE, ALICE, {"creator": ALICE}, "", ts=0)
    forks.add(1, MEMBER, ALICE, JOIN, ALICE, ts=0)
    levels = {"users": {} if v12 else {ALICE: 100}, "events_default": 0}
    forks.add(2, PL, ALICE, levels, "", ts=0)
    forks.add(3, EventTypes.JOIN_RULES, ALICE, {"join_rule": "public"}, "", ts=0)
    forks.add(4, MEMBER, BOB, JOIN, BOB, ts=0)
    for _ in range(draw(st.integers(1, 18))):
        parent = draw(st.integers(4, len(forks.states) - 1))
        sender = draw(st.sampled_from(PEOPLE))
        event_type, content, state_key = draw(_action(sender, v12))
        forks.add(
            parent, event_type, sender, content, state_key, draw(st.integers(1, 4))
        )
    picks = draw(
        st.lists(st.integers(5, len(forks.states) - 1), min_size=2, max_size=3)
    )
    return forks, [forks.states[i] for i in picks]


@st.composite
def _action(draw: st.DrawFn, sender: str, v12: bool) -> tuple[str, dict[str, Any], str]:
    kind = draw(
        st.sampled_from(["topic", "power", "rules", "join", "leave", "kick", "ban"])
    )
    target = draw(st.sampled_from(PEOPLE))
    if kind == "topic":
        return EventTypes.TOPIC, {"topic": draw(st.text(max_size=2))}, ""
    if kind == "power":
        levels = {p: draw(st.sampled_from([0, 50, 100])) for p in PEOPLE[1:4]}
        users = levels if v12 else {ALICE: 100, **levels}
        return PL, {"users": users, "events_default": 0}, ""
    if kind == "rules":
        return (
            EventTypes.JOIN_RULES,
            {"join_rule": draw(st.sampled_from(["public", "invite"]))},
            "",
        )
    if kind in ("join", "leave"):
        return MEMBER, {"membership": kind}, sender
    return MEMBER, {"membership": "leave" if kind == "kick" else "ban"}, target


VERSIONS = st.sampled_from(["1", "10", "12"])
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def resolve(forks: Forks, states: list[StateMap], **kwargs: Any) -> StateMap:
    return resolve_state(forks.room.version, states, forks.room.events, **kwargs)


@SETTINGS
@given(data=st.data(), version=VERSIONS)
def test_order_and_repetition_of_state_sets_do_not_matter(
    data: st.DataObject, version: str
) -> None:
    forks, states = data.draw(forked_rooms(version))
    expected = resolve(forks, states)
    assert resolve(forks, states[::-1]) == expected
    assert resolve(forks, [*states, states[0]]) == expected
    shuffled = data.draw(st.permutations(states))
    assert resolve(forks, list(shuffled)) == expected


@SETTINGS
@given(data=st.data(), version=VERSIONS)
def test_one_state_resolves_to_itself(data: st.DataObject, version: str) -> None:
    forks, states = data.draw(forked_rooms(version))
    assert resolve(forks, [states[0]]) == states[0]
    assert resolve(forks, [states[0], dict(states[0])]) == states[0]


@SETTINGS
@given(data=st.data(), version=VERSIONS)
def test_unconflicted_state_wins_and_values_come_from_the_inputs(
    data: st.DataObject, version: str
) -> None:
    forks, states = data.draw(forked_rooms(version))
    events = forks.room.events
    result = resolve(forks, states)
    unconflicted, conflicted = separate(states)
    assert result.items() >= unconflicted.items()
    allowed = {v for s in states for v in s.values()}
    algorithm = forks.room.version.state_res
    if algorithm is not StateResAlgorithm.V1:
        allowed |= auth_difference(states, events)
    if algorithm is StateResAlgorithm.V2_1:
        allowed |= conflicted_subgraph(conflicted, events)
    for key, event_id in result.items():
        assert event_id in allowed
        assert events[event_id].state_tuple == key


@SETTINGS
@given(data=st.data(), version=st.sampled_from(["10", "12"]))
def test_given_auth_difference_matches_computed(
    data: st.DataObject, version: str
) -> None:
    forks, states = data.draw(forked_rooms(version))
    difference = auth_difference(states, forks.room.events)
    assert resolve(forks, states, auth_difference=difference) == resolve(forks, states)
