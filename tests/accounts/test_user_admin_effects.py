"""What the admin's flags do: a locked account cannot log in or use its
tokens; a shadow-banned user's messages, state, invites and typing reach
nobody while looking sent; refused admin API requests are rate-limited."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import login
from tests.support.server import TestServer

V1 = "/_synapse/admin/v1"
V2 = "/_synapse/admin/v2/users"
CLIENT = "/_matrix/client/v3"


def test_locked_account(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    _, alice = server.register("alice")
    resp = server.request("PUT", f"{V2}/@alice:test", {"locked": True}, token=root)
    assert resp.code == 200, resp.json
    whoami = server.request("GET", f"{CLIENT}/account/whoami", token=alice)
    assert (whoami.code, whoami.json["errcode"]) == (401, "M_USER_LOCKED")
    assert whoami.json["soft_logout"] is True
    resp = login(server, "alice")
    assert (resp.code, resp.json["errcode"]) == (401, "M_USER_LOCKED")
    # A wrong password says nothing about the lock.
    assert login(server, "alice", "wrong password").json["errcode"] == "M_FORBIDDEN"
    # Locked users are left out of the list unless asked for.
    names = [u["name"] for u in server.request("GET", V2, token=root).json["users"]]
    assert "@alice:test" not in names
    listed = server.request("GET", f"{V2}?locked=true", token=root).json["users"]
    assert "@alice:test" in [u["name"] for u in listed]
    server.request("PUT", f"{V2}/@alice:test", {"locked": False}, token=root)
    assert server.request("GET", f"{CLIENT}/account/whoami", token=alice).code == 200
    assert login(server, "alice").code == 200


def _messages(server: TestServer, token: str, room: str) -> list[Any]:
    path = f"{CLIENT}/rooms/{room}/messages?dir=b&limit=50"
    resp = server.request("GET", path, token=token)
    assert resp.code == 200, resp.json
    return list(resp.json["chunk"])


def test_shadow_banned_sends_go_nowhere(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    _, bob = server.register("bob")
    _, eve = server.register("eve")
    _, carol = server.register("carol")
    resp = server.request(
        "POST", f"{CLIENT}/createRoom", {"preset": "public_chat"}, token=bob
    )
    room = resp.json["room_id"]
    assert server.request("POST", f"{CLIENT}/join/{room}", {}, token=eve).code == 200
    assert (
        server.request("POST", f"{V1}/users/@eve:test/shadow_ban", token=root).code
        == 200
    )

    send = f"{CLIENT}/rooms/{room}/send/m.room.message/t1"
    resp = server.request("PUT", send, {"msgtype": "m.text", "body": "spam"}, token=eve)
    assert resp.code == 200, resp.json
    fake = resp.json["event_id"]
    assert fake.startswith("$")
    event = server.request("GET", f"{CLIENT}/rooms/{room}/event/{fake}", token=bob)
    assert event.code == 404
    state = f"{CLIENT}/rooms/{room}/state/m.room.topic/"
    resp = server.request("PUT", state, {"topic": "spam"}, token=eve)
    assert resp.code == 200 and resp.json["event_id"].startswith("$")
    invite = f"{CLIENT}/rooms/{room}/invite"
    assert (
        server.request("POST", invite, {"user_id": "@carol:test"}, token=eve).json == {}
    )
    typing = f"{CLIENT}/rooms/{room}/typing/@eve:test"
    body = {"typing": True, "timeout": 30000}
    assert server.request("PUT", typing, body, token=eve).json == {}
    resp = server.request(
        "POST", f"{CLIENT}/createRoom", {"invite": ["@carol:test"]}, token=eve
    )
    assert resp.code == 200, resp.json
    eves_room = resp.json["room_id"]

    seen = _messages(server, bob, room)
    assert not [
        e for e in seen if e["sender"] == "@eve:test" and e["type"] != "m.room.member"
    ]
    sync = server.request("GET", f"{CLIENT}/sync", token=carol).json
    assert sync["rooms"].get("invite", {}) == {}
    assert eves_room not in sync["rooms"].get("join", {})

    # Her new display name is hers, but her member events keep the old one.
    name = f"{CLIENT}/profile/@eve:test/displayname"
    assert server.request("PUT", name, {"displayname": "Sp4m"}, token=eve).code == 200
    assert server.request("GET", name).json == {"displayname": "Sp4m"}
    member = server.request(
        "GET", f"{CLIENT}/rooms/{room}/state/m.room.member/@eve:test", token=bob
    )
    assert member.json["displayname"] == "eve"

    # Lifted: eve's messages arrive again.
    server.request("DELETE", f"{V1}/users/@eve:test/shadow_ban", token=root)
    send = f"{CLIENT}/rooms/{room}/send/m.room.message/t2"
    resp = server.request("PUT", send, {"msgtype": "m.text", "body": "hi"}, token=eve)
    real = resp.json["event_id"]
    assert (
        server.request("GET", f"{CLIENT}/rooms/{room}/event/{real}", token=bob).code
        == 200
    )


def test_refused_admin_requests_are_rate_limited(make_server: Any) -> None:
    server = make_server(
        {
            "rate_limiting": {
                "enabled": True,
                "admin_failed_attempts": {"per_second": 0.01, "burst_count": 3},
            }
        }
    )
    root = server.register("root", admin=True)[1]
    _, alice = server.register("alice")
    for token in ("wrong", None, alice):
        assert server.request("GET", V2, token=token).code in (401, 403)
    resp = server.request("GET", V2, token=alice)
    assert (resp.code, resp.json["errcode"]) == (429, "M_LIMIT_EXCEEDED")
    assert resp.json["retry_after_ms"] > 0
    # The whole admin API from that address, the admin's token too, waits.
    assert server.request("GET", V2, token=root).code == 429
    other = server.request("GET", V2, token=root, client_ip="10.0.0.2")
    assert other.code == 200
    # The client API is not affected.
    assert server.request("GET", f"{CLIENT}/account/whoami", token=alice).code == 200
    server.advance(200)
    assert server.request("GET", V2, token=root).code == 200
