"""Hand-made event DAGs for the state resolution tests.

Two helpers:

- :class:`Room` builds events one by one with explicit ``auth_events``,
  ``prev_events``, depth and timestamp, for tests that pin down the graph.
- :func:`play` replays a Synapse-style scenario (nodes plus chains of
  ``prev_events`` edges), computing the state before each event by resolving
  its prev events' states and choosing its auth events from that state, as
  ``synapse/tests/state/test_v2.py`` does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from homeserver.events.auth_rules import auth_types_for_event
from homeserver.events.model import Event, EventTypes, StateKey
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS, EventIdFormat
from homeserver.state import resolve_state

ALICE = "@alice:example.com"
BOB = "@bob:example.com"
CHARLIE = "@charlie:example.com"
EVELYN = "@evelyn:example.com"
ZARA = "@zara:example.com"

JOIN = {"membership": "join"}
LEAVE = {"membership": "leave"}
BAN = {"membership": "ban"}
INVITE = {"membership": "invite"}

StateMap = dict[StateKey, str]


class Room:
    """A room whose events a test adds by hand.

    Args:
        version: the room version identifier.
        room_id: the room ID (for v12, derived from the create event instead).
    """

    def __init__(self, version: str = "10", room_id: str = "!room:example.com") -> None:
        self.version = KNOWN_ROOM_VERSIONS[version]
        self.room_id = room_id
        self.events: dict[str, Event] = {}
        self._clock = itertools.count(1)

    def id(self, node: str) -> str:
        """The event ID of a node name."""
        return f"${node}:example.com"

    def add(
        self,
        node: str,
        event_type: str,
        sender: str,
        content: Mapping[str, Any],
        state_key: str | None = None,
        *,
        auth: Iterable[str] = (),
        prev: Iterable[str] = (),
        ts: int | None = None,
        depth: int | None = None,
        rejected: bool = False,
    ) -> Event:
        """Add an event; ``auth`` and ``prev`` name earlier nodes."""
        event_id = self.id(node)
        auth_ids = [self.id(n) for n in auth]
        prev_ids = [self.id(n) for n in prev]
        if depth is None:
            depth = 1 + max((self.events[p].depth for p in prev_ids), default=0)
        pdu: dict[str, Any] = {
            "type": event_type,
            "sender": sender,
            "content": dict(content),
            "auth_events": self._refs(auth_ids),
            "prev_events": self._refs(prev_ids),
            "depth": depth,
            "origin_server_ts": next(self._clock) if ts is None else ts,
        }
        if state_key is not None:
            pdu["state_key"] = state_key
        if self.version.room_id_is_create_hash:
            if event_type == EventTypes.CREATE:
                self.room_id = "!" + event_id[1:]
            else:
                pdu["room_id"] = self.room_id
        else:
            pdu["room_id"] = self.room_id
        if self.version.event_id_format is EventIdFormat.V1:
            pdu["event_id"] = event_id
        event = Event(
            pdu=pdu,
            room_version=self.version,
            event_id=event_id,
            rejected_reason="auth" if rejected else None,
        )
        self.events[event_id] = event
        return event

    def _refs(self, event_ids: list[str]) -> list[Any]:
        if self.version.event_id_format is EventIdFormat.V1:
            return [[e, {}] for e in event_ids]
        return list(event_ids)

    def state(self, *nodes: str) -> StateMap:
        """A state map holding the given nodes' events."""
        return {self.events[self.id(n)].state_tuple: self.id(n) for n in nodes}

    def resolve(self, *states: StateMap, **kwargs: Any) -> StateMap:
        """Resolve states with the room's algorithm."""
        return resolve_state(self.version, list(states), self.events, **kwargs)


@attrs.frozen
class Node:
    """One event of a scenario, before its DAG position is known."""

    name: str
    sender: str
    type: str
    state_key: str | None
    content: Mapping[str, Any] = attrs.field(factory=dict)


INITIAL_NODES = [
    Node("CREATE", ALICE, EventTypes.CREATE, "", {"creator": ALICE}),
    Node("IMA", ALICE, EventTypes.MEMBER, ALICE, JOIN),
    Node("IPOWER", ALICE, EventTypes.POWER_LEVELS, "", {"users": {ALICE: 100}}),
    Node("IJR", ALICE, EventTypes.JOIN_RULES, "", {"join_rule": "public"}),
    Node("IMB", BOB, EventTypes.MEMBER, BOB, JOIN),
    Node("IMC", CHARLIE, EventTypes.MEMBER, CHARLIE, JOIN),
    Node("IMZ", ZARA, EventTypes.MEMBER, ZARA, JOIN),
    Node("START", ZARA, EventTypes.MESSAGE, None),
    Node("END", ZARA, EventTypes.MESSAGE, None),
]
INITIAL_EDGES = ["START", "IMZ", "IMC", "IMB", "IJR", "IPOWER", "IMA", "CREATE"]


@attrs.define
class Played:
    """The outcome of :func:`play`."""

    room: Room
    state_after: dict[str, StateMap]

    def changed_state(self, expected_nodes: Sequence[str]) -> StateMap:
        """The state at END, limited to keys changed since START or expected."""
        start, end = self.state_after["START"], self.state_after["END"]
        expected_keys = {
            self.room.events[self.room.id(n)].state_tuple for n in expected_nodes
        }
        return {
            key: value
            for key, value in end.items()
            if key in expected_keys or start.get(key) != value
        }


def play(
    nodes: Sequence[Node], edges: Sequence[Sequence[str]], version: str = "10"
) -> Played:
    """Replay a scenario: each chain ``[A, B, C]`` means A's prev is B, B's is C.

    Events are created in topological order (ties by name), each timestamped one
    after the last, with the state before it resolved from its prev events and
    its auth events picked from that state.
    """
    all_nodes = {n.name: n for n in itertools.chain(INITIAL_NODES, nodes)}
    prevs: dict[str, set[str]] = {name: set() for name in all_nodes}
    for chain in [INITIAL_EDGES, *edges]:
        for later, earlier in itertools.pairwise(chain):
            prevs[later].add(earlier)
    room = Room(version)
    state_after: dict[str, StateMap] = {}
    for name in _topological(prevs):
        node = all_nodes[name]
        before = _state_before(room, [state_after[p] for p in sorted(prevs[name])])
        wanted = auth_types_for_event(
            room.version, node.type, node.state_key, node.sender, dict(node.content)
        )
        auth = [room.events[before[k]] for k in wanted if k in before]
        event = room.add(
            name,
            node.type,
            node.sender,
            node.content,
            node.state_key,
            auth=[_node_name(room, e.event_id) for e in auth],
            prev=sorted(prevs[name]),
        )
        after = dict(before)
        if event.is_state():
            after[event.state_tuple] = event.event_id
        state_after[name] = after
    return Played(room, state_after)


def _state_before(room: Room, prev_states: list[StateMap]) -> StateMap:
    if not prev_states:
        return {}
    if len(prev_states) == 1:
        return dict(prev_states[0])
    return room.resolve(*prev_states)


def _node_name(room: Room, event_id: str) -> str:
    return event_id[1:].removesuffix(":example.com")


def _topological(prevs: Mapping[str, set[str]]) -> list[str]:
    """Earliest first; among ready nodes, the smallest name."""
    done: list[str] = []
    remaining = {name: set(p) for name, p in prevs.items()}
    while remaining:
        ready = min(name for name, p in remaining.items() if not p)
        done.append(ready)
        del remaining[ready]
        for p in remaining.values():
            p.discard(ready)
    return done
