"""GET /sync: initial, incremental, long-poll, sections and filters."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tests.harness import FakeResponse, TestServer
from tests.rooms.helpers import CLIENT, create_room, membership, put_state, send


def sync(
    server: TestServer, token: str, since: str | None = None, **params: Any
) -> dict:
    query = []
    if since:
        query.append(f"since={since}")
    for key, value in params.items():
        if isinstance(value, dict):
            value = quote(json.dumps(value))
        query.append(f"{key}={value}")
    resp = server.request("GET", f"{CLIENT}/sync?{'&'.join(query)}", token=token)
    assert resp.code == 200, resp.json
    return resp.json


def bodies(room: dict) -> list[str]:
    return [
        e["content"].get("body")
        for e in room["timeline"]["events"]
        if e["type"] == "m.room.message"
    ]


def test_initial_sync_shape(server: TestServer) -> None:
    alice, token = server.register("alice")
    room_id = create_room(server, token, name="Lounge")
    send(server, token, room_id, {"msgtype": "m.text", "body": "hello"})
    body = sync(server, token)
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
    assert bodies(room) == ["hello"]
    types = {e["type"] for e in room["timeline"]["events"] + room["state"]["events"]}
    assert {"m.room.create", "m.room.name", "m.room.member"} <= types
    assert room["summary"]["m.joined_member_count"] == 1
    assert "room_id" not in room["timeline"]["events"][0]
    assert room["unread_notifications"] == {
        "notification_count": 0,
        "highlight_count": 0,
    }


def test_incremental_sync_returns_only_new_events(server: TestServer) -> None:
    _, token = server.register("alice")
    room_id = create_room(server, token)
    other = create_room(server, token)
    first = sync(server, token)
    send(server, token, room_id, {"msgtype": "m.text", "body": "new"})
    second = sync(server, token, first["next_batch"])
    assert list(second["rooms"]["join"]) == [room_id]
    room = second["rooms"]["join"][room_id]
    assert bodies(room) == ["new"]
    assert room["timeline"]["limited"] is False
    assert room["state"]["events"] == []
    assert other not in second["rooms"]["join"]


def test_limited_timeline_and_prev_batch(server: TestServer) -> None:
    _, token = server.register("alice")
    room_id = create_room(server, token)
    first = sync(server, token)
    for i in range(15):
        send(server, token, room_id, {"msgtype": "m.text", "body": str(i)})
    room = sync(server, token, first["next_batch"])["rooms"]["join"][room_id]
    assert bodies(room) == [str(i) for i in range(5, 15)]
    assert room["timeline"]["limited"] is True
    prev = room["timeline"]["prev_batch"]
    resp = server.request(
        "GET",
        f"{CLIENT}/rooms/{room_id}/messages?dir=b&limit=5&from={prev}",
        token=token,
    )
    assert [e["content"]["body"] for e in resp.json["chunk"]] == [
        "4",
        "3",
        "2",
        "1",
        "0",
    ]


def test_long_poll_wakes_when_another_user_sends(server: TestServer) -> None:
    _, a_tok = server.register("alice")
    _, b_tok = server.register("bob")
    room_id = create_room(server, a_tok, preset="public_chat")
    membership(server, b_tok, room_id, "join")
    since = sync(server, b_tok)["next_batch"]
    pending = server.start_request(
        "GET", f"{CLIENT}/sync?since={since}&timeout=30000", b_tok
    )
    server.advance(1)
    assert not pending.done
    send(server, a_tok, room_id, {"msgtype": "m.text", "body": "ping"})
    assert pending.done
    body = pending.response().json
    assert bodies(body["rooms"]["join"][room_id]) == ["ping"]


def test_long_poll_ignores_rooms_the_user_is_not_in(server: TestServer) -> None:
    _, a_tok = server.register("alice")
    _, b_tok = server.register("bob")
    room_id = create_room(server, a_tok)
    since = sync(server, b_tok)["next_batch"]
    pending = server.start_request(
        "GET", f"{CLIENT}/sync?since={since}&timeout=10000", b_tok
    )
    send(server, a_tok, room_id, {"msgtype": "m.text", "body": "secret"})
    assert not pending.done
    assert server.hs.core.notifier.listener_count() == 1
    server.advance(11)
    assert pending.done
    body = pending.response().json
    assert body["rooms"]["join"] == {}
    assert server.hs.core.notifier.listener_count() == 0


def test_invite_leave_and_reinvite_sections(server: TestServer) -> None:
    alice, a_tok = server.register("alice")
    bob, b_tok = server.register("bob")
    room_id = create_room(server, a_tok, name="Secret")
    since = sync(server, b_tok)["next_batch"]
    membership(server, a_tok, room_id, "invite", user_id=bob)
    body = sync(server, b_tok, since)
    invite = body["rooms"]["invite"][room_id]["invite_state"]["events"]
    assert {
        "type": "m.room.name",
        "state_key": "",
        "content": {"name": "Secret"},
        "sender": alice,
    } in invite
    assert invite[-1]["content"]["membership"] == "invite"
    since = body["next_batch"]
    membership(server, b_tok, room_id, "join")
    body = sync(server, b_tok, since)
    joined = body["rooms"]["join"][room_id]
    assert any(
        e["type"] == "m.room.create"
        for e in joined["state"]["events"] + joined["timeline"]["events"]
    )
    since = body["next_batch"]
    membership(server, a_tok, room_id, "kick", user_id=bob)
    body = sync(server, b_tok, since)
    assert room_id in body["rooms"]["leave"]
    assert room_id not in body["rooms"]["join"]
    left = body["rooms"]["leave"][room_id]["timeline"]["events"]
    assert left[-1]["content"]["membership"] == "leave"
    since = body["next_batch"]
    membership(server, a_tok, room_id, "invite", user_id=bob)
    body = sync(server, b_tok, since)
    assert room_id in body["rooms"]["invite"]
    assert room_id not in body["rooms"]["leave"]


def test_include_leave_on_initial_sync(server: TestServer) -> None:
    _, token = server.register("alice")
    room_id = create_room(server, token)
    membership(server, token, room_id, "leave")
    assert room_id not in sync(server, token)["rooms"]["leave"]
    body = sync(server, token, filter={"room": {"include_leave": True}})
    assert room_id in body["rooms"]["leave"]


def test_filters_inline_and_stored(server: TestServer) -> None:
    alice, token = server.register("alice")
    room_id = create_room(server, token)
    send(server, token, room_id, {"msgtype": "m.text", "body": "x"})
    send(server, token, room_id, {"k": 1}, event_type="com.example.custom")
    definition = {
        "room": {"timeline": {"types": ["com.example.*"], "limit": 5}},
        "event_fields": ["type", "content.k"],
    }
    resp = server.request(
        "POST", f"{CLIENT}/user/{alice}/filter", definition, token=token
    )
    assert resp.code == 200, resp.json
    filter_id = resp.json["filter_id"]
    got = server.request(
        "GET", f"{CLIENT}/user/{alice}/filter/{filter_id}", token=token
    )
    assert got.json == definition
    for param in (filter_id, definition):
        room = sync(server, token, filter=param)["rooms"]["join"][room_id]
        assert room["timeline"]["events"] == [
            {"type": "com.example.custom", "content": {"k": 1}}
        ]
    resp = server.request("GET", f"{CLIENT}/sync?filter=999", token=token)
    assert resp.code == 404
    resp = server.request("GET", f"{CLIENT}/sync?filter=%7Bbad", token=token)
    assert resp.code == 400


def test_lazy_load_members(server: TestServer) -> None:
    _, a_tok = server.register("alice")
    room_id = create_room(server, a_tok, preset="public_chat")
    tokens = []
    for name in ("m1", "m2", "m3"):
        _, tok = server.register(name)
        membership(server, tok, room_id, "join")
        tokens.append(tok)
    for i in range(12):
        send(server, a_tok, room_id, {"msgtype": "m.text", "body": str(i)})
    send(server, tokens[0], room_id, {"msgtype": "m.text", "body": "from m1"})
    lazy = {"room": {"state": {"lazy_load_members": True}, "timeline": {"limit": 3}}}
    room = sync(server, a_tok, filter=lazy)["rooms"]["join"][room_id]
    members = {
        e["state_key"] for e in room["state"]["events"] if e["type"] == "m.room.member"
    }
    assert members == {"@alice:test", "@m1:test"}
    room = sync(server, a_tok, filter={"room": {"timeline": {"limit": 3}}})["rooms"][
        "join"
    ][room_id]
    members = {
        e["state_key"] for e in room["state"]["events"] if e["type"] == "m.room.member"
    }
    assert {"@m2:test", "@m3:test"} <= members


def test_unread_counts_follow_new_messages(server: TestServer) -> None:
    _, a_tok = server.register("alice")
    _, b_tok = server.register("bob")
    room_id = create_room(server, a_tok, preset="public_chat")
    membership(server, b_tok, room_id, "join")
    for i in range(3):
        send(server, a_tok, room_id, {"msgtype": "m.text", "body": str(i)})
    room = sync(server, b_tok)["rooms"]["join"][room_id]
    assert room["unread_notifications"]["notification_count"] == 3


def test_tokens_survive_a_restart(make_server: Any, tmp_path: Any) -> None:
    server = make_server()
    _, token = server.register("alice")
    room_id = create_room(server, token)
    since = sync(server, token)["next_batch"]
    send(server, token, room_id, {"msgtype": "m.text", "body": "after"})
    # A second server on the same database, as after a restart.
    from tests.harness import TestServer as Server

    again = Server(server.db.engine, None, tmp_path)
    body = sync(again, token, since)
    assert bodies(body["rooms"]["join"][room_id]) == ["after"]


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
    _, token = server.register("alice")
    room_id = create_room(server, token, name="N")
    since = sync(server, token)["next_batch"]
    put_state(server, token, room_id, "m.room.topic", {"topic": "t"})
    body = sync(server, token, since, full_state="true")
    state_types = {e["type"] for e in body["rooms"]["join"][room_id]["state"]["events"]}
    assert "m.room.name" in state_types
