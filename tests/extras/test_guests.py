"""Guest access: register?kind=guest, the endpoints a guest may call (and the
403 M_GUEST_ACCESS_FORBIDDEN everywhere else), m.room.guest_access on join
and when it is withdrawn, and upgrading a guest to a full account."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.extras.guests import GUESTS_ON, REGISTER, register_guest
from tests.support.client import User
from tests.support.server import FakeResponse, TestServer


@pytest.fixture
def guest_server(make_server: Callable[..., TestServer]) -> TestServer:
    return make_server(GUESTS_ON)


def _forbidden(resp: FakeResponse) -> None:
    assert resp.code == 403, (resp.code, resp.json)
    assert resp.json["errcode"] == "M_GUEST_ACCESS_FORBIDDEN"


def test_guest_access_is_off_by_default(server: TestServer) -> None:
    resp = server.request("POST", f"{REGISTER}?kind=guest", {})
    _forbidden(resp)


def test_register_a_guest(guest_server: TestServer) -> None:
    server = guest_server
    guest = register_guest(
        server, {"initial_device_display_name": "phone", "username": "x"}
    )
    localpart = guest.localpart
    assert localpart.isdigit()
    whoami = guest.get("/account/whoami", expect=200).json
    assert whoami == {
        "user_id": guest.user_id,
        "device_id": guest.device_id,
        "is_guest": True,
    }
    device = guest.get(f"/devices/{guest.device_id}", expect=200).json
    assert device["display_name"] == "phone"
    # An empty body works too, and a guest has its localpart as display name.
    other = register_guest(server)
    assert other.user_id != guest.user_id
    profile = server.request("GET", f"/_matrix/client/v3/profile/{other.user_id}")
    assert profile.json.get("displayname") == other.localpart


def test_guest_allow_list(guest_server: TestServer) -> None:
    server = guest_server
    alice = server.user("alice")
    room = alice.create_room(preset="public_chat")
    alice.put_state(room, "m.room.guest_access", {"guest_access": "can_join"})
    event_id = alice.send(room, "hello guests")
    guest = register_guest(server)
    guest.post(f"/rooms/{room}/join", {}, expect=200)
    # Allowed (Synapse's allow_guest endpoints).
    for path in (
        "/sync",
        "/joined_rooms",
        "/capabilities",
        "/publicRooms",
        "/devices",
        f"/rooms/{room}/state",
        f"/rooms/{room}/members",
        f"/rooms/{room}/event/{event_id}",
        f"/rooms/{room}/context/{event_id}",
        f"/rooms/{room}/initialSync",
        f"/rooms/{room}/state/m.room.create",
        f"/_matrix/client/v1/rooms/{room}/relations/{event_id}",
        f"/_matrix/client/v1/rooms/{room}/hierarchy",
        "/voip/turnServer",
    ):
        guest.get(path, expect=200)
    guest.get(f"/rooms/{room}/messages", dir="b", expect=200)
    guest.send(room, "hi from a guest")
    guest.post(
        f"/rooms/{room}/send/m.room.message",
        {"body": "x", "msgtype": "m.text"},
        expect=200,
    )
    guest.post("/keys/query", {"device_keys": {alice.user_id: []}}, expect=200)
    guest.put(
        f"/profile/{guest.user_id}/displayname", {"displayname": "Guest"}, expect=200
    )
    guest.put(
        "/sendToDevice/m.test/t1",
        {"messages": {alice.user_id: {"*": {"a": 1}}}},
        expect=200,
    )
    # Everything else is closed.
    for method, path, body in (
        ("POST", "/createRoom", {}),
        ("GET", "/initialSync", None),
        ("GET", f"/events/{event_id}", None),
        ("PUT", f"/rooms/{room}/typing/{guest.user_id}", {"typing": True}),
        ("POST", f"/rooms/{room}/invite", {"user_id": alice.user_id}),
        ("POST", f"/rooms/{room}/redact/{event_id}", {}),
        ("POST", f"/rooms/{room}/receipt/m.read/{event_id}", {}),
        ("PUT", f"/user/{guest.user_id}/account_data/x.y", {}),
        ("POST", f"/user/{guest.user_id}/filter", {}),
        ("PUT", f"/profile/{guest.user_id}/avatar_url", {"avatar_url": "mxc://a/b"}),
        ("GET", f"/_matrix/client/v1/rooms/{room}/threads", None),
        ("POST", f"/user/{guest.user_id}/openid/request_token", {}),
        ("POST", "/keys/device_signing/upload", {}),
        ("GET", "/room_keys/version", None),
        ("POST", "/logout", {}),
        ("GET", "/_synapse/admin/v1/registration_tokens", None),
        ("POST", f"/knock/{room}", {}),
        ("GET", f"/rooms/{room}/joined_members", None),
        ("POST", "/search", {"search_categories": {}}),
        ("POST", f"/rooms/{room}/report/{event_id}", {}),
        ("PUT", f"/_chatly/client/v1/rooms/{room}/hidden/{event_id}", {}),
    ):
        _forbidden(guest.request(method, path, body))


def test_turn_for_guests_follows_config(make_server: Callable[..., TestServer]) -> None:
    server = make_server(
        {
            **GUESTS_ON,
            "voip": {
                "turn_uris": ["turn:t.example"],
                "turn_shared_secret": "s",
                "turn_allow_guests": False,
            },
        }
    )
    guest = register_guest(server)
    _forbidden(guest.get("/voip/turnServer"))
    assert server.user("alice").get("/voip/turnServer", expect=200).json["uris"]


def test_join_needs_can_join(guest_server: TestServer) -> None:
    server = guest_server
    alice = server.user("alice")
    room = alice.create_room(preset="public_chat")
    alice.put_state(room, "m.room.guest_access", {"guest_access": "forbidden"})
    guest = register_guest(server)
    resp = guest.post(f"/join/{room}", {}, expect=403)
    assert resp.json["errcode"] == "M_FORBIDDEN"
    alice.put_state(room, "m.room.guest_access", {"guest_access": "can_join"})
    guest.post(f"/join/{room}", {}, expect=200)
    # A room on another server: no way to know its guest access.
    guest.post("/join/!far:elsewhere.example", {}, expect=403)


def test_withdrawn_guest_access_makes_guests_leave(guest_server: TestServer) -> None:
    server = guest_server
    alice, bob = server.user("alice"), server.user("bob")
    room = alice.create_room(preset="public_chat")
    alice.put_state(room, "m.room.guest_access", {"guest_access": "can_join"})
    bob.join(room)
    guest = register_guest(server)
    guest.post(f"/rooms/{room}/join", {}, expect=200)
    alice.put_state(room, "m.room.guest_access", {"guest_access": "forbidden"})
    server.advance(0)
    member = alice.state(room, "m.room.member", guest.user_id)
    assert member["membership"] == "leave"
    assert alice.state(room, "m.room.member", bob.user_id)["membership"] == "join"
    guest.post(f"/rooms/{room}/join", {}, expect=403)


def test_guest_peeks_through_events_with_room_id(guest_server: TestServer) -> None:
    server = guest_server
    alice = server.user("alice")
    room = alice.create_room(preset="public_chat")
    alice.put_state(
        room, "m.room.history_visibility", {"history_visibility": "world_readable"}
    )
    guest = register_guest(server)
    resp = guest.get("/events", timeout=0)
    assert resp.code == 400
    start = guest.get(f"/rooms/{room}/initialSync", expect=200).json["messages"]["end"]
    alice.send(room, "peekable")
    chunk = guest.get("/events", timeout=0, room_id=room, **{"from": start}).json[
        "chunk"
    ]
    assert [e["content"].get("body") for e in chunk] == ["peekable"]


def _upgrade(
    server: TestServer, guest: User, username: str, token: str
) -> FakeResponse:
    body = {
        "username": username,
        "password": "a-good-password",
        "guest_access_token": token,
    }
    first = server.request("POST", REGISTER, body)
    assert first.code == 401, first.json
    session = first.json["session"]
    return server.request(
        "POST",
        REGISTER,
        {**body, "auth": {"type": "m.login.dummy", "session": session}},
    )


def test_upgrade_a_guest(guest_server: TestServer) -> None:
    server = guest_server
    alice = server.user("alice")
    room = alice.create_room(preset="public_chat")
    alice.put_state(room, "m.room.guest_access", {"guest_access": "can_join"})
    guest = register_guest(server)
    guest.post(f"/rooms/{room}/join", {}, expect=200)
    resp = _upgrade(server, guest, guest.localpart, guest.token)
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == guest.user_id
    full = User(server, resp.json["user_id"], resp.json["access_token"])
    assert full.get("/account/whoami", expect=200).json["is_guest"] is False
    # The old guest token now acts as the full account, rooms kept.
    assert guest.get("/account/whoami", expect=200).json["is_guest"] is False
    full.post("/createRoom", {}, expect=200)
    assert room in full.get("/joined_rooms", expect=200).json["joined_rooms"]
    server.login(guest.localpart, "a-good-password")
    # Upgrading twice: no longer a guest.
    again = server.request(
        "POST",
        REGISTER,
        {
            "username": guest.localpart,
            "password": "x" * 10,
            "guest_access_token": guest.token,
        },
    )
    assert again.code == 403


def test_upgrade_needs_the_guests_own_localpart(guest_server: TestServer) -> None:
    server = guest_server
    guest = register_guest(server)
    other = register_guest(server)
    body = {
        "username": other.localpart,
        "password": "x" * 10,
        "guest_access_token": guest.token,
    }
    resp = server.request("POST", REGISTER, body)
    assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")
    alice = server.user("alice")
    body = {
        "username": "alice",
        "password": "x" * 10,
        "guest_access_token": alice.token,
    }
    resp = server.request("POST", REGISTER, body)
    assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")
    bad = {"username": "alice", "password": "x" * 10, "guest_access_token": "nope"}
    assert server.request("POST", REGISTER, bad).code == 401


def test_numeric_usernames_are_reserved(guest_server: TestServer) -> None:
    server = guest_server
    resp = server.request("POST", REGISTER, {"username": "12345", "password": "x" * 10})
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_USERNAME")
    avail = server.request("GET", f"{REGISTER}/available?username=12345")
    assert avail.json["errcode"] == "M_INVALID_USERNAME"


def test_guest_registration_is_rate_limited(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server(
        {
            **GUESTS_ON,
            "rate_limiting": {
                "enabled": True,
                "registration_per_address": {"per_second": 0.01, "burst_count": 2},
            },
        }
    )
    register_guest(server)
    register_guest(server)
    resp = server.request("POST", f"{REGISTER}?kind=guest", {})
    assert (resp.code, resp.json["errcode"]) == (429, "M_LIMIT_EXCEEDED")
