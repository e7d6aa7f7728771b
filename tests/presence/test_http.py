"""PUT and GET /presence/{userId}/status, including every error."""

from __future__ import annotations

import pytest

from tests.harness import TestServer
from tests.presence.conftest import Users
from tests.presence.helpers import (
    get_presence,
    put_presence,
    shared_room,
    status,
)
from tests.rooms.helpers import CLIENT, membership


def test_set_and_get_own_presence(server: TestServer, users: Users) -> None:
    alice, token = users["alice"]
    assert status(server, token, alice) == {"presence": "offline"}
    resp = put_presence(
        server, token, alice, {"presence": "online", "status_msg": "Here"}
    )
    assert resp.code == 200 and resp.json == {}
    assert status(server, token, alice) == {
        "presence": "online",
        "last_active_ago": 0,
        "status_msg": "Here",
        "currently_active": True,
    }


def test_last_active_ago_and_currently_active_are_computed_at_read_time(
    server: TestServer, users: Users
) -> None:
    alice, token = users["alice"]
    put_presence(server, token, alice, {"presence": "online"})
    server.advance(20)
    body = status(server, token, alice)
    assert body["last_active_ago"] == 20_000 and body["currently_active"] is True
    server.advance(2)  # under sync_online_timeout since the PUT: still online
    body = status(server, token, alice)
    assert body["presence"] == "online" and body["last_active_ago"] == 22_000


def test_unavailable_and_offline_carry_no_currently_active(
    server: TestServer, users: Users
) -> None:
    alice, token = users["alice"]
    put_presence(server, token, alice, {"presence": "unavailable", "status_msg": "afk"})
    assert status(server, token, alice) == {
        "presence": "unavailable",
        "status_msg": "afk",
    }
    put_presence(server, token, alice, {"presence": "offline"})
    assert status(server, token, alice) == {"presence": "offline"}


def test_status_msg_is_replaced_and_cleared(server: TestServer, users: Users) -> None:
    alice, token = users["alice"]
    put_presence(server, token, alice, {"presence": "online", "status_msg": "a"})
    put_presence(server, token, alice, {"presence": "online", "status_msg": "b"})
    assert status(server, token, alice)["status_msg"] == "b"
    put_presence(server, token, alice, {"presence": "online", "status_msg": None})
    assert "status_msg" not in status(server, token, alice)
    put_presence(server, token, alice, {"presence": "online", "status_msg": "c"})
    put_presence(server, token, alice, {"presence": "online"})
    assert "status_msg" not in status(server, token, alice)


def test_cannot_set_another_users_presence(server: TestServer, users: Users) -> None:
    bob, _ = users["bob"]
    _, token = users["alice"]
    resp = put_presence(server, token, bob, {"presence": "online"})
    assert resp.code == 403 and resp.json["errcode"] == "M_FORBIDDEN"
    assert status(server, users["bob"][1], bob) == {"presence": "offline"}


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"presence": "busy"}, "M_INVALID_PARAM"),
        ({"presence": "ONLINE"}, "M_INVALID_PARAM"),
        ({"presence": "online", "status_msg": "x" * 2049}, "M_INVALID_PARAM"),
        # An absent required field: M_MISSING_PARAM (spec "Common error codes").
        ({}, "M_MISSING_PARAM"),
        ({"status_msg": "no presence"}, "M_MISSING_PARAM"),
        ({"presence": 1}, "M_BAD_JSON"),
        ({"presence": None}, "M_BAD_JSON"),
        ({"presence": "online", "status_msg": 5}, "M_BAD_JSON"),
        ({"presence": "online", "status_msg": ["x"]}, "M_BAD_JSON"),
        ([{"presence": "online"}], "M_BAD_JSON"),
        (b"{not json", "M_NOT_JSON"),
    ],
)
def test_bad_bodies_are_rejected(
    server: TestServer, users: Users, body: object, errcode: str
) -> None:
    alice, token = users["alice"]
    resp = put_presence(server, token, alice, body)
    assert resp.code == 400 and resp.json["errcode"] == errcode, resp.json
    assert status(server, token, alice) == {"presence": "offline"}


def test_bad_user_ids_are_rejected(server: TestServer, users: Users) -> None:
    _, token = users["alice"]
    for resp in (
        get_presence(server, token, "not-a-user-id"),
        put_presence(server, token, "not-a-user-id", {"presence": "online"}),
    ):
        assert resp.code == 400 and resp.json["errcode"] == "M_INVALID_PARAM"


def test_both_endpoints_need_a_token(server: TestServer, users: Users) -> None:
    alice, _ = users["alice"]
    path = f"{CLIENT}/presence/{alice}/status"
    assert server.request("GET", path).code == 401
    assert server.request("PUT", path, {"presence": "online"}).code == 401


def test_unknown_user_is_404(server: TestServer, users: Users) -> None:
    _, token = users["alice"]
    resp = get_presence(server, token, "@nobody:test")
    assert resp.code == 404 and resp.json["errcode"] == "M_NOT_FOUND"


def test_presence_is_visible_only_to_users_sharing_a_room(
    server: TestServer, users: Users
) -> None:
    (alice, a_token), (bob, b_token), (eve, e_token) = (
        users["alice"],
        users["bob"],
        users["eve"],
    )
    put_presence(server, a_token, alice, {"presence": "online", "status_msg": "hi"})
    resp = get_presence(server, b_token, alice)
    assert resp.code == 403 and resp.json["errcode"] == "M_FORBIDDEN"

    room_id = shared_room(server, users["alice"], users["bob"])
    assert status(server, b_token, alice)["status_msg"] == "hi"
    assert status(server, a_token, bob) == {"presence": "offline"}
    assert get_presence(server, e_token, alice).code == 403
    assert get_presence(server, a_token, eve).code == 403

    # An invite is not enough; leaving ends it.
    resp = membership(server, a_token, room_id, "invite", user_id=eve)
    assert resp.code == 200
    assert get_presence(server, e_token, alice).code == 403
    assert membership(server, b_token, room_id, "leave").code == 200
    assert get_presence(server, b_token, alice).code == 403


def test_remote_user_not_sharing_a_room_is_forbidden(
    server: TestServer, users: Users
) -> None:
    _, token = users["alice"]
    resp = get_presence(server, token, "@someone:elsewhere.example")
    assert resp.code == 403


def test_r0_prefix_is_served(server: TestServer, users: Users) -> None:
    alice, token = users["alice"]
    resp = server.request(
        "PUT",
        f"/_matrix/client/r0/presence/{alice}/status",
        {"presence": "unavailable"},
        token=token,
    )
    assert resp.code == 200
    assert status(server, token, alice)["presence"] == "unavailable"
