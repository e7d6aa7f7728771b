"""EDUs from other servers reach local users' /sync; forged ones do not."""

from __future__ import annotations

from typing import Any

from tests.federation.sending_helpers import (
    install_transport,
    public_room,
    remote_join,
    say,
)
from tests.support.server import TestServer

BOB = "@bob:remote.one"


def _setup(server: TestServer) -> tuple[str, str, str]:
    install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, BOB)
    resp = server.request("GET", "/_matrix/client/v3/sync?timeout=0", token=token)
    assert resp.code == 200
    return token, room_id, resp.json["next_batch"]


def _edu(server: TestServer, origin: str, edu_type: str, content: Any) -> None:
    server.get_success(
        server.hs.federation.edus.registry.handle(origin, edu_type, content)
    )
    server.advance(0)


def _sync(server: TestServer, token: str, since: str) -> Any:
    resp = server.request(
        "GET", f"/_matrix/client/v3/sync?timeout=0&since={since}", token=token
    )
    assert resp.code == 200, resp.json
    return resp.json


def _ephemeral(body: Any, room_id: str, event_type: str) -> list[Any]:
    room = body["rooms"]["join"].get(room_id, {})
    return [
        e["content"]
        for e in room.get("ephemeral", {}).get("events", [])
        if e["type"] == event_type
    ]


def test_remote_typing_shows_in_sync(server: TestServer) -> None:
    token, room_id, since = _setup(server)
    content = {"room_id": room_id, "user_id": BOB, "typing": True}
    _edu(server, "remote.two", "m.typing", content)  # forged origin
    _edu(server, "remote.one", "m.typing", {**content, "user_id": "@eve:remote.one"})
    assert _ephemeral(_sync(server, token, since), room_id, "m.typing") == []
    _edu(server, "remote.one", "m.typing", content)
    body = _sync(server, token, since)
    assert _ephemeral(body, room_id, "m.typing") == [{"user_ids": [BOB]}]
    _edu(server, "remote.one", "m.typing", {**content, "typing": False})
    body = _sync(server, token, body["next_batch"])
    assert _ephemeral(body, room_id, "m.typing") == [{"user_ids": []}]


def test_remote_receipt_shows_in_sync(server: TestServer) -> None:
    token, room_id, _ = _setup(server)
    event_id = say(server, token, room_id, "read me")
    since = _setup_since(server, token)
    receipt = {"event_ids": [event_id], "data": {"ts": 1234}}
    _edu(server, "remote.two", "m.receipt", {room_id: {"m.read": {BOB: receipt}}})
    assert _ephemeral(_sync(server, token, since), room_id, "m.receipt") == []
    _edu(server, "remote.one", "m.receipt", {room_id: {"m.read": {BOB: receipt}}})
    receipts = _ephemeral(_sync(server, token, since), room_id, "m.receipt")
    assert receipts == [{event_id: {"m.read": {BOB: {"ts": 1234}}}}]


def _setup_since(server: TestServer, token: str) -> str:
    resp = server.request("GET", "/_matrix/client/v3/sync?timeout=0", token=token)
    return str(resp.json["next_batch"])


def test_remote_presence_shows_in_sync(server: TestServer) -> None:
    token, _, since = _setup(server)
    push = {
        "push": [
            {
                "user_id": BOB,
                "presence": "online",
                "last_active_ago": 5,
                "currently_active": True,
                "status_msg": "hi",
            }
        ]
    }
    _edu(server, "remote.two", "m.presence", push)
    body = _sync(server, token, since)
    assert [e for e in body["presence"]["events"] if e["sender"] == BOB] == []
    _edu(server, "remote.one", "m.presence", push)
    body = _sync(server, token, since)
    [event] = [e for e in body["presence"]["events"] if e["sender"] == BOB]
    assert event["content"]["presence"] == "online"
    assert event["content"]["status_msg"] == "hi"
    # Remote users stay online while their server keeps telling us ...
    status = f"/_matrix/client/v3/presence/{BOB}/status"
    for _ in range(20):
        server.advance(60)
    assert server.request("GET", status, token=token).json["presence"] == "online"
    _edu(server, "remote.one", "m.presence", push)
    for _ in range(29):
        server.advance(60)
    assert server.request("GET", status, token=token).json["presence"] == "online"
    # ... and are taken offline after 30 silent minutes.
    for _ in range(3):
        server.advance(60)
    assert server.request("GET", status, token=token).json["presence"] == "offline"


def test_remote_device_list_update_shows_in_sync(server: TestServer) -> None:
    token, _, since = _setup(server)
    update = {"user_id": BOB, "device_id": "BOBDEV", "stream_id": 3, "prev_id": []}
    _edu(server, "remote.two", "m.device_list_update", update)
    assert _sync(server, token, since)["device_lists"]["changed"] == []
    _edu(server, "remote.one", "m.device_list_update", update)
    body = _sync(server, token, since)
    assert body["device_lists"]["changed"] == [BOB]
    # A replay of the same update is not news.
    _edu(server, "remote.one", "m.device_list_update", update)
    assert _sync(server, token, body["next_batch"])["device_lists"]["changed"] == []


def test_local_device_change_shows_to_room_members(server: TestServer) -> None:
    token, room_id, _ = _setup(server)
    _, carol = server.register("carol")
    assert (
        server.request("POST", f"/_matrix/client/v3/join/{room_id}", {}, carol).code
        == 200
    )
    since = _setup_since(server, token)
    resp = server.request(
        "POST",
        "/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "carol"},
            "password": "password123",
        },
    )
    assert resp.code == 200
    server.advance(0)
    assert "@carol:test" in _sync(server, token, since)["device_lists"]["changed"]


def test_remote_to_device_is_delivered_once(server: TestServer) -> None:
    token, _, since = _setup(server)
    devices = server.request("GET", "/_matrix/client/v3/devices", token=token).json
    device_id = devices["devices"][0]["device_id"]
    edu = {
        "sender": BOB,
        "type": "m.test",
        "message_id": "m1",
        "messages": {"@alice:test": {device_id: {"n": 1}}},
    }
    _edu(server, "remote.two", "m.direct_to_device", edu)
    _edu(server, "remote.one", "m.direct_to_device", edu)
    _edu(server, "remote.one", "m.direct_to_device", edu)
    body = _sync(server, token, since)
    assert body["to_device"]["events"] == [
        {"type": "m.test", "sender": BOB, "content": {"n": 1}}
    ]
    star = {**edu, "message_id": "m2", "messages": {"@alice:test": {"*": {"n": 2}}}}
    _edu(server, "remote.one", "m.direct_to_device", star)
    body = _sync(server, token, body["next_batch"])
    assert [e["content"] for e in body["to_device"]["events"]] == [{"n": 2}]


def test_presence_of_strangers_is_not_stored(server: TestServer) -> None:
    _setup(server)
    stranger = "@stranger:remote.one"
    push = {"push": [{"user_id": stranger, "presence": "online"}]}
    _edu(server, "remote.one", "m.presence", push)
    stored = server.get_success(server.hs.presence.store.get_presence(stranger))
    assert stored is None
