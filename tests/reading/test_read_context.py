"""GET /context/{eventId} and GET /v1/rooms/{roomId}/timestamp_to_event."""

from __future__ import annotations

from typing import Any

import pytest

from tests.reading.helpers import say
from tests.support import V1, Room, bodies
from tests.support.server import TestServer


@pytest.fixture
def room(server: TestServer) -> Room:
    alice = server.user("alice")
    bob = server.user("bob")
    server.advance(1000)
    room_id = alice.create_room(preset="public_chat")
    bob.membership(room_id, "join")
    ids = [say(alice if i % 3 else bob, room_id, f"m{i}") for i in range(10)]
    return Room(room_id, alice, bob, events=ids)


def context(server: TestServer, room: Room, index: int, **query: Any) -> Any:
    return room.alice.get(f"/rooms/{room.id}/context/{room.events[index]}", **query)


def test_context_splits_the_limit(server: TestServer, room: Room) -> None:
    resp = context(server, room, 5, limit=4)
    assert resp.code == 200
    body = resp.json
    assert body["event"]["content"]["body"] == "m5"
    assert bodies(body["events_before"]) == ["m4", "m3"]
    assert bodies(body["events_after"]) == ["m6", "m7"]
    odd = context(server, room, 5, limit=3).json
    assert bodies(odd["events_before"]) == ["m4"]
    assert bodies(odd["events_after"]) == ["m6", "m7"]
    default = context(server, room, 5).json
    assert bodies(default["events_before"]) == ["m4", "m3", "m2", "m1", "m0"]
    assert bodies(default["events_after"]) == ["m6", "m7", "m8", "m9"]
    zero = context(server, room, 5, limit=0).json
    assert zero["events_before"] == [] and zero["events_after"] == []
    assert zero["event"]["event_id"] == room.events[5]


def test_context_tokens_continue_with_messages(server: TestServer, room: Room) -> None:
    body = context(server, room, 5, limit=4).json
    back = room.alice.messages(room.id, limit=2, **{"from": body["start"]})
    assert bodies(back.json["chunk"]) == ["m2", "m1"]
    forward = room.alice.messages(room.id, dir="f", limit=5, **{"from": body["end"]})
    assert bodies(forward.json["chunk"]) == ["m8", "m9"]
    assert "end" in forward.json  # it has events (as Synapse)


def test_context_state_and_filters(server: TestServer, room: Room) -> None:
    body = context(server, room, 5, limit=4).json
    keys = {(e["type"], e["state_key"]) for e in body["state"]}
    assert ("m.room.create", "") in keys
    assert ("m.room.member", room.alice.user_id) in keys and (
        "m.room.member",
        room.bob.user_id,
    ) in keys

    only_bob = context(
        server, room, 5, limit=4, filter={"senders": [room.bob.user_id]}
    ).json
    assert bodies(only_bob["events_before"]) == ["m3", "m0"]
    assert bodies(only_bob["events_after"]) == ["m6", "m9"]
    assert only_bob["event"]["content"]["body"] == "m5"  # never filtered
    assert {e["sender"] for e in only_bob["state"]} <= {room.bob.user_id}

    lazy = context(server, room, 1, limit=2, filter={"lazy_load_members": True}).json
    senders = {e["sender"] for e in lazy["events_before"] + lazy["events_after"]}
    senders.add(lazy["event"]["sender"])
    members = {e["state_key"] for e in lazy["state"] if e["type"] == "m.room.member"}
    assert members == senders
    assert ("m.room.create", "") in {(e["type"], e["state_key"]) for e in lazy["state"]}


def test_context_lazy_members_only_of_senders(server: TestServer, room: Room) -> None:
    carol = server.user("carol")
    carol.membership(room.id, "join")
    lazy = context(server, room, 2, limit=2, filter={"lazy_load_members": True}).json
    members = {e["state_key"] for e in lazy["state"] if e["type"] == "m.room.member"}
    assert carol.user_id not in members
    full = context(server, room, 2, limit=2).json
    assert room.bob.user_id in {e["state_key"] for e in full["state"]}


