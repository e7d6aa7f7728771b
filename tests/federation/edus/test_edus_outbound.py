"""Local typing, receipts, presence, device changes and to-device messages
reach the other servers as EDUs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.federation.sending_helpers import (
    install_transport,
    public_room,
    remote_join,
    restart,
    say,
)
from tests.support.server import TestServer


def _room_with_remote(server: TestServer) -> tuple[Any, str, str]:
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    return transport, token, room_id


def test_typing_is_sent_to_the_room_servers(server: TestServer) -> None:
    transport, token, room_id = _room_with_remote(server)
    path = f"/_matrix/client/v3/rooms/{room_id}/typing/@alice:test"
    assert (
        server.request("PUT", path, {"typing": True, "timeout": 10000}, token).code
        == 200
    )
    server.advance(0)
    assert server.request("PUT", path, {"typing": False}, token).code == 200
    server.advance(0)
    assert transport.edus("remote.one", "m.typing") == [
        {"room_id": room_id, "user_id": "@alice:test", "typing": True},
        {"room_id": room_id, "user_id": "@alice:test", "typing": False},
    ]


def test_public_read_receipts_are_sent_private_ones_are_not(
    server: TestServer,
) -> None:
    transport, token, room_id = _room_with_remote(server)
    first = say(server, token, room_id, "one")
    second = say(server, token, room_id, "two")
    server.advance(0)
    base = f"/_matrix/client/v3/rooms/{room_id}/receipt"
    assert (
        server.request("POST", f"{base}/m.read.private/{first}", {}, token).code == 200
    )
    assert server.request("POST", f"{base}/m.read/{second}", {}, token).code == 200
    server.advance(0)
    receipts = transport.edus("remote.one", "m.receipt")
    assert len(receipts) == 1
    entry = receipts[0][room_id]["m.read"]["@alice:test"]
    assert entry["event_ids"] == [second]
    assert isinstance(entry["data"]["ts"], int)


def test_presence_goes_to_servers_sharing_a_room(server: TestServer) -> None:
    transport, token, _ = _room_with_remote(server)
    resp = server.request(
        "PUT",
        "/_matrix/client/v3/presence/@alice:test/status",
        {"presence": "online", "status_msg": "here"},
        token,
    )
    assert resp.code == 200
    server.advance(0)
    pushes = [p for e in transport.edus("remote.one", "m.presence") for p in e["push"]]
    assert pushes[-1]["user_id"] == "@alice:test"
    assert pushes[-1]["presence"] == "online"
    assert pushes[-1]["status_msg"] == "here"
    assert "last_active_ago" in pushes[-1] and "currently_active" in pushes[-1]


def test_presence_disabled_sends_nothing(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"presence": {"enabled": False}})
    transport, token, _ = _room_with_remote(server)
    server.request(
        "PUT",
        "/_matrix/client/v3/presence/@alice:test/status",
        {"presence": "online"},
        token,
    )
    server.advance(0)
    assert transport.edus("remote.one", "m.presence") == []


def _login(server: TestServer, device_id: str) -> str:
    resp = server.request(
        "POST",
        "/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "alice"},
            "password": "password123",
            "device_id": device_id,
            "initial_device_display_name": f"{device_id} phone",
        },
    )
    assert resp.code == 200, resp.json
    return str(resp.json["access_token"])


def test_device_list_updates_chain_and_survive_a_restart(
    server: TestServer, tmp_path: Path
) -> None:
    transport, token, _ = _room_with_remote(server)
    _login(server, "PHONE")
    server.advance(0)
    resp = server.request(
        "PUT", "/_matrix/client/v3/devices/PHONE", {"display_name": "renamed"}, token
    )
    assert resp.code == 200
    server.advance(0)
    updates = transport.edus("remote.one", "m.device_list_update")
    assert [u["device_id"] for u in updates] == ["PHONE", "PHONE"]
    assert updates[0]["device_display_name"] == "PHONE phone"
    assert updates[1]["device_display_name"] == "renamed"
    assert updates[1]["prev_id"] == [updates[0]["stream_id"]]
    assert updates[1]["stream_id"] > updates[0]["stream_id"]

    # Down, then we restart: the stored EDU is still delivered.
    transport.behaviour["remote.one"] = "down"
    phone_token = _login(server, "TABLET")
    assert phone_token
    server.advance(0)
    restarted, new_transport = restart(server, tmp_path)
    restarted.advance(10)
    [update] = new_transport.edus("remote.one", "m.device_list_update")
    assert update["device_id"] == "TABLET"
    assert update["prev_id"] == [updates[1]["stream_id"]]


def test_deleted_device_is_announced(server: TestServer) -> None:
    transport, _, _ = _room_with_remote(server)
    phone = _login(server, "PHONE")
    assert server.request("POST", "/_matrix/client/v3/logout", {}, phone).code == 200
    server.advance(0)
    updates = transport.edus("remote.one", "m.device_list_update")
    assert updates[-1]["device_id"] == "PHONE"
    assert updates[-1]["deleted"] is True


def test_to_device_for_remote_users_is_sent_with_a_message_id(
    server: TestServer,
) -> None:
    transport, token, _ = _room_with_remote(server)
    body = {"messages": {"@bob:remote.one": {"BOBDEV": {"hello": "there"}}}}
    path = "/_matrix/client/v3/sendToDevice/m.test/txn1"
    assert server.request("PUT", path, body, token).code == 200
    assert server.request("PUT", path, body, token).code == 200  # a retry
    server.advance(0)
    [edu] = transport.edus("remote.one", "m.direct_to_device")
    assert edu["sender"] == "@alice:test"
    assert edu["type"] == "m.test"
    assert edu["messages"] == {"@bob:remote.one": {"BOBDEV": {"hello": "there"}}}
    assert isinstance(edu["message_id"], str) and edu["message_id"]


def test_a_server_joining_gets_local_users_current_presence(
    server: TestServer,
) -> None:
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    resp = server.request(
        "PUT",
        "/_matrix/client/v3/presence/@alice:test/status",
        {"presence": "online", "status_msg": "here"},
        token,
    )
    assert resp.code == 200
    server.advance(0)
    assert transport.edus("remote.one", "m.presence") == []
    remote_join(server, room_id, "@bob:remote.one")
    pushes = [p for e in transport.edus("remote.one", "m.presence") for p in e["push"]]
    assert [(p["user_id"], p["status_msg"]) for p in pushes] == [
        ("@alice:test", "here")
    ]


def test_a_local_user_joining_sends_their_presence_to_the_rooms_servers(
    server: TestServer,
) -> None:
    """Only the servers of the room's remote members hear of it, and only
    while the joiner is online."""
    transport, _, room_id = _room_with_remote(server)
    tokens = {name: server.register(name)[1] for name in ("carol", "dave")}
    resp = server.request(
        "PUT",
        "/_matrix/client/v3/presence/@carol:test/status",
        {"presence": "online", "status_msg": "joining"},
        tokens["carol"],
    )
    assert resp.code == 200
    server.advance(0)
    sent_before = len(transport.edus("remote.one", "m.presence"))
    for name in ("carol", "dave"):
        path = f"/_matrix/client/v3/rooms/{room_id}/join"
        assert server.request("POST", path, {}, tokens[name]).code == 200
    server.advance(0)
    pushes = [
        p
        for e in transport.edus("remote.one", "m.presence")[sent_before:]
        for p in e["push"]
    ]
    assert [(p["user_id"], p["status_msg"]) for p in pushes] == [
        ("@carol:test", "joining")
    ]


def test_online_users_are_announced_again_every_25_minutes(
    server: TestServer,
) -> None:
    transport, _, _ = _room_with_remote(server)
    server.get_success(server.hs.presence.service.user_syncing("@alice:test", None))
    for _ in range(10):  # online, then idle: each change is sent at once
        server.advance(60)
    changes = len(transport.edus("remote.one", "m.presence"))
    assert changes >= 1
    for _ in range(14):
        server.advance(60)
    assert len(transport.edus("remote.one", "m.presence")) == changes
    for _ in range(2):
        server.advance(60)
    pushes = transport.edus("remote.one", "m.presence")[changes:]
    assert [p["user_id"] for e in pushes for p in e["push"]] == ["@alice:test"]
