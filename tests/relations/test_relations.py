"""GET /v1/rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]] and the
checks on sent relations (reactions, edits, threads)."""

from __future__ import annotations

from tests.relations.helpers import (
    bundled,
    edit,
    react,
    reference,
    relations,
    reply_in_thread,
)
from tests.support import Room
from tests.support.server import TestServer


def test_relations_lists_children_newest_first_with_pagination(
    server: TestServer, room: Room
) -> None:
    root = room.events[0]
    ids = [reference(room.bob, room.id, root, f"r{i}") for i in range(5)]
    body = relations(room.alice, room.id, root, limit=2).json
    assert [e["event_id"] for e in body["chunk"]] == [ids[4], ids[3]]
    assert "prev_batch" not in body
    second = relations(
        room.alice, room.id, root, limit=2, **{"from": body["next_batch"]}
    )
    assert [e["event_id"] for e in second.json["chunk"]] == [ids[2], ids[1]]
    assert second.json["prev_batch"] == body["next_batch"]
    third = relations(
        room.alice, room.id, root, limit=2, **{"from": second.json["next_batch"]}
    ).json
    assert [e["event_id"] for e in third["chunk"]] == [ids[0]]
    assert "next_batch" not in third
    forwards = relations(room.alice, room.id, root, dir="f").json
    assert [e["event_id"] for e in forwards["chunk"]] == ids


def test_relations_filters_by_rel_type_and_event_type(
    server: TestServer, room: Room
) -> None:
    root = room.events[0]
    reaction = react(room.bob, room.id, root, "👍", expect=200).json["event_id"]
    ref = reference(room.bob, room.id, root, "see above")
    thread = reply_in_thread(room.bob, room.id, root, "in thread")
    everything = relations(room.alice, room.id, root).json["chunk"]
    assert {e["event_id"] for e in everything} == {reaction, ref, thread}
    annotations = relations(room.alice, room.id, root, "m.annotation").json["chunk"]
    assert [e["event_id"] for e in annotations] == [reaction]
    typed = relations(room.alice, room.id, root, "m.annotation", "m.reaction").json
    assert [e["event_id"] for e in typed["chunk"]] == [reaction]
    other = relations(room.alice, room.id, root, "m.annotation", "m.room.message").json
    assert other["chunk"] == []
    assert "recursion_depth" not in other


def test_relations_recurse(server: TestServer, room: Room) -> None:
    root = room.events[0]
    thread = reply_in_thread(room.bob, room.id, root, "in thread")
    reaction = react(room.alice, room.id, thread, "🎉", expect=200).json["event_id"]
    flat = relations(room.alice, room.id, root).json
    assert [e["event_id"] for e in flat["chunk"]] == [thread]
    deep = relations(room.alice, room.id, root, recurse="true").json
    assert [e["event_id"] for e in deep["chunk"]] == [reaction, thread]
    assert deep["recursion_depth"] == 3


def test_relations_bad_requests(server: TestServer, room: Room) -> None:
    root = room.events[0]
    assert relations(room.alice, room.id, "$nope", expect=404).json["errcode"] == (
        "M_NOT_FOUND"
    )
    bad = relations(room.alice, room.id, root, expect=400, dir="x")
    assert bad.json["errcode"] == "M_INVALID_PARAM"
    bad = relations(room.alice, room.id, root, expect=400, **{"from": "garbage"})
    assert bad.json["errcode"] == "M_INVALID_PARAM"
    bad = relations(room.alice, room.id, root, expect=400, limit=-1)
    assert bad.json["errcode"] == "M_INVALID_PARAM"
    stranger = server.user("carol")
    private = room.alice.create_room()
    secret = room.alice.send(private, "secret")
    assert relations(stranger, private, secret, expect=403).json["errcode"] == (
        "M_FORBIDDEN"
    )
    # The relations endpoints exist only under v1.
    resp = room.alice.get(f"/rooms/{room.id}/relations/{root}")
    assert resp.code in (400, 404)


