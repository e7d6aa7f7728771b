"""Idle and offline timeouts, syncing, activity, and surviving a restart."""

from __future__ import annotations

from tests.harness import TestServer
from tests.presence.conftest import Users
from tests.presence.helpers import put_presence, restart, shared_room, status
from tests.rooms.helpers import send


def sync_start(
    server: TestServer, user_id: str, set_presence: str | None = None
) -> None:
    server.get_success(server.hs.presence.service.user_syncing(user_id, set_presence))


def sync_end(server: TestServer, user_id: str, set_presence: str | None = None) -> None:
    server.hs.presence.service.user_stopped_syncing(user_id, set_presence)


def test_syncing_brings_a_user_online(server: TestServer, users: Users) -> None:
    alice, token = users["alice"]
    sync_start(server, alice)
    assert status(server, token, alice)["presence"] == "online"
    assert status(server, token, alice)["currently_active"] is True


def test_idle_user_becomes_unavailable_then_offline(
    server: TestServer, users: Users
) -> None:
    alice, token = users["alice"]
    sync_start(server, alice)
    server.advance(60)
    body = status(server, token, alice)
    assert body["presence"] == "online" and body["currently_active"] is False
    server.advance(4 * 60 - 10)  # 4m50s since the sync began: not idle yet
    assert status(server, token, alice)["presence"] == "online"
    server.advance(20)  # past 5 minutes (plus a timer tick)
    body = status(server, token, alice)
    assert body["presence"] == "unavailable"
    assert body["last_active_ago"] >= 300_000
    # Still syncing: never offline, however long.
    server.advance(3600)
    assert status(server, token, alice)["presence"] == "unavailable"
    sync_end(server, alice)
    server.advance(25)
    assert status(server, token, alice)["presence"] == "unavailable"
    server.advance(10)  # > 30 s after the sync ended, within a timer tick
    assert status(server, token, alice) == {
        "presence": "offline",
        "last_active_ago": (60 + 230 + 20 + 3600 + 25 + 10) * 1000,
    }


def test_user_goes_offline_30s_after_the_last_sync(
    server: TestServer, users: Users
) -> None:
    alice, token = users["alice"]
    sync_start(server, alice)
    sync_end(server, alice)
    server.advance(20)
    sync_start(server, alice)  # a long poll that lasts 30 s
    server.advance(30)
    sync_end(server, alice)
    server.advance(25)
    assert status(server, token, alice)["presence"] == "online"
    server.advance(10)
    assert status(server, token, alice)["presence"] == "offline"


def test_overlapping_syncs_are_counted(server: TestServer, users: Users) -> None:
    alice, token = users["alice"]
    sync_start(server, alice)
    sync_start(server, alice)
    sync_end(server, alice)
    server.advance(60)
    assert status(server, token, alice)["presence"] == "online"
    sync_end(server, alice)
    server.advance(36)
    assert status(server, token, alice)["presence"] == "offline"


def test_set_presence_offline_neither_marks_online_nor_counts(
    server: TestServer, users: Users
) -> None:
    alice, token = users["alice"]
    sync_start(server, alice, "offline")
    assert status(server, token, alice)["presence"] == "offline"
    # Online via the API, syncing with set_presence=offline: that sync does not
    # keep them online.
    put_presence(server, token, alice, {"presence": "online"})
    server.advance(36)
    assert status(server, token, alice)["presence"] == "offline"
    sync_end(server, alice, "offline")


def test_set_presence_unavailable(server: TestServer, users: Users) -> None:
    alice, token = users["alice"]
    sync_start(server, alice)
    sync_end(server, alice)
    sync_start(server, alice, "unavailable")
    assert status(server, token, alice)["presence"] == "unavailable"
    sync_end(server, alice, "unavailable")


def test_syncing_does_not_end_idleness_but_activity_does(
    server: TestServer, users: Users
) -> None:
    alice, token = users["alice"]
    room_id = shared_room(server, users["alice"])
    sync_start(server, alice)
    server.advance(310)
    assert status(server, token, alice)["presence"] == "unavailable"
    sync_end(server, alice)
    sync_start(server, alice)
    assert status(server, token, alice)["presence"] == "unavailable"
    assert send(server, token, room_id, {"msgtype": "m.text", "body": "hi"}).code == 200
    body = status(server, token, alice)
    assert body["presence"] == "online" and body["currently_active"] is True
    assert body["last_active_ago"] == 0


def test_activity_does_not_bring_an_offline_user_online(
    server: TestServer, users: Users
) -> None:
    alice, token = users["alice"]
    room_id = shared_room(server, users["alice"])
    send(server, token, room_id, {"msgtype": "m.text", "body": "hi"})
    assert status(server, token, alice) == {"presence": "offline"}


def test_put_online_without_syncing_times_out(server: TestServer, users: Users) -> None:
    alice, token = users["alice"]
    room_id = shared_room(server, users["alice"])
    put_presence(server, token, alice, {"presence": "online"})
    server.advance(25)
    send(server, token, room_id, {"msgtype": "m.text", "body": "still here"})
    server.advance(25)  # 50 s after the PUT, 25 s after the send
    assert status(server, token, alice)["presence"] == "online"
    server.advance(11)
    assert status(server, token, alice)["presence"] == "offline"


def test_presence_survives_a_restart(server: TestServer, users: Users) -> None:
    alice, token = users["alice"]
    bob, b_token = users["bob"]
    sync_start(server, alice)
    put_presence(server, token, alice, {"presence": "online", "status_msg": "hi"})
    put_presence(server, b_token, bob, {"presence": "offline", "status_msg": "gone"})
    position = server.hs.core.notifier.current_token().get("presence")
    restart(server)
    assert server.hs.core.notifier.current_token().get("presence") == position
    alice_now = status(server, token, alice)
    assert alice_now["presence"] == "online" and alice_now["status_msg"] == "hi"
    assert status(server, b_token, bob) == {"presence": "offline", "status_msg": "gone"}
    # Nobody syncs after a restart: alice times out.
    server.advance(36)
    assert status(server, token, alice)["presence"] == "offline"
