"""Events received over federation are evaluated too: counts and highlights
on both servers of a room shared by two Chatly servers."""

from __future__ import annotations

from tests.federation.pair import FederationPair
from tests.push.eval.helpers import counts, mention, read


def test_remote_events_count_and_highlight(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    carol = b.user("carol")
    room_id = bob.create_room(preset="public_chat")
    carol.join(room_id)
    assert alice.join_via(room_id, "b.test").code == 200
    pair.pump(1)
    # From a.test to b.test: a mention of carol highlights for her only.
    mention(alice, room_id, "carol, hi", carol.user_id)
    pair.pump(1)
    assert counts(carol, room_id) == (1, 1)
    assert counts(bob, room_id) == (1, 0)
    # From b.test to a.test (the room's state came with the join).
    last = mention(bob, room_id, "alice!", alice.user_id)
    bob.send(room_id, "and more")
    pair.pump(1)
    assert counts(alice, room_id) == (2, 1)
    read(alice, room_id, last)
    assert counts(alice, room_id) == (1, 0)
