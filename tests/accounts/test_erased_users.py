"""Erasure: events of a user deactivated with ``erase`` are served redacted
to users who were not joined when they were sent (as Synapse), through
/messages, /context, /event and an initial /sync; members who were joined
then still see them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.api.helpers import password_auth, uia_request
from tests.support.server import TestServer

CLIENT = "/_matrix/client/v3"


def _messages(server: TestServer, token: str, room: str) -> dict[str, Any]:
    path = f"{CLIENT}/rooms/{quote(room)}/messages?dir=b&limit=50"
    resp = server.request("GET", path, token=token)
    assert resp.code == 200, resp.json
    return {e["event_id"]: e for e in resp.json["chunk"]}


def _scene(server: TestServer) -> tuple[str, str, str, str]:
    """bob's shared-history room where alice said something; alice then
    deactivates herself with erase. Returns (room, event, bob, carol)."""
    alice_id, alice = server.register("alice")
    _, bob = server.register("bob")
    _, carol = server.register("carol")
    create = {"preset": "public_chat"}
    room = server.request("POST", f"{CLIENT}/createRoom", create, token=bob).json[
        "room_id"
    ]
    assert server.request("POST", f"{CLIENT}/join/{room}", {}, token=alice).code == 200
    path = f"{CLIENT}/rooms/{quote(room)}/send/m.room.message/t1"
    body = {"msgtype": "m.text", "body": "my secret"}
    event_id = server.request("PUT", path, body, token=alice).json["event_id"]
    reply = {
        "msgtype": "m.text",
        "body": "in a thread",
        "m.relates_to": {"rel_type": "m.thread", "event_id": event_id},
    }
    server.request("PUT", path.replace("/t1", "/t2"), reply, token=alice)
    resp = uia_request(
        server,
        "POST",
        f"{CLIENT}/account/deactivate",
        {"erase": True},
        alice,
        password_auth(alice_id),
    )
    assert resp.code == 200, resp.json
    assert server.request("POST", f"{CLIENT}/join/{room}", {}, token=carol).code == 200
    return room, event_id, bob, carol


def test_erased_senders_events_are_redacted_for_later_joiners(
    server: TestServer,
) -> None:
    room, event_id, bob, carol = _scene(server)
    seen_by_bob = _messages(server, bob, room)[event_id]
    assert seen_by_bob["content"]["body"] == "my secret"
    seen_by_carol = _messages(server, carol, room)[event_id]
    assert seen_by_carol["content"] == {}
    assert seen_by_carol["type"] == "m.room.message"

    one = server.request(
        "GET", f"{CLIENT}/rooms/{quote(room)}/event/{quote(event_id)}", token=carol
    )
    assert one.code == 200 and one.json["content"] == {}
    context = server.request(
        "GET", f"{CLIENT}/rooms/{quote(room)}/context/{quote(event_id)}", token=carol
    )
    assert context.code == 200 and context.json["event"]["content"] == {}
    bobs = server.request(
        "GET", f"{CLIENT}/rooms/{quote(room)}/event/{quote(event_id)}", token=bob
    )
    assert bobs.json["content"]["body"] == "my secret"

    relations = server.request(
        "GET",
        f"/_matrix/client/v1/rooms/{quote(room)}/relations/{quote(event_id)}",
        token=carol,
    )
    assert relations.code == 200, relations.json
    assert [e["content"] for e in relations.json["chunk"]] == [{}]

    sync = server.request("GET", f"{CLIENT}/sync", token=carol).json
    timeline = sync["rooms"]["join"][room]["timeline"]["events"]
    mine = [e for e in timeline if e["event_id"] == event_id]
    assert mine and mine[0]["content"] == {}


def test_not_erased_senders_stay_readable(server: TestServer) -> None:
    """Deactivation without erase hides nothing."""
    root = server.register("root", admin=True)[1]
    alice_id, alice = server.register("alice")
    _, carol = server.register("carol")
    room = server.request(
        "POST", f"{CLIENT}/createRoom", {"preset": "public_chat"}, token=alice
    ).json["room_id"]
    path = f"{CLIENT}/rooms/{quote(room)}/send/m.room.message/t1"
    body = {"msgtype": "m.text", "body": "kept"}
    event_id = server.request("PUT", path, body, token=alice).json["event_id"]
    deactivate = f"/_synapse/admin/v1/deactivate/{alice_id}"
    assert server.request("POST", deactivate, {}, token=root).code == 200
    assert server.request("POST", f"{CLIENT}/join/{room}", {}, token=carol).code == 200
    assert _messages(server, carol, room)[event_id]["content"]["body"] == "kept"