def test_relations_hide_history_the_user_may_not_see(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(
        preset="public_chat",
        initial_state=[
            {
                "type": "m.room.history_visibility",
                "state_key": "",
                "content": {"history_visibility": "joined"},
            }
        ],
    )
    root = alice.send(room_id, "root")
    early = reference(alice, room_id, root, "before bob")
    bob.join(room_id)
    late = reference(alice, room_id, root, "after bob")
    # Bob may not see the root, so not its relations either.
    relations(bob, room_id, root, expect=404)
    chunk = relations(alice, room_id, root).json["chunk"]
    assert [e["event_id"] for e in chunk] == [late, early]
    newer = alice.send(room_id, "after join")
    ref = reference(alice, room_id, newer, "ref")
    assert [e["event_id"] for e in relations(bob, room_id, newer).json["chunk"]] == [
        ref
    ]


def test_duplicate_reaction_is_refused(server: TestServer, room: Room) -> None:
    root = room.events[0]
    react(room.bob, room.id, root, "👍", expect=200)
    again = react(room.bob, room.id, root, "👍", expect=400)
    assert again.json["errcode"] == "M_DUPLICATE_ANNOTATION"
    # Another key, or another user, is fine.
    react(room.bob, room.id, root, "👎", expect=200)
    first = react(room.alice, room.id, root, "👍", expect=200).json["event_id"]
    # A redacted reaction may be sent again.
    room.alice.put(f"/rooms/{room.id}/redact/{first}/x1", {}, expect=200)
    react(room.alice, room.id, root, "👍", expect=200)
    missing = room.bob.send_event(
        room.id,
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": root}},
        "m.reaction",
        expect=400,
    )
    assert missing.json["errcode"] == "M_UNKNOWN"


def test_edits_are_checked(server: TestServer, room: Room) -> None:
    root = room.events[0]
    wrong_sender = edit(room.bob, room.id, root, "hijack", expect=400)
    assert wrong_sender.json["errcode"] == "M_BAD_JSON"
    wrong_type = edit(
        room.alice, room.id, root, "x", event_type="m.sticker", expect=400
    )
    assert wrong_type.json["errcode"] == "M_BAD_JSON"
    first = edit(room.alice, room.id, root, "fixed", expect=200).json["event_id"]
    of_edit = edit(room.alice, room.id, first, "again", expect=400)
    assert of_edit.json["errcode"] == "M_BAD_JSON"
    no_new_content = room.alice.send_event(
        room.id,
        {
            "body": "x",
            "msgtype": "m.text",
            "m.relates_to": {"rel_type": "m.replace", "event_id": root},
        },
        expect=400,
    )
    assert no_new_content.json["errcode"] == "M_BAD_JSON"
    topic = room.alice.put_state(room.id, "m.room.topic", {"topic": "t"}).json
    state_edit = edit(room.alice, room.id, topic["event_id"], "x", expect=400)
    assert state_edit.json["errcode"] == "M_BAD_JSON"
    other_room = room.alice.create_room()
    elsewhere = edit(room.alice, other_room, root, "x", expect=400)
    assert elsewhere.json["errcode"] == "M_UNKNOWN"
    unknown = react(room.alice, room.id, "$unknown:test", "x", expect=400)
    assert unknown.json["errcode"] == "M_UNKNOWN"


def test_no_thread_off_a_relation(server: TestServer, room: Room) -> None:
    root = room.events[0]
    reply = reply_in_thread(room.bob, room.id, root, "reply")
    resp = room.bob.send_event(
        room.id,
        {
            "msgtype": "m.text",
            "body": "x",
            "m.relates_to": {"rel_type": "m.thread", "event_id": reply},
        },
        expect=400,
    )
    assert resp.json["errcode"] == "M_UNKNOWN"
    assert "m.thread" in bundled(room.alice.event(room.id, root).json)
