"""The legacy GET /initialSync and GET /rooms/{roomId}/initialSync."""

from __future__ import annotations

from typing import Any

from tests.support.events import bodies
from tests.support.server import TestServer


def _room(body: dict[str, Any], room_id: str) -> dict[str, Any]:
    found = [r for r in body["rooms"] if r["room_id"] == room_id]
    assert len(found) == 1, body["rooms"]
    return found[0]


def test_initial_sync(server: TestServer) -> None:
    alice, bob = server.user("alice"), server.user("bob")
    room = alice.create_room(name="Chat", preset="public_chat", visibility="public")
    for n in range(12):
        alice.send(room, f"m{n}")
    alice.put(f"/user/{alice.user_id}/rooms/{room}/tags/u.work", {}, expect=200)
    alice.put(f"/user/{alice.user_id}/account_data/org.example", {"a": 1}, expect=200)
    invited = bob.create_room()
    bob.invite(invited, alice.user_id)

    body = alice.get("/initialSync", expect=200).json
    assert body["end"].startswith("s")
    joined = _room(body, room)
    assert joined["membership"] == "join"
    assert joined["visibility"] == "public"
    messages = joined["messages"]
    # The newest 10 (the default limit), oldest first.
    assert bodies(messages["chunk"]) == [f"m{n}" for n in range(2, 12)]
    assert messages["end"] == body["end"]
    assert all(e["room_id"] == room for e in messages["chunk"])
    names = [e for e in joined["state"] if e["type"] == "m.room.name"]
    assert names[0]["content"]["name"] == "Chat"
    assert {"type": "m.tag", "content": {"tags": {"u.work": {}}}} in joined[
        "account_data"
    ]
    assert {"type": "org.example", "content": {"a": 1}} in body["account_data"]
    invite = _room(body, invited)
    assert invite["membership"] == "invite"
    assert invite["inviter"] == bob.user_id
    assert invite["invite"]["content"]["membership"] == "invite"
    assert "messages" not in invite

    # The earlier messages are reachable from messages.start.
    older = alice.messages(room, **{"from": messages["start"], "limit": 5}).json
    assert bodies(older["chunk"])[:2] == ["m1", "m0"]

    limited = alice.get("/initialSync", limit=3, expect=200).json
    assert bodies(_room(limited, room)["messages"]["chunk"]) == ["m9", "m10", "m11"]


def test_end_token_continues_in_events_stream(server: TestServer) -> None:
    alice = server.user("alice")
    room = alice.create_room()
    end = alice.get("/initialSync", expect=200).json["end"]
    alice.send(room, "after")
    resp = server.request(
        "GET", f"/_matrix/client/v3/events?from={end}&timeout=0", token=alice.token
    )
    assert bodies(resp.json["chunk"]) == ["after"]


def test_archived_rooms(server: TestServer) -> None:
    alice = server.user("alice")
    room = alice.create_room()
    alice.send(room, "before leaving")
    alice.leave(room)
    plain = alice.get("/initialSync", expect=200).json
    assert [r["room_id"] for r in plain["rooms"]] == []
    archived = alice.get("/initialSync", archived="true", expect=200).json
    left = _room(archived, room)
    assert left["membership"] == "leave"
    assert "before leaving" in bodies(left["messages"]["chunk"])


def test_room_initial_sync(server: TestServer) -> None:
    alice, bob, eve = server.user("alice"), server.user("bob"), server.user("eve")
    room = alice.create_room(preset="public_chat")
    bob.join(room)
    bob.send(room, "hi")
    event_id = alice.send(room, "hello")
    bob.post(f"/rooms/{room}/receipt/m.read/{event_id}", {}, expect=200)
    body = alice.get(f"/rooms/{room}/initialSync", expect=200).json
    assert body["room_id"] == room
    assert body["membership"] == "join"
    assert body["visibility"] == "private"
    assert bodies(body["messages"]["chunk"]) == ["hi", "hello"]
    members = {e["state_key"] for e in body["state"] if e["type"] == "m.room.member"}
    assert members == {alice.user_id, bob.user_id}
    receipts = body["receipts"]
    assert receipts[0]["type"] == "m.receipt"
    assert bob.user_id in receipts[0]["content"][event_id]["m.read"]
    assert isinstance(body["presence"], list)
    r0 = server.request(
        "GET", f"/_matrix/client/r0/rooms/{room}/initialSync", token=alice.token
    )
    assert r0.code == 200
    # Not a member of a shared-history room: 403.
    denied = eve.get(f"/rooms/{room}/initialSync", expect=403)
    assert denied.json["errcode"] == "M_FORBIDDEN"
    eve.get("/rooms/!nope:test/initialSync", expect=404)


def test_room_initial_sync_peeks_world_readable(server: TestServer) -> None:
    alice, eve = server.user("alice"), server.user("eve")
    room = alice.create_room(preset="public_chat")
    alice.put_state(
        room, "m.room.history_visibility", {"history_visibility": "world_readable"}
    )
    alice.send(room, "for everyone")
    body = eve.get(f"/rooms/{room}/initialSync", expect=200).json
    assert "membership" not in body
    assert "for everyone" in bodies(body["messages"]["chunk"])


def test_bad_parameters(server: TestServer) -> None:
    alice = server.user("alice")
    assert alice.get("/initialSync", limit=-1, expect=400).json["errcode"] == (
        "M_INVALID_PARAM"
    )
    alice.get("/initialSync", limit="x", expect=400)
    assert server.request("GET", "/_matrix/client/v3/initialSync").code == 401
