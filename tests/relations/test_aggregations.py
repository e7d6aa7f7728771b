"""Bundled aggregations in unsigned["m.relations"] wherever events are served."""

from __future__ import annotations

from tests.relations.helpers import (
    bundled,
    edit,
    react,
    reference,
    relations,
    reply_in_thread,
    served_everywhere,
)
from tests.support import Room
from tests.support.server import TestServer


def test_edit_is_bundled_and_content_left_alone(server: TestServer, room: Room) -> None:
    root = room.events[0]
    server.advance(1)
    edit(room.alice, room.id, root, "first fix", expect=200)
    server.advance(1)
    latest = edit(room.alice, room.id, root, "second fix", expect=200).json["event_id"]
    for event in served_everywhere(room, root):
        replace = bundled(event)["m.replace"]
        assert replace["event_id"] == latest
        assert replace["sender"] == room.alice.user_id
        assert replace["content"]["m.new_content"]["body"] == "second fix"
        # Spec v1.7+ (MSC3925): the original's content is served unchanged.
        assert event["content"]["body"] == "root"
    # Redacting the latest edit brings the earlier one back.
    room.alice.put(f"/rooms/{room.id}/redact/{latest}/r1", {}, expect=200)
    replace = bundled(room.alice.event(room.id, root).json)["m.replace"]
    assert replace["content"]["m.new_content"]["body"] == "first fix"
    # A redacted original bundles no edit at all.
    room.alice.put(f"/rooms/{room.id}/redact/{root}/r2", {}, expect=200)
    assert "m.replace" not in bundled(room.alice.event(room.id, root).json)


def test_thread_summary(server: TestServer, room: Room) -> None:
    root = room.events[0]
    carol = server.user("carol")
    carol.join(room.id)
    reply_in_thread(room.bob, room.id, root, "one")
    last = reply_in_thread(room.bob, room.id, root, "two")
    server.advance(1)
    fix = edit(room.bob, room.id, last, "two (fixed)", expect=200).json["event_id"]
    for event in served_everywhere(room, root):
        thread = bundled(event)["m.thread"]
        assert thread["count"] == 2
        assert thread["current_user_participated"] is True  # alice sent the root
        assert thread["latest_event"]["event_id"] == last
        # The latest event carries its own edits.
        assert bundled(thread["latest_event"])["m.replace"]["event_id"] == fix
    # Inside /sync's rooms, the bundled events carry no room_id either.
    synced = room.alice.sync()["rooms"]["join"][room.id]["timeline"]["events"]
    (synced_root,) = [e for e in synced if e["event_id"] == root]
    assert "room_id" not in bundled(synced_root)["m.thread"]["latest_event"]
    carols = bundled(carol.event(room.id, root).json)["m.thread"]
    assert carols["current_user_participated"] is False
    # A redacted thread reply drops out of the count and the latest event.
    room.bob.put(f"/rooms/{room.id}/redact/{last}/r1", {}, expect=200)
    thread = bundled(room.alice.event(room.id, root).json)["m.thread"]
    assert thread["count"] == 1
    assert thread["latest_event"]["content"]["body"] == "one"


def test_references_bundled_reactions_not(server: TestServer, room: Room) -> None:
    root = room.events[0]
    one = reference(room.bob, room.id, root, "one")
    two = reference(room.alice, room.id, root, "two")
    reaction = react(room.bob, room.id, root, "👍", expect=200).json["event_id"]
    for event in served_everywhere(room, root):
        rels = bundled(event)
        assert rels["m.reference"] == {"chunk": [{"event_id": one}, {"event_id": two}]}
        # Spec v1.19 defines no aggregation for annotations.
        assert "m.annotation" not in rels
    room.bob.put(f"/rooms/{room.id}/redact/{one}/r1", {}, expect=200)
    rels = bundled(room.alice.event(room.id, root).json)
    assert rels["m.reference"] == {"chunk": [{"event_id": two}]}
    # The reaction is listed by /relations until it is redacted.
    listed = relations(room.alice, room.id, root, "m.annotation").json["chunk"]
    assert [e["event_id"] for e in listed] == [reaction]
    room.bob.put(f"/rooms/{room.id}/redact/{reaction}/r2", {}, expect=200)
    assert relations(room.alice, room.id, root, "m.annotation").json["chunk"] == []


def test_relations_chunk_is_bundled_too(server: TestServer, room: Room) -> None:
    root = room.events[0]
    reply = reply_in_thread(room.bob, room.id, root, "reply")
    server.advance(1)
    fix = edit(room.bob, room.id, reply, "reply!", expect=200).json["event_id"]
    chunk = relations(room.alice, room.id, root, "m.thread").json["chunk"]
    assert [e["event_id"] for e in chunk] == [reply]
    assert bundled(chunk[0])["m.replace"]["event_id"] == fix


def test_state_events_get_no_aggregation(server: TestServer, room: Room) -> None:
    topic = room.alice.put_state(room.id, "m.room.topic", {"topic": "t"}).json
    event = room.alice.event(room.id, topic["event_id"]).json
    assert "m.relations" not in event.get("unsigned", {})
