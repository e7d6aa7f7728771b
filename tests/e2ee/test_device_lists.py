"""device_lists in /sync and GET /keys/changes: who to re-query, who to forget.

Spec: client-server API, "Tracking the device list for a user".
"""

from __future__ import annotations

from tests.e2ee.keys import Device
from tests.support import User
from tests.support.server import TestServer


def shared_room(alice: User, bob: User) -> str:
    room = alice.create_room(invite=[bob.user_id])
    bob.join(room)
    return room


def test_new_device_keys_show_as_changed(alice: User, bob: User) -> None:
    shared_room(alice, bob)
    since = bob.sync()["next_batch"]
    alice.post("/keys/upload", {"device_keys": Device.of(alice).device_keys()})
    body = bob.sync(since=since, timeout=0)
    assert body["device_lists"] == {"changed": [alice.user_id], "left": []}
    upto = body["next_batch"]
    changes = bob.get("/keys/changes", expect=200, **{"from": since, "to": upto}).json
    assert changes == {"changed": [alice.user_id], "left": []}


def test_a_stranger_is_not_told(server: TestServer, alice: User) -> None:
    carol = server.user("carol")
    since = carol.sync()["next_batch"]
    alice.post("/keys/upload", {"device_keys": Device.of(alice).device_keys()})
    body = carol.sync(since=since, timeout=0)
    assert body["device_lists"] == {"changed": [], "left": []}


def test_joining_makes_members_changed_and_leaving_makes_them_left(
    alice: User, bob: User
) -> None:
    room = alice.create_room(preset="public_chat")
    since = alice.sync()["next_batch"]
    bob.join(room)
    body = alice.sync(since=since, timeout=0)
    assert bob.user_id in body["device_lists"]["changed"]
    since = body["next_batch"]
    bob.leave(room)
    body = alice.sync(since=since, timeout=0)
    assert body["device_lists"]["left"] == [bob.user_id]
    assert bob.user_id not in body["device_lists"]["changed"]
    changes = alice.get(
        "/keys/changes", expect=200, **{"from": since, "to": body["next_batch"]}
    ).json
    assert changes["left"] == [bob.user_id]


def test_leaving_one_of_two_shared_rooms_is_not_left(alice: User, bob: User) -> None:
    shared_room(alice, bob)
    second = shared_room(alice, bob)
    since = alice.sync()["next_batch"]
    bob.leave(second)
    assert alice.sync(since=since, timeout=0)["device_lists"]["left"] == []


def test_own_new_device_is_changed(server: TestServer, alice: User) -> None:
    since = alice.sync()["next_batch"]
    server.login("alice")
    assert alice.sync(since=since, timeout=0)["device_lists"]["changed"] == [
        alice.user_id
    ]


def test_deleting_a_device_tells_room_members(
    server: TestServer, alice: User, bob: User
) -> None:
    shared_room(alice, bob)
    other = server.login("alice")
    since = bob.sync()["next_batch"]
    alice.delete(
        f"/devices/{other.device_id}",
        {
            "auth": {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": "alice"},
                "password": "password123",
            }
        },
        expect=200,
    )
    assert alice.user_id in bob.sync(since=since, timeout=0)["device_lists"]["changed"]


def test_keys_changes_needs_both_tokens(alice: User) -> None:
    since = alice.sync()["next_batch"]
    err = alice.get("/keys/changes", expect=400, **{"from": since}).json
    assert err["errcode"] == "M_MISSING_PARAM"
    err = alice.get("/keys/changes", expect=400, **{"from": "junk", "to": since}).json
    assert err["errcode"] == "M_INVALID_PARAM"
