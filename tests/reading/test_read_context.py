"""GET /context/{eventId} and GET /v1/rooms/{roomId}/timestamp_to_event."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.server import TestServer
from tests.reading.helpers import V1, bodies, event_json, get, messages, say
from tests.rooms.helpers import create_room, membership


@pytest.fixture
def room(server: TestServer) -> dict[str, Any]:
    alice, a_tok = server.register("alice")
    bob, b_tok = server.register("bob")
    server.advance(1000)
    room_id = create_room(server, a_tok, preset="public_chat")
    membership(server, b_tok, room_id, "join")
    ids = [say(server, a_tok if i % 3 else b_tok, room_id, f"m{i}") for i in range(10)]
    return {
        "id": room_id,
        "alice": alice,
        "a": a_tok,
        "bob": bob,
        "b": b_tok,
        "ids": ids,
    }


def context(server: TestServer, room: dict, index: int, **query: Any) -> Any:
    return get(
        server, room["a"], f"/rooms/{room['id']}/context/{room['ids'][index]}", **query
    )


def test_context_splits_the_limit(server: TestServer, room: dict) -> None:
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
    assert zero["event"]["event_id"] == room["ids"][5]


def test_context_tokens_continue_with_messages(server: TestServer, room: dict) -> None:
    body = context(server, room, 5, limit=4).json
    back = messages(server, room["a"], room["id"], limit=2, **{"from": body["start"]})
    assert bodies(back.json["chunk"]) == ["m2", "m1"]
    forward = messages(
        server, room["a"], room["id"], dir="f", limit=5, **{"from": body["end"]}
    )
    assert bodies(forward.json["chunk"]) == ["m8", "m9"]
    assert "end" not in forward.json


def test_context_state_and_filters(server: TestServer, room: dict) -> None:
    body = context(server, room, 5, limit=4).json
    keys = {(e["type"], e["state_key"]) for e in body["state"]}
    assert ("m.room.create", "") in keys
    assert ("m.room.member", room["alice"]) in keys and (
        "m.room.member",
        room["bob"],
    ) in keys

    only_bob = context(server, room, 5, limit=4, filter={"senders": [room["bob"]]}).json
    assert bodies(only_bob["events_before"]) == ["m3", "m0"]
    assert bodies(only_bob["events_after"]) == ["m6", "m9"]
    assert only_bob["event"]["content"]["body"] == "m5"  # never filtered
    assert {e["sender"] for e in only_bob["state"]} <= {room["bob"]}

    lazy = context(server, room, 1, limit=2, filter={"lazy_load_members": True}).json
    senders = {e["sender"] for e in lazy["events_before"] + lazy["events_after"]}
    senders.add(lazy["event"]["sender"])
    members = {e["state_key"] for e in lazy["state"] if e["type"] == "m.room.member"}
    assert members == senders
    assert ("m.room.create", "") in {(e["type"], e["state_key"]) for e in lazy["state"]}


def test_context_lazy_members_only_of_senders(server: TestServer, room: dict) -> None:
    carol, c_tok = server.register("carol")
    membership(server, c_tok, room["id"], "join")
    lazy = context(server, room, 2, limit=2, filter={"lazy_load_members": True}).json
    members = {e["state_key"] for e in lazy["state"] if e["type"] == "m.room.member"}
    assert carol not in members
    full = context(server, room, 2, limit=2).json
    assert room["bob"] in {e["state_key"] for e in full["state"]}


def test_context_errors(server: TestServer, room: dict) -> None:
    path = f"/rooms/{room['id']}/context"
    assert get(server, room["a"], f"{path}/$nope").code == 404
    assert (
        get(server, room["a"], f"/rooms/!nowhere:test/context/{room['ids'][0]}").code
        == 404
    )
    outsider, o_tok = server.register("outsider")
    private = create_room(server, room["a"], preset="private_chat")
    secret = say(server, room["a"], private, "secret")
    resp = get(server, o_tok, f"/rooms/{private}/context/{secret}")
    assert resp.code == 403 and resp.json["errcode"] == "M_FORBIDDEN"
    bad = get(server, room["a"], f"{path}/{room['ids'][0]}", limit="x")
    assert bad.code == 400
    bad = get(server, room["a"], f"{path}/{room['ids'][0]}", filter="{")
    assert bad.code == 400 and bad.json["errcode"] == "M_INVALID_PARAM"


def _ts(server: TestServer, room: dict, index: int) -> int:
    resp = event_json(server, room["a"], room["id"], room["ids"][index])
    return int(resp.json["origin_server_ts"])


def test_timestamp_to_event(server: TestServer, room: dict) -> None:
    path = f"{V1}/rooms/{room['id']}/timestamp_to_event"
    t3, t4 = _ts(server, room, 3), _ts(server, room, 4)
    assert t3 < t4
    forward = get(server, room["a"], path, ts=t3 + 1, dir="f")
    assert forward.code == 200
    assert forward.json == {"event_id": room["ids"][4], "origin_server_ts": t4}
    backward = get(server, room["a"], path, ts=t4 - 1, dir="b")
    assert backward.json["event_id"] == room["ids"][3]
    exact = get(server, room["a"], path, ts=t4, dir="b")
    assert exact.json["event_id"] == room["ids"][4]
    future = get(server, room["a"], path, ts=_ts(server, room, 9) + 10_000, dir="f")
    assert future.code == 404 and future.json["errcode"] == "M_NOT_FOUND"
    past = get(server, room["a"], path, ts=0, dir="b")
    assert past.code == 404


def test_timestamp_to_event_skips_what_the_user_cannot_see(server: TestServer) -> None:
    _, a_tok = server.register("alice")
    _, b_tok = server.register("bob")
    room_id = create_room(server, a_tok, preset="public_chat")
    server.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{room_id}/state/m.room.history_visibility",
        {"history_visibility": "joined"},
        token=a_tok,
    )
    hidden = say(server, a_tok, room_id, "hidden")
    hidden_ts = event_json(server, a_tok, room_id, hidden).json["origin_server_ts"]
    server.advance(5)
    membership(server, b_tok, room_id, "join")
    # alice's message is the nearest event at/after hidden_ts, but bob may not
    # see it (history is "joined"); his own join is next.
    resp = get(
        server, b_tok, f"{V1}/rooms/{room_id}/timestamp_to_event", ts=hidden_ts, dir="f"
    )
    assert resp.code == 200
    found = event_json(server, b_tok, room_id, resp.json["event_id"]).json
    assert found["type"] == "m.room.member" and found["content"]["membership"] == "join"


def test_timestamp_to_event_errors(server: TestServer, room: dict) -> None:
    path = f"{V1}/rooms/{room['id']}/timestamp_to_event"
    missing = get(server, room["a"], path, dir="f")
    assert missing.code == 400 and missing.json["errcode"] == "M_MISSING_PARAM"
    assert get(server, room["a"], path, ts=1).json["errcode"] == "M_MISSING_PARAM"
    assert (
        get(server, room["a"], path, ts=1, dir="up").json["errcode"]
        == "M_INVALID_PARAM"
    )
    assert (
        get(server, room["a"], path, ts="soon", dir="f").json["errcode"]
        == "M_INVALID_PARAM"
    )
    outsider, o_tok = server.register("outsider")
    private = create_room(server, room["a"], preset="private_chat")
    assert (
        get(
            server, o_tok, f"{V1}/rooms/{private}/timestamp_to_event", ts=0, dir="f"
        ).code
        == 403
    )
    assert (
        get(
            server,
            room["a"],
            f"{V1}/rooms/!nowhere:test/timestamp_to_event",
            ts=0,
            dir="f",
        ).code
        == 404
    )
    v3 = get(
        server,
        room["a"],
        f"/_matrix/client/v3/rooms/{room['id']}/timestamp_to_event",
        ts=0,
        dir="f",
    )
    assert v3.code == 404 and v3.json["errcode"] == "M_UNRECOGNIZED"
