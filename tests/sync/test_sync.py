"""GET /sync: initial, incremental, long-poll, sections and filters."""

from __future__ import annotations

from typing import Any

from tests.support import CLIENT, bodies
from tests.support.server import FakeResponse, TestServer


def test_initial_sync_shape(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(name="Lounge")
    alice.send_event(room_id, {"msgtype": "m.text", "body": "hello"})
    body = alice.sync()
    assert body["next_batch"].startswith("s")
    for key in (
        "rooms",
        "presence",
        "account_data",
        "to_device",
        "device_lists",
        "device_one_time_keys_count",
    ):
        assert key in body
    room = body["rooms"]["join"][room_id]
    assert bodies(room["timeline"]["events"]) == ["hello"]
    types = {e["type"] for e in room["timeline"]["events"] + room["state"]["events"]}
    assert {"m.room.create", "m.room.name", "m.room.member"} <= types
    assert room["summary"]["m.joined_member_count"] == 1
    assert "room_id" not in room["timeline"]["events"][0]
    assert room["unread_notifications"] == {
        "notification_count": 0,
        "highlight_count": 0,
    }


def test_incremental_sync_returns_only_new_events(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    other = alice.create_room()
    first = alice.sync()
    alice.send_event(room_id, {"msgtype": "m.text", "body": "new"})
    second = alice.sync(first["next_batch"])
    assert list(second["rooms"]["join"]) == [room_id]
    room = second["rooms"]["join"][room_id]
    assert bodies(room["timeline"]["events"]) == ["new"]
    assert room["timeline"]["limited"] is False
    assert room["state"]["events"] == []
    assert other not in second["rooms"]["join"]


def test_limited_timeline_and_prev_batch(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    first = alice.sync()
    for i in range(15):
        alice.send_event(room_id, {"msgtype": "m.text", "body": str(i)})
    room = alice.sync(first["next_batch"])["rooms"]["join"][room_id]
    assert bodies(room["timeline"]["events"]) == [str(i) for i in range(5, 15)]
    assert room["timeline"]["limited"] is True
    prev = room["timeline"]["prev_batch"]
    resp = alice.get(f"{CLIENT}/rooms/{room_id}/messages?dir=b&limit=5&from={prev}")
    assert [e["content"]["body"] for e in resp.json["chunk"]] == [
        "4",
        "3",
        "2",
        "1",
        "0",
    ]


def test_long_poll_wakes_when_another_user_sends(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.membership(room_id, "join")
    since = bob.sync()["next_batch"]
    pending = server.start_request(
        "GET", f"{CLIENT}/sync?since={since}&timeout=30000", bob.token
    )
    server.advance(1)
    assert not pending.done
    alice.send_event(room_id, {"msgtype": "m.text", "body": "ping"})
    assert pending.done
    body = pending.response().json
    assert bodies(body["rooms"]["join"][room_id]["timeline"]["events"]) == ["ping"]


def test_long_poll_ignores_rooms_the_user_is_not_in(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room()
    since = bob.sync()["next_batch"]
    pending = server.start_request(
        "GET", f"{CLIENT}/sync?since={since}&timeout=10000", bob.token
    )
    alice.send_event(room_id, {"msgtype": "m.text", "body": "secret"})
    assert not pending.done
    assert server.hs.core.notifier.listener_count() == 1
    server.advance(11)
    assert pending.done
    body = pending.response().json
    assert body["rooms"]["join"] == {}
    assert server.hs.core.notifier.listener_count() == 0


def test_invite_leave_and_reinvite_sections(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(name="Secret")
    since = bob.sync()["next_batch"]
    alice.membership(room_id, "invite", user_id=bob.user_id)
    body = bob.sync(since)
    invite = body["rooms"]["invite"][room_id]["invite_state"]["events"]
    assert {
        "type": "m.room.name",
        "state_key": "",
        "content": {"name": "Secret"},
        "sender": alice.user_id,
    } in invite
    assert invite[-1]["content"]["membership"] == "invite"
    # the inviter's membership (MSC4319), as Synapse sends it
    assert any(
        e["type"] == "m.room.member" and e["state_key"] == alice.user_id
        for e in invite[:-1]
    )
    since = body["next_batch"]
    bob.membership(room_id, "join")
    body = bob.sync(since)
    joined = body["rooms"]["join"][room_id]
    assert any(
        e["type"] == "m.room.create"
        for e in joined["state"]["events"] + joined["timeline"]["events"]
    )
    since = body["next_batch"]
    alice.membership(room_id, "kick", user_id=bob.user_id)
    body = bob.sync(since)
    assert room_id in body["rooms"]["leave"]
    assert room_id not in body["rooms"]["join"]
    left = body["rooms"]["leave"][room_id]["timeline"]["events"]
    assert left[-1]["content"]["membership"] == "leave"
    since = body["next_batch"]
    alice.membership(room_id, "invite", user_id=bob.user_id)
    body = bob.sync(since)
    assert room_id in body["rooms"]["invite"]
    assert room_id not in body["rooms"]["leave"]


def test_include_leave_on_initial_sync(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    alice.membership(room_id, "leave")
    assert room_id not in alice.sync()["rooms"]["leave"]
    body = alice.sync(filter={"room": {"include_leave": True}})
    assert room_id in body["rooms"]["leave"]


def test_filters_inline_and_stored(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    alice.send_event(room_id, {"msgtype": "m.text", "body": "x"})
    alice.send_event(room_id, {"k": 1}, event_type="com.example.custom")
    definition = {
        "room": {"timeline": {"types": ["com.example.*"], "limit": 5}},
        "event_fields": ["type", "content.k"],
    }
    resp = alice.post(f"{CLIENT}/user/{alice.user_id}/filter", definition)
    assert resp.code == 200, resp.json
    filter_id = resp.json["filter_id"]
    got = alice.get(f"{CLIENT}/user/{alice.user_id}/filter/{filter_id}")
    assert got.json == definition
    for param in (filter_id, definition):
        room = alice.sync(filter=param)["rooms"]["join"][room_id]
        assert room["timeline"]["events"] == [
            {"type": "com.example.custom", "content": {"k": 1}}
        ]
    resp = alice.get(f"{CLIENT}/sync?filter=999")
    assert resp.code == 404
    # Not IDs we could have made: a superscript digit, beyond 64 bits.
    for bad_id in ("%C2%B2", "9" * 30):
        resp = alice.get(f"{CLIENT}/sync?filter={bad_id}")
        assert resp.code == 404, resp.json
        resp = alice.get(f"{CLIENT}/user/{alice.user_id}/filter/{bad_id}")
        assert resp.code == 404, resp.json
    resp = alice.get(f"{CLIENT}/sync?filter=%7Bbad")
    assert resp.code == 400


def test_lazy_load_members(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(preset="public_chat")
    members = []
    for name in ("m1", "m2", "m3"):
        member = server.user(name)
        member.membership(room_id, "join")
        members.append(member)
    for i in range(12):
        alice.send_event(room_id, {"msgtype": "m.text", "body": str(i)})
    members[0].send_event(room_id, {"msgtype": "m.text", "body": "from m1"})
    lazy = {"room": {"state": {"lazy_load_members": True}, "timeline": {"limit": 3}}}
    room = alice.sync(filter=lazy)["rooms"]["join"][room_id]
    members = {
        e["state_key"] for e in room["state"]["events"] if e["type"] == "m.room.member"
    }
    assert members == {"@alice:test", "@m1:test"}
    room = alice.sync(filter={"room": {"timeline": {"limit": 3}}})["rooms"]["join"][
        room_id
    ]
    members = {
        e["state_key"] for e in room["state"]["events"] if e["type"] == "m.room.member"
    }
    assert {"@m2:test", "@m3:test"} <= members


def test_unread_counts_follow_new_messages(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.membership(room_id, "join")
    for i in range(3):
        alice.send_event(room_id, {"msgtype": "m.text", "body": str(i)})
    room = bob.sync()["rooms"]["join"][room_id]
    assert room["unread_notifications"]["notification_count"] == 3


def test_tokens_survive_a_restart(make_server: Any, tmp_path: Any) -> None:
    server = make_server()
    alice = server.user("alice")
    room_id = alice.create_room()
    since = alice.sync()["next_batch"]
    alice.send_event(room_id, {"msgtype": "m.text", "body": "after"})
    # A second server on the same database, as after a restart.
    from tests.support.server import TestServer as Server

    again = Server(server.db.engine, None, tmp_path)
    body = alice.on(again).sync(since)
    assert bodies(body["rooms"]["join"][room_id]["timeline"]["events"]) == ["after"]


def test_bad_sync_params(server: TestServer) -> None:
    _, token = server.register("alice")
    for query in (
        "since=nonsense",
        "set_presence=away",
        "timeout=soon",
        "full_state=maybe",
    ):
        resp: FakeResponse = server.request(
            "GET", f"{CLIENT}/sync?{query}", token=token
        )
        assert resp.code == 400, query


def test_full_state(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(name="N")
    since = alice.sync()["next_batch"]
    alice.put_state(room_id, "m.room.topic", {"topic": "t"})
    body = alice.sync(since, full_state="true")
    state_types = {e["type"] for e in body["rooms"]["join"][room_id]["state"]["events"]}
    assert "m.room.name" in state_types
