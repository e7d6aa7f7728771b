"""The streams of this package as GET /sync serves them, end to end over HTTP."""

from __future__ import annotations

from typing import Any

from tests.support.server import TestServer
from tests.rooms.helpers import CLIENT, create_room, membership
from tests.sync_data.helpers import event_ids, post, put, q


def sync(server: TestServer, tok: str, since: str | None = None, **params: Any) -> Any:
    query = "&".join(
        ([f"since={since}"] if since else []) + [f"{k}={v}" for k, v in params.items()]
    )
    resp = server.request("GET", f"{CLIENT}/sync?{query}", token=tok)
    assert resp.code == 200, resp.json
    return resp.json


def ephemeral(body: Any, room_id: str) -> dict[str, Any]:
    room = body["rooms"]["join"].get(room_id, {})
    return {
        e["type"]: e["content"] for e in room.get("ephemeral", {}).get("events", [])
    }


def test_account_data_receipts_and_typing_reach_sync(server: TestServer) -> None:
    alice, a_tok = server.register("alice")
    bob, b_tok = server.register("bob")
    room_id = create_room(server, a_tok, preset="public_chat")
    assert membership(server, b_tok, room_id, "join").code == 200
    (event_id,) = event_ids(server, a_tok, room_id, 1)
    first = sync(server, b_tok)

    put(server, f"/user/{q(bob)}/account_data/org.example", {"x": 1}, b_tok)
    put(server, f"/user/{q(bob)}/rooms/{q(room_id)}/tags/u.work", {}, b_tok)
    post(server, f"/rooms/{q(room_id)}/receipt/m.read/{q(event_id)}", {}, a_tok)
    put(server, f"/rooms/{q(room_id)}/typing/{q(alice)}", {"typing": True}, a_tok)

    body = sync(server, b_tok, first["next_batch"])
    assert body["account_data"]["events"] == [
        {"type": "org.example", "content": {"x": 1}}
    ]
    room = body["rooms"]["join"][room_id]
    assert room["account_data"]["events"] == [
        {"type": "m.tag", "content": {"tags": {"u.work": {}}}}
    ]
    events = ephemeral(body, room_id)
    assert events["m.typing"] == {"user_ids": [alice]}
    assert list(events["m.receipt"]) == [event_id]

    # Nothing new: an incremental sync with timeout=0 has none of it again.
    again = sync(server, b_tok, body["next_batch"], timeout=0)
    assert again["account_data"]["events"] == []
    assert ephemeral(again, room_id) == {}


def test_a_waiting_sync_wakes_on_typing(server: TestServer) -> None:
    alice, a_tok = server.register("alice")
    bob, b_tok = server.register("bob")
    room_id = create_room(server, a_tok, preset="public_chat")
    assert membership(server, b_tok, room_id, "join").code == 200
    since = sync(server, b_tok)["next_batch"]
    pending = server.start_request(
        "GET", f"{CLIENT}/sync?since={since}&timeout=30000", b_tok
    )
    assert not pending.done
    put(server, f"/rooms/{q(room_id)}/typing/{q(alice)}", {"typing": True}, a_tok)
    assert pending.done
    body = pending.response().json
    assert ephemeral(body, room_id)["m.typing"] == {"user_ids": [alice]}


def test_to_device_is_delivered_once(server: TestServer) -> None:
    alice, a_tok = server.register("alice")
    bob, b_tok = server.register("bob")
    whoami = server.request("GET", f"{CLIENT}/account/whoami", token=b_tok).json
    device = whoami["device_id"]
    first = sync(server, b_tok)
    body = {"messages": {bob: {device: {"secret": 1}}}}
    assert put(server, "/sendToDevice/m.test/t1", body, a_tok).code == 200

    got = sync(server, b_tok, first["next_batch"])
    assert got["to_device"]["events"] == [
        {"type": "m.test", "sender": alice, "content": {"secret": 1}}
    ]
    # Syncing again from the same token (the response was lost) repeats it.
    retry = sync(server, b_tok, first["next_batch"])
    assert retry["to_device"]["events"] == got["to_device"]["events"]
    # Syncing on from the new token confirms it: gone for good.
    later = sync(server, b_tok, retry["next_batch"], timeout=0)
    assert later["to_device"]["events"] == []
    assert sync(server, b_tok, first["next_batch"])["to_device"]["events"] == []
