"""Walks of the auth-event graph used by state resolution.

Spec: rooms/fragments/v2-state-res.md "Auth chain", "Auth difference";
rooms/v12.md "Conflicted state subgraph". Pure: no I/O.

All walks are iterative (rooms have deep auth chains) and linear in the number of
events and edges visited. Events missing from the event map are skipped: the walk
cannot go through them, and they never appear in a result.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from homeserver.state.lookups import EventMap, StateMap


def auth_chain(event_ids: Iterable[str], event_map: EventMap) -> set[str]:
    """The union of the auth chains of the given events.

    The auth chain of an event is every event reachable through ``auth_events``
    links; it does not contain the event itself (unless another of the given
    events reaches it).

    Args:
        event_ids: the events to start from.
        event_map: the events we know.

    Returns:
        The IDs of the events reached.
    """
    chain: set[str] = set()
    stack: list[str] = []
    for event_id in event_ids:
        event = event_map.get(event_id)
        if event is not None:
            stack.extend(event.auth_event_ids)
    while stack:
        event_id = stack.pop()
        if event_id in chain:
            continue
        event = event_map.get(event_id)
        if event is None:
            continue
        chain.add(event_id)
        stack.extend(a for a in event.auth_event_ids if a not in chain)
    return chain


def auth_difference(state_sets: Sequence[StateMap], event_map: EventMap) -> set[str]:
    """The auth difference of some room states.

    With C_i the full auth chain of state S_i (the union of the auth chains of its
    events), this is the union of the C_i minus their intersection.

    Args:
        state_sets: the states being resolved.
        event_map: the events we know.

    Returns:
        The IDs of the events in some, but not all, of the full auth chains.
    """
    if len(state_sets) < 2:
        return set()
    chains = [auth_chain(state.values(), event_map) for state in state_sets]
    return set().union(*chains) - chains[0].intersection(*chains[1:])


def conflicted_subgraph(conflicted: Collection[str], event_map: EventMap) -> set[str]:
    """The conflicted state subgraph (state resolution v2.1, room v12).

    It is the union of every ``auth_events`` path that starts at one event of the
    conflicted state set and ends at another, endpoints included. An event lies
    on such a path exactly when it is in the auth chain of a conflicted event and
    a conflicted event is in its auth chain (or it is one). All the conflicted
    events themselves are returned too: they are in the full conflicted set
    anyway, so this changes nothing and saves a check.

    Args:
        conflicted: the conflicted state set.
        event_map: the events we know.

    Returns:
        The IDs of the events in the subgraph.
    """
    starts = {event_id for event_id in conflicted if event_id in event_map}
    below = auth_chain(starts, event_map)
    # Reverse the edges among the events below a conflicted event; an event that
    # cites one of them but is not below a conflicted event cannot be on a path.
    cited_by: dict[str, list[str]] = {}
    for event_id in below:
        for auth_id in event_map[event_id].auth_event_ids:
            if auth_id in below:
                cited_by.setdefault(auth_id, []).append(event_id)
    subgraph = set(starts)
    stack = list(starts)
    while stack:
        for citer in cited_by.get(stack.pop(), ()):
            if citer not in subgraph:
                subgraph.add(citer)
                stack.append(citer)
    return subgraph
