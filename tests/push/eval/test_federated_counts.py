"""Events received over federation are evaluated too: counts and highlights
on both servers of a room shared by two Chatly servers, and an invite from
another server to a room this one is not in (an out-of-band membership, kept
as an outlier) notifies the invitee, as Synapse's does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.federation.pair import Federation, FederationPair
from tests.push.eval.helpers import counts, mention, read
from tests.push.eval.test_notifications import notifications
from tests.push.pushers.kit import PushHarness


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


def test_an_invite_from_another_server_notifies(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    room_id = bob.create_room(preset="private_chat", name="Over there")
    bob.invite(room_id, alice.user_id)
    pair.pump(1)
    [entry] = notifications(alice)["notifications"]
    assert entry["room_id"] == room_id and entry["read"] is False
    assert entry["event"]["type"] == "m.room.member"
    assert entry["event"]["state_key"] == alice.user_id
    assert entry["actions"] == ["notify", {"set_tweak": "sound", "value": "default"}]
    # The invite is in her sync as usual; accepting it works as usual.
    assert room_id in alice.sync()["rooms"]["invite"]
    assert alice.join_via(room_id, "b.test").code == 200
    pair.pump(1)
    bob.send(room_id, "welcome")
    pair.pump(1)
    assert counts(alice, room_id) == (1, 0)


def test_an_invite_from_another_server_is_pushed(
    make_federation: Callable[[], Federation],
) -> None:
    federation = make_federation()

    def server_a(overrides: dict[str, Any], **kwargs: Any) -> Any:
        return federation.add_server("a.test", overrides, **kwargs)

    harness = PushHarness(server_a)
    try:
        b = federation.add_server("b.test")
        alice = harness.server.user("alice")
        harness.set_pusher(alice)
        bob = b.user("bob")
        room_id = bob.create_room(preset="private_chat")
        bob.invite(room_id, alice.user_id)
        harness.pump(lambda: len(harness.gateway.delivered()) == 1, advance=0.1)
        [pushed] = harness.gateway.delivered()
        assert pushed["room_id"] == room_id and pushed["sender"] == bob.user_id
        assert pushed["type"] == "m.room.member" and pushed["user_is_target"] is True
        assert pushed["membership"] == "invite" and pushed["prio"] == "high"
    finally:
        harness.close()
