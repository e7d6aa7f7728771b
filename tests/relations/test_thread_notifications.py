"""unread_thread_notifications in /sync: thread replies counted per thread
root, out of the main timeline's count, read by threaded receipts."""

from __future__ import annotations

from typing import Any

from tests.relations.helpers import reply_in_thread
from tests.support.server import TestServer

THREADED = {"room": {"timeline": {"unread_thread_notifications": True}}}


def room_body(user: Any, room_id: str, **params: Any) -> dict[str, Any]:
    return dict(user.sync(**params)["rooms"]["join"][room_id])


def test_unread_thread_notifications(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    root = alice.send(room_id, "root")
    bob.send(room_id, "m1")
    reply_in_thread(bob, room_id, root, "t1")
    t2 = reply_in_thread(bob, room_id, root, "t2")
    reply_in_thread(bob, room_id, root, "t3")
    m2 = bob.send(room_id, "m2")
    plain = room_body(alice, room_id)
    assert plain["unread_notifications"]["notification_count"] == 5
    assert "unread_thread_notifications" not in plain
    threaded = room_body(alice, room_id, filter=THREADED)
    assert threaded["unread_notifications"]["notification_count"] == 2
    assert threaded["unread_thread_notifications"] == {
        root: {"notification_count": 3, "highlight_count": 0}
    }
    # A receipt in the thread reads the thread up to there, not the room.
    alice.post(f"/rooms/{room_id}/receipt/m.read/{t2}", {"thread_id": root}, expect=200)
    threaded = room_body(alice, room_id, filter=THREADED)
    assert threaded["unread_notifications"]["notification_count"] == 2
    assert threaded["unread_thread_notifications"][root]["notification_count"] == 1
    # A "main" receipt reads the main timeline only.
    alice.post(
        f"/rooms/{room_id}/receipt/m.read/{m2}", {"thread_id": "main"}, expect=200
    )
    threaded = room_body(alice, room_id, filter=THREADED)
    assert threaded["unread_notifications"]["notification_count"] == 0
    assert threaded["unread_thread_notifications"][root]["notification_count"] == 1
    # An unthreaded receipt reads everything before it.
    alice.post(f"/rooms/{room_id}/receipt/m.read/{m2}", {}, expect=200)
    threaded = room_body(alice, room_id, filter=THREADED)
    assert threaded["unread_notifications"]["notification_count"] == 0
    assert threaded["unread_thread_notifications"] == {}
