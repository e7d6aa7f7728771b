"""PUT and GET /presence/{userId}/status, including every error."""

from __future__ import annotations

import pytest

from tests.presence.conftest import Users
from tests.presence.helpers import get_presence, put_presence, shared_room, status
from tests.support import CLIENT
from tests.support.server import TestServer


def test_set_and_get_own_presence(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    assert status(alice, alice.user_id) == {"presence": "offline"}
    resp = put_presence(
        alice, alice.user_id, {"presence": "online", "status_msg": "Here"}
    )
    assert resp.code == 200 and resp.json == {}
    assert status(alice, alice.user_id) == {
        "presence": "online",
        "last_active_ago": 0,
        "status_msg": "Here",
        "currently_active": True,
    }


def test_last_active_ago_and_currently_active_are_computed_at_read_time(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    put_presence(alice, alice.user_id, {"presence": "online"})
    server.advance(20)
    body = status(alice, alice.user_id)
    assert body["last_active_ago"] == 20_000 and body["currently_active"] is True
    server.advance(2)  # under sync_online_timeout since the PUT: still online
    body = status(alice, alice.user_id)
    assert body["presence"] == "online" and body["last_active_ago"] == 22_000


def test_unavailable_and_offline_carry_no_currently_active(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    put_presence(alice, alice.user_id, {"presence": "unavailable", "status_msg": "afk"})
    assert status(alice, alice.user_id) == {
        "presence": "unavailable",
        "status_msg": "afk",
    }
    put_presence(alice, alice.user_id, {"presence": "offline"})
    assert status(alice, alice.user_id) == {"presence": "offline"}


def test_status_msg_is_replaced_and_cleared(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    put_presence(alice, alice.user_id, {"presence": "online", "status_msg": "a"})
    put_presence(alice, alice.user_id, {"presence": "online", "status_msg": "b"})
    assert status(alice, alice.user_id)["status_msg"] == "b"
    put_presence(alice, alice.user_id, {"presence": "online", "status_msg": None})
    assert "status_msg" not in status(alice, alice.user_id)
    put_presence(alice, alice.user_id, {"presence": "online", "status_msg": "c"})
    put_presence(alice, alice.user_id, {"presence": "online"})
    assert "status_msg" not in status(alice, alice.user_id)


def test_cannot_set_another_users_presence(server: TestServer, users: Users) -> None:
    bob = users["bob"]
    alice = users["alice"]
    resp = put_presence(alice, bob.user_id, {"presence": "online"})
    assert resp.code == 403 and resp.json["errcode"] == "M_FORBIDDEN"
    assert status(users["bob"], bob.user_id) == {"presence": "offline"}


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
    alice = users["alice"]
    resp = put_presence(alice, alice.user_id, body)
    assert resp.code == 400 and resp.json["errcode"] == errcode, resp.json
    assert status(alice, alice.user_id) == {"presence": "offline"}


def test_bad_user_ids_are_rejected(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    for resp in (
        get_presence(alice, "not-a-user-id"),
        put_presence(alice, "not-a-user-id", {"presence": "online"}),
    ):
        assert resp.code == 400 and resp.json["errcode"] == "M_INVALID_PARAM"


def test_both_endpoints_need_a_token(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    path = f"{CLIENT}/presence/{alice.user_id}/status"
    assert server.request("GET", path).code == 401
    assert server.request("PUT", path, {"presence": "online"}).code == 401


def test_unknown_user_is_404(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    resp = get_presence(alice, "@nobody:test")
    assert resp.code == 404 and resp.json["errcode"] == "M_NOT_FOUND"


def test_presence_is_visible_only_to_users_sharing_a_room(
    server: TestServer, users: Users
) -> None:
    alice, bob, eve = users["alice"], users["bob"], users["eve"]
    put_presence(alice, alice.user_id, {"presence": "online", "status_msg": "hi"})
    resp = get_presence(bob, alice.user_id)
    assert resp.code == 403 and resp.json["errcode"] == "M_FORBIDDEN"

    room_id = shared_room(alice, bob)
    assert status(bob, alice.user_id)["status_msg"] == "hi"
    assert status(alice, bob.user_id) == {"presence": "offline"}
    assert get_presence(eve, alice.user_id).code == 403
    assert get_presence(alice, eve.user_id).code == 403

    # An invite is not enough; leaving ends it.
    resp = alice.membership(room_id, "invite", user_id=eve.user_id)
    assert resp.code == 200
    assert get_presence(eve, alice.user_id).code == 403
    assert bob.membership(room_id, "leave").code == 200
    assert get_presence(bob, alice.user_id).code == 403


def test_remote_user_not_sharing_a_room_is_forbidden(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    resp = get_presence(alice, "@someone:elsewhere.example")
    assert resp.code == 403


def test_r0_prefix_is_served(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    resp = alice.put(
        f"/_matrix/client/r0/presence/{alice.user_id}/status",
        {"presence": "unavailable"},
    )
    assert resp.code == 200
    assert status(alice, alice.user_id)["presence"] == "unavailable"
