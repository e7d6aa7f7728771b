"""The streams of this package as GET /sync serves them, end to end over HTTP."""

from __future__ import annotations

from typing import Any

from tests.support import CLIENT, q
from tests.support.server import TestServer
from tests.sync_data.helpers import event_ids


def ephemeral(body: Any, room_id: str) -> dict[str, Any]:
    room = body["rooms"]["join"].get(room_id, {})
    return {
        e["type"]: e["content"] for e in room.get("ephemeral", {}).get("events", [])
    }


def test_account_data_receipts_and_typing_reach_sync(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    assert bob.membership(room_id, "join").code == 200
    (event_id,) = event_ids(alice, room_id, 1)
    first = bob.sync()

    bob.put(f"/user/{q(bob.user_id)}/account_data/org.example", {"x": 1})
    bob.put(f"/user/{q(bob.user_id)}/rooms/{q(room_id)}/tags/u.work", {})
    alice.post(f"/rooms/{q(room_id)}/receipt/m.read/{q(event_id)}", {})
    alice.put(f"/rooms/{q(room_id)}/typing/{q(alice.user_id)}", {"typing": True})

    body = bob.sync(first["next_batch"])
    assert body["account_data"]["events"] == [
        {"type": "org.example", "content": {"x": 1}}
    ]
    room = body["rooms"]["join"][room_id]
    assert room["account_data"]["events"] == [
        {"type": "m.tag", "content": {"tags": {"u.work": {}}}}
    ]
    events = ephemeral(body, room_id)
    assert events["m.typing"] == {"user_ids": [alice.user_id]}
    assert list(events["m.receipt"]) == [event_id]

    # Nothing new: an incremental sync with timeout=0 has none of it again.
    again = bob.sync(body["next_batch"], timeout=0)
    assert again["account_data"]["events"] == []
    assert ephemeral(again, room_id) == {}


def test_a_waiting_sync_wakes_on_typing(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    assert bob.membership(room_id, "join").code == 200
    since = bob.sync()["next_batch"]
    pending = server.start_request(
        "GET", f"{CLIENT}/sync?since={since}&timeout=30000", bob.token
    )
    assert not pending.done
    alice.put(f"/rooms/{q(room_id)}/typing/{q(alice.user_id)}", {"typing": True})
    assert pending.done
    body = pending.response().json
    assert ephemeral(body, room_id)["m.typing"] == {"user_ids": [alice.user_id]}


def test_to_device_is_delivered_once(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    whoami = bob.get(f"{CLIENT}/account/whoami").json
    device = whoami["device_id"]
    first = bob.sync()
    body = {"messages": {bob.user_id: {device: {"secret": 1}}}}
    assert alice.put("/sendToDevice/m.test/t1", body).code == 200

    got = bob.sync(first["next_batch"])
    assert got["to_device"]["events"] == [
        {"type": "m.test", "sender": alice.user_id, "content": {"secret": 1}}
    ]
    # Syncing again from the same token (the response was lost) repeats it.
    retry = bob.sync(first["next_batch"])
    assert retry["to_device"]["events"] == got["to_device"]["events"]
    # Syncing on from the new token confirms it: gone for good.
    later = bob.sync(retry["next_batch"], timeout=0)
    assert later["to_device"]["events"] == []
    assert bob.sync(first["next_batch"])["to_device"]["events"] == []
