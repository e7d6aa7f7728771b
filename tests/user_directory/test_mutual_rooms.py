"""GET /_matrix/client/v1/mutual_rooms (v1.19, MSC2666), and the unstable
path Element calls, advertised in /versions."""

from __future__ import annotations

from typing import Any

from tests.support import q
from tests.support.server import TestServer

V1 = "/_matrix/client/v1/mutual_rooms"
UNSTABLE = "/_matrix/client/unstable/uk.half-shot.msc2666/user/mutual_rooms"


def _mutual(user: Any, path: str = V1, expect: int = 200, **query: Any) -> Any:
    return user.get(path, expect=expect, **query).json


def test_rooms_both_users_are_joined_to(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    shared = sorted(alice.create_room(preset="public_chat") for _ in range(3))
    for room_id in shared:
        bob.join(room_id)
    alice.create_room()  # alice alone
    invited = alice.create_room(invite=[bob.user_id])  # bob only invited
    left = alice.create_room(preset="public_chat")
    bob.join(left)
    bob.leave(left)
    assert invited not in shared
    body = _mutual(alice, user_id=bob.user_id)
    assert body == {"joined": shared, "count": 3}
    assert _mutual(bob, user_id=alice.user_id) == body
    assert _mutual(alice, user_id="@nobody:test") == {"joined": [], "count": 0}
    assert _mutual(alice, UNSTABLE, user_id=bob.user_id) == body
    assert (
        _mutual(alice, "/_matrix/client/v1/user/mutual_rooms", user_id=bob.user_id)
        == body
    )


def test_batches_of_100(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    rooms = []
    for _ in range(101):
        room_id = alice.create_room(preset="public_chat")
        bob.join(room_id)
        rooms.append(room_id)
    rooms.sort()
    first = _mutual(alice, user_id=bob.user_id)
    assert first["joined"] == rooms[:100] and first["count"] == 101
    second = _mutual(alice, user_id=bob.user_id, **{"from": first["next_batch"]})
    assert second == {"joined": rooms[100:], "count": 101}
    # The unstable path also pages with matrix-js-sdk's older names.
    old = _mutual(alice, UNSTABLE, user_id=bob.user_id)
    assert old["next_batch_token"] == first["next_batch"]
    last = _mutual(
        alice, UNSTABLE, user_id=bob.user_id, batch_token=old["next_batch_token"]
    )
    assert last["joined"] == rooms[100:]


def test_bad_requests(server: TestServer) -> None:
    alice = server.user("alice")
    cases = [
        ({}, "M_MISSING_PARAM"),
        ({"user_id": "bob"}, "M_INVALID_PARAM"),
        ({"user_id": "@bö b:test"}, "M_INVALID_PARAM"),
        ({"user_id": alice.user_id}, "M_INVALID_PARAM"),
        ({"user_id": "@bob:test", "from": "!!!"}, "M_INVALID_PARAM"),
    ]
    for query, errcode in cases:
        resp = alice.get(V1, expect=400, **query)
        assert resp.json["errcode"] == errcode, (query, resp.json)
    resp = alice.get(f"{V1}?user_id={q('@a:test')}&user_id={q('@b:test')}", expect=400)
    assert resp.json["errcode"] == "M_INVALID_PARAM"
    assert server.request("GET", f"{V1}?user_id=%40bob%3Atest").code == 401


def test_versions_advertises_the_unstable_feature(server: TestServer) -> None:
    body = server.request("GET", "/_matrix/client/versions").json
    assert body["unstable_features"]["uk.half-shot.msc2666.query_mutual_rooms"] is True
