"""Bundled aggregations after an event was served without any: the relations
store remembers parents found childless (``ChildlessParents``), and a child
persisted later must show at once, wherever the parent is served."""

from __future__ import annotations

from tests.relations.helpers import (
    bundled,
    edit,
    reference,
    reply_in_thread,
    served_everywhere,
)
from tests.support import Room
from tests.support.server import TestServer


def test_children_sent_after_the_parent_was_served_are_bundled(
    server: TestServer, room: Room
) -> None:
    root = room.events[0]
    for event in served_everywhere(room, root):
        assert bundled(event) == {}
    server.advance(1)
    latest = edit(room.alice, room.id, root, "fixed", expect=200).json["event_id"]
    for event in served_everywhere(room, root):
        assert bundled(event)["m.replace"]["event_id"] == latest
    ref = reference(room.bob, room.id, root, "see")
    reply = reply_in_thread(room.bob, room.id, root, "in thread")
    for event in served_everywhere(room, root):
        relations = bundled(event)
        assert relations["m.reference"]["chunk"] == [{"event_id": ref}]
        assert relations["m.thread"]["count"] == 1
        assert relations["m.thread"]["latest_event"]["event_id"] == reply


def test_an_edit_of_a_thread_reply_served_nested_is_bundled(
    server: TestServer, room: Room
) -> None:
    root = room.events[0]
    reply = reply_in_thread(room.bob, room.id, root, "first")
    # The reply is served nested (as the thread's latest event): only its
    # edits and references are looked up then.
    latest = bundled(room.alice.event(room.id, root).json)["m.thread"]["latest_event"]
    assert latest["event_id"] == reply and bundled(latest) == {}
    server.advance(1)
    fix = edit(room.bob, room.id, reply, "fixed", expect=200).json["event_id"]
    latest = bundled(room.alice.event(room.id, root).json)["m.thread"]["latest_event"]
    assert bundled(latest)["m.replace"]["event_id"] == fix
