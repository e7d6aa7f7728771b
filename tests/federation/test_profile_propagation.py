"""A local user's display name and avatar change reaches the other server:
its users see the new member event in their timeline and in
/joined_members (Chatly with Chatly; tests/interop has it with Synapse)."""

from __future__ import annotations

from tests.federation.pair import FederationPair
from tests.support import timeline


def test_profile_change_reaches_the_other_server(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    room_id = bob.create_room(preset="public_chat")
    assert alice.join_via(room_id, "b.test").code == 200
    pair.pump(1)
    since = bob.sync()["next_batch"]
    alice.put(
        f"/profile/{alice.user_id}/displayname", {"displayname": "Alice A."}, expect=200
    )
    alice.put(
        f"/profile/{alice.user_id}/avatar_url",
        {"avatar_url": "mxc://a.test/face"},
        expect=200,
    )
    pair.pump(1)
    members = [
        e
        for e in timeline(bob.sync(since), room_id)
        if e["type"] == "m.room.member" and e["state_key"] == alice.user_id
    ]
    assert [e["content"].get("displayname") for e in members] == [
        "Alice A.",
        "Alice A.",
    ]
    assert members[-1]["content"]["avatar_url"] == "mxc://a.test/face"
    assert members[0]["unsigned"]["prev_content"]["membership"] == "join"
    joined = bob.get(f"/rooms/{room_id}/joined_members", expect=200).json["joined"]
    assert joined[alice.user_id] == {
        "display_name": "Alice A.",
        "avatar_url": "mxc://a.test/face",
    }
    # The other direction: bob's change reaches alice's server.
    bob.put(f"/profile/{bob.user_id}/displayname", {"displayname": "Bob B."})
    pair.pump(1)
    joined = alice.get(f"/rooms/{room_id}/joined_members", expect=200).json["joined"]
    assert joined[bob.user_id]["display_name"] == "Bob B."
