"""The legacy event stream: GET /events (long-poll) and GET /events/{eventId}."""

from __future__ import annotations

import json

from tests.support.events import bodies
from tests.support.server import TestServer


def _events(server: TestServer, token: str, **query: object) -> tuple[int, dict]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    resp = server.request("GET", f"/_matrix/client/v3/events?{qs}", token=token)
    return resp.code, resp.json


def test_stream_from_a_token(server: TestServer) -> None:
    alice = server.user("alice")
    room = alice.create_room()
    start = alice.sync()["next_batch"]
    alice.send(room, "one")
    alice.send(room, "two")
    code, body = _events(server, alice.token, **{"from": start, "timeout": 0})
    assert code == 200, body
    assert body["start"] == start
    assert bodies(body["chunk"]) == ["one", "two"]
    assert all(e["room_id"] == room for e in body["chunk"])
    # Continuing from end: nothing new, answered at once with timeout=0.
    code, again = _events(server, alice.token, **{"from": body["end"], "timeout": 0})
    assert code == 200
    assert again["chunk"] == []
    assert again["start"] == body["end"]


def test_long_poll_wakes_on_a_new_event(server: TestServer) -> None:
    alice, bob = server.user("alice"), server.user("bob")
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    start = bob.sync()["next_batch"]
    pending = server.start_request(
        "GET", f"/_matrix/client/r0/events?from={start}&timeout=10000", bob.token
    )
    assert not pending.done
    alice.send(room, "wake up")
    assert pending.done
    body = pending.response().json
    assert bodies(body["chunk"]) == ["wake up"]
    assert body["chunk"][0]["sender"] == alice.user_id


def test_without_from_waits_for_new_events_and_times_out(server: TestServer) -> None:
    alice = server.user("alice")
    room = alice.create_room()
    alice.send(room, "old")
    pending = server.start_request(
        "GET", "/_matrix/client/v3/events?timeout=5000", alice.token
    )
    assert not pending.done
    server.advance(5)
    assert pending.done
    body = pending.response().json
    assert body["chunk"] == []
    assert body["start"] == body["end"]


def test_invites_and_other_rooms(server: TestServer) -> None:
    alice, bob = server.user("alice"), server.user("bob")
    start = bob.sync()["next_batch"]
    secret = alice.create_room()
    alice.send(secret, "not for bob")
    room = alice.create_room()
    alice.invite(room, bob.user_id)
    code, body = _events(server, bob.token, **{"from": start, "timeout": 0})
    assert code == 200
    assert [(e["type"], e["state_key"]) for e in body["chunk"]] == [
        ("m.room.member", bob.user_id)
    ]
    assert body["chunk"][0]["content"]["membership"] == "invite"


def test_room_id_param(server: TestServer) -> None:
    alice, bob = server.user("alice"), server.user("bob")
    one, two = alice.create_room(), alice.create_room()
    start = alice.sync()["next_batch"]
    alice.send(one, "in one")
    alice.send(two, "in two")
    code, body = _events(
        server, alice.token, **{"from": start, "timeout": 0, "room_id": two}
    )
    assert code == 200
    assert bodies(body["chunk"]) == ["in two"]
    code, denied = _events(server, bob.token, **{"timeout": 0, "room_id": two})
    assert (code, denied["errcode"]) == (403, "M_FORBIDDEN")


def test_bad_parameters(server: TestServer) -> None:
    alice = server.user("alice")
    code, body = _events(server, alice.token, **{"from": "nope", "timeout": 0})
    assert (code, body["errcode"]) == (400, "M_INVALID_PARAM")
    code, body = _events(server, alice.token, timeout="soon")
    assert (code, body["errcode"]) == (400, "M_INVALID_PARAM")
    resp = server.request("GET", "/_matrix/client/v3/events")
    assert resp.code == 401


def test_stream_leaves_to_device_messages_alone(server: TestServer) -> None:
    alice = server.user("alice")
    other = server.login("alice")
    start = alice.sync()["next_batch"]
    other.put(
        "/sendToDevice/m.test/t1",
        {"messages": {alice.user_id: {alice.device_id: {"x": 1}}}},
        expect=200,
    )
    code, body = _events(server, alice.token, **{"from": start, "timeout": 0})
    assert code == 200
    synced = alice.sync(since=start)
    assert [m["content"] for m in synced["to_device"]["events"]] == [{"x": 1}]
    del body


def test_get_event(server: TestServer) -> None:
    alice, bob = server.user("alice"), server.user("bob")
    room = alice.create_room()
    event_id = alice.send(room, "hello")
    resp = alice.get(f"/events/{event_id}", expect=200)
    assert resp.json["event_id"] == event_id
    assert resp.json["room_id"] == room
    assert resp.json["content"]["body"] == "hello"
    r0 = server.request(
        "GET", f"/_matrix/client/r0/events/{event_id}", token=alice.token
    )
    assert r0.code == 200
    # Not in the room: as if it did not exist.
    assert bob.get(f"/events/{event_id}", expect=404).json["errcode"] == "M_NOT_FOUND"
    alice.get("/events/$unknown:test", expect=404)
    json.dumps(resp.json)


def test_typing_receipts_and_presence(server: TestServer) -> None:
    alice, bob = server.user("alice"), server.user("bob")
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    event_id = alice.send(room, "hello")
    start = alice.sync()["next_batch"]
    pending = server.start_request(
        "GET", f"/_matrix/client/v3/events?from={start}&timeout=10000", alice.token
    )
    assert not pending.done
    bob.put(f"/rooms/{room}/typing/{bob.user_id}", {"typing": True}, expect=200)
    assert pending.done
    chunk = pending.response().json["chunk"]
    typing = [e for e in chunk if e["type"] == "m.typing"]
    assert typing == [
        {"type": "m.typing", "room_id": room, "content": {"user_ids": [bob.user_id]}}
    ]
    bob.post(f"/rooms/{room}/receipt/m.read/{event_id}", {}, expect=200)
    bob.put(f"/presence/{bob.user_id}/status", {"presence": "online"}, expect=200)
    code, body = _events(server, alice.token, **{"from": start, "timeout": 0})
    assert code == 200
    receipts = [e for e in body["chunk"] if e["type"] == "m.receipt"]
    assert receipts[0]["room_id"] == room
    assert bob.user_id in receipts[0]["content"][event_id]["m.read"]
    presence = [e for e in body["chunk"] if e["type"] == "m.presence"]
    assert bob.user_id in {e["sender"] for e in presence}
    # From the end: nothing new.
    code, again = _events(server, alice.token, **{"from": body["end"], "timeout": 0})
    assert again["chunk"] == []
