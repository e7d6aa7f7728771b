"""Relations across two Chatly servers: a thread reply, a reaction and an
edit sent on one server show in the other server's aggregations and
/relations, and an invalid edit from the other server is stored but never
bundled (tests/interop has threads with Synapse)."""

from __future__ import annotations

from tests.federation.pair import FederationPair
from tests.relations.helpers import (
    bundled,
    edit,
    react,
    relations,
    reply_in_thread,
    threads,
)


def test_remote_thread_reaction_and_edit_are_aggregated(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    room_id = bob.create_room(preset="public_chat")
    assert alice.join_via(room_id, "b.test").code == 200
    pair.pump(1)
    root = bob.send(room_id, "root on b")
    pair.pump(1)
    mine = alice.send(room_id, "alice's message")
    reply = reply_in_thread(alice, room_id, root, "reply from a")
    reaction = react(alice, room_id, root, "👍", expect=200).json["event_id"]
    a.advance(1)
    fix = edit(alice, room_id, mine, "alice's message, fixed", expect=200).json[
        "event_id"
    ]
    pair.pump(1)
    # On b.test, bob sees a.test's relations.
    root_on_b = bundled(bob.event(room_id, root).json)
    assert root_on_b["m.thread"]["count"] == 1
    assert root_on_b["m.thread"]["latest_event"]["event_id"] == reply
    assert root_on_b["m.thread"]["current_user_participated"] is True
    listed = relations(bob, room_id, root, "m.annotation").json["chunk"]
    assert [e["event_id"] for e in listed] == [reaction]
    assert bundled(bob.event(room_id, mine).json)["m.replace"]["event_id"] == fix
    chunk = threads(bob, room_id).json["chunk"]
    assert [e["event_id"] for e in chunk] == [root]
    # bob's own server refuses his duplicate reaction; a.test's reaction
    # does not count against him.
    react(bob, room_id, root, "👍", expect=200)
    assert react(bob, room_id, root, "👍").json["errcode"] == "M_DUPLICATE_ANNOTATION"
    # A redaction on a.test removes the reaction on b.test too.
    alice.put(f"/rooms/{room_id}/redact/{reaction}/r1", {}, expect=200)
    pair.pump(1)
    listed = relations(bob, room_id, root, "m.annotation").json["chunk"]
    assert reaction not in [e["event_id"] for e in listed]


def test_invalid_remote_edit_is_never_bundled(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    room_id = bob.create_room(preset="public_chat")
    assert alice.join_via(room_id, "b.test").code == 200
    pair.pump(1)
    root = bob.send(room_id, "bob's words")
    pair.pump(1)
    # a.test's event creation itself does not check relations (a server
    # that does not, as Synapse at send time): alice "edits" bob's message.
    content = {
        "msgtype": "m.text",
        "body": "* hijacked",
        "m.new_content": {"msgtype": "m.text", "body": "hijacked"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": root},
    }
    forged = a.get_success(
        a.hs.rooms.event_creation.send(
            room_id, alice.user_id, "m.room.message", content
        )
    )
    pair.pump(1)
    assert bob.event(room_id, forged.event_id).code == 200
    served = bob.event(room_id, root).json
    assert "m.replace" not in bundled(served)
    assert served["content"]["body"] == "bob's words"


def test_a_relation_naming_another_rooms_event_counts_nowhere(
    pair: FederationPair,
) -> None:
    """A thread reply and a reference sent (by a server that does not check)
    into a shared room, naming an event of bob's private room, change neither
    that event's aggregations nor the shared room's thread list."""
    a, b = pair.a, pair.b
    alice = a.user("alice")
    bob = b.user("bob")
    shared = bob.create_room(preset="public_chat")
    assert alice.join_via(shared, "b.test").code == 200
    pair.pump(1)
    private = bob.create_room()
    secret = bob.send(private, "private root")
    for rel_type in ("m.thread", "m.reference"):
        content = {
            "msgtype": "m.text",
            "body": "elsewhere",
            "m.relates_to": {"rel_type": rel_type, "event_id": secret},
        }
        a.get_success(
            a.hs.rooms.event_creation.send(
                shared, alice.user_id, "m.room.message", content
            )
        )
    pair.pump(1)
    assert bundled(bob.event(private, secret).json) == {}
    assert threads(bob, shared).json["chunk"] == []
    assert relations(bob, private, secret).json["chunk"] == []