def test_context_errors(server: TestServer, room: Room) -> None:
    path = f"/rooms/{room.id}/context"
    assert room.alice.get(f"{path}/$nope").code == 404
    assert room.alice.get(f"/rooms/!nowhere:test/context/{room.events[0]}").code == 404
    outsider = server.user("outsider")
    private = room.alice.create_room(preset="private_chat")
    secret = say(room.alice, private, "secret")
    resp = outsider.get(f"/rooms/{private}/context/{secret}")
    assert resp.code == 403 and resp.json["errcode"] == "M_FORBIDDEN"
    bad = room.alice.get(f"{path}/{room.events[0]}", limit="x")
    assert bad.code == 400
    bad = room.alice.get(f"{path}/{room.events[0]}", filter="{")
    assert bad.code == 400 and bad.json["errcode"] == "M_INVALID_PARAM"


def _ts(server: TestServer, room: Room, index: int) -> int:
    resp = room.alice.event(room.id, room.events[index])
    return int(resp.json["origin_server_ts"])


def test_timestamp_to_event(server: TestServer, room: Room) -> None:
    path = f"{V1}/rooms/{room.id}/timestamp_to_event"
    t3, t4 = _ts(server, room, 3), _ts(server, room, 4)
    assert t3 < t4
    forward = room.alice.get(path, ts=t3 + 1, dir="f")
    assert forward.code == 200
    assert forward.json == {"event_id": room.events[4], "origin_server_ts": t4}
    backward = room.alice.get(path, ts=t4 - 1, dir="b")
    assert backward.json["event_id"] == room.events[3]
    exact = room.alice.get(path, ts=t4, dir="b")
    assert exact.json["event_id"] == room.events[4]
    future = room.alice.get(path, ts=_ts(server, room, 9) + 10_000, dir="f")
    assert future.code == 404 and future.json["errcode"] == "M_NOT_FOUND"
    past = room.alice.get(path, ts=0, dir="b")
    assert past.code == 404


def test_timestamp_to_event_skips_what_the_user_cannot_see(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    alice.put(
        f"/_matrix/client/v3/rooms/{room_id}/state/m.room.history_visibility",
        {"history_visibility": "joined"},
    )
    hidden = say(alice, room_id, "hidden")
    hidden_ts = alice.event(room_id, hidden).json["origin_server_ts"]
    server.advance(5)
    bob.membership(room_id, "join")
    # alice's message is the nearest event at/after hidden_ts, but bob may not
    # see it (history is "joined"); his own join is next.
    resp = bob.get(f"{V1}/rooms/{room_id}/timestamp_to_event", ts=hidden_ts, dir="f")
    assert resp.code == 200
    found = bob.event(room_id, resp.json["event_id"]).json
    assert found["type"] == "m.room.member" and found["content"]["membership"] == "join"


def test_timestamp_to_event_errors(server: TestServer, room: Room) -> None:
    path = f"{V1}/rooms/{room.id}/timestamp_to_event"
    missing = room.alice.get(path, dir="f")
    assert missing.code == 400 and missing.json["errcode"] == "M_MISSING_PARAM"
    assert room.alice.get(path, ts=1).json["errcode"] == "M_MISSING_PARAM"
    assert room.alice.get(path, ts=1, dir="up").json["errcode"] == "M_INVALID_PARAM"
    assert room.alice.get(path, ts="soon", dir="f").json["errcode"] == "M_INVALID_PARAM"
    outsider = server.user("outsider")
    private = room.alice.create_room(preset="private_chat")
    assert (
        outsider.get(f"{V1}/rooms/{private}/timestamp_to_event", ts=0, dir="f").code
        == 403
    )
    assert (
        room.alice.get(
            f"{V1}/rooms/!nowhere:test/timestamp_to_event", ts=0, dir="f"
        ).code
        == 404
    )
    v3 = room.alice.get(
        f"/_matrix/client/v3/rooms/{room.id}/timestamp_to_event", ts=0, dir="f"
    )
    assert v3.code == 404 and v3.json["errcode"] == "M_UNRECOGNIZED"
