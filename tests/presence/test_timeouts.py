"""Idle and offline timeouts, syncing, activity, and surviving a restart."""

from __future__ import annotations

from tests.presence.conftest import Users
from tests.presence.helpers import put_presence, restart, shared_room, status
from tests.support.server import TestServer


def sync_start(
    server: TestServer, user_id: str, set_presence: str | None = None
) -> None:
    server.get_success(server.hs.presence.service.user_syncing(user_id, set_presence))


def sync_end(server: TestServer, user_id: str, set_presence: str | None = None) -> None:
    server.hs.presence.service.user_stopped_syncing(user_id, set_presence)


def test_syncing_brings_a_user_online(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    sync_start(server, alice.user_id)
    assert status(alice, alice.user_id)["presence"] == "online"
    assert status(alice, alice.user_id)["currently_active"] is True


def test_idle_user_becomes_unavailable_then_offline(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    sync_start(server, alice.user_id)
    server.advance(60)
    body = status(alice, alice.user_id)
    assert body["presence"] == "online" and body["currently_active"] is False
    server.advance(4 * 60 - 10)  # 4m50s since the sync began: not idle yet
    assert status(alice, alice.user_id)["presence"] == "online"
    server.advance(20)  # past 5 minutes (plus a timer tick)
    body = status(alice, alice.user_id)
    assert body["presence"] == "unavailable"
    assert body["last_active_ago"] >= 300_000
    # Still syncing: never offline, however long.
    server.advance(3600)
    assert status(alice, alice.user_id)["presence"] == "unavailable"
    sync_end(server, alice.user_id)
    server.advance(25)
    assert status(alice, alice.user_id)["presence"] == "unavailable"
    server.advance(10)  # > 30 s after the sync ended, within a timer tick
    assert status(alice, alice.user_id) == {
        "presence": "offline",
        "last_active_ago": (60 + 230 + 20 + 3600 + 25 + 10) * 1000,
    }


def test_user_goes_offline_30s_after_the_last_sync(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    sync_start(server, alice.user_id)
    sync_end(server, alice.user_id)
    server.advance(20)
    sync_start(server, alice.user_id)  # a long poll that lasts 30 s
    server.advance(30)
    sync_end(server, alice.user_id)
    server.advance(25)
    assert status(alice, alice.user_id)["presence"] == "online"
    server.advance(10)
    assert status(alice, alice.user_id)["presence"] == "offline"


def test_overlapping_syncs_are_counted(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    sync_start(server, alice.user_id)
    sync_start(server, alice.user_id)
    sync_end(server, alice.user_id)
    server.advance(60)
    assert status(alice, alice.user_id)["presence"] == "online"
    sync_end(server, alice.user_id)
    server.advance(36)
    assert status(alice, alice.user_id)["presence"] == "offline"


def test_set_presence_offline_neither_marks_online_nor_counts(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    sync_start(server, alice.user_id, "offline")
    assert status(alice, alice.user_id)["presence"] == "offline"
    # Online via the API, syncing with set_presence=offline: that sync does not
    # keep them online.
    put_presence(alice, alice.user_id, {"presence": "online"})
    server.advance(36)
    assert status(alice, alice.user_id)["presence"] == "offline"
    sync_end(server, alice.user_id, "offline")


def test_set_presence_unavailable(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    sync_start(server, alice.user_id)
    sync_end(server, alice.user_id)
    sync_start(server, alice.user_id, "unavailable")
    assert status(alice, alice.user_id)["presence"] == "unavailable"
    sync_end(server, alice.user_id, "unavailable")


def test_syncing_does_not_end_idleness_but_activity_does(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    room_id = shared_room(users["alice"])
    sync_start(server, alice.user_id)
    server.advance(310)
    assert status(alice, alice.user_id)["presence"] == "unavailable"
    sync_end(server, alice.user_id)
    sync_start(server, alice.user_id)
    assert status(alice, alice.user_id)["presence"] == "unavailable"
    assert alice.send_event(room_id, {"msgtype": "m.text", "body": "hi"}).code == 200
    body = status(alice, alice.user_id)
    assert body["presence"] == "online" and body["currently_active"] is True
    assert body["last_active_ago"] == 0


def test_activity_does_not_bring_an_offline_user_online(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    room_id = shared_room(users["alice"])
    alice.send_event(room_id, {"msgtype": "m.text", "body": "hi"})
    assert status(alice, alice.user_id) == {"presence": "offline"}


def test_put_online_without_syncing_times_out(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = shared_room(users["alice"])
    put_presence(alice, alice.user_id, {"presence": "online"})
    server.advance(25)
    alice.send_event(room_id, {"msgtype": "m.text", "body": "still here"})
    server.advance(25)  # 50 s after the PUT, 25 s after the send
    assert status(alice, alice.user_id)["presence"] == "online"
    server.advance(11)
    assert status(alice, alice.user_id)["presence"] == "offline"


def test_presence_survives_a_restart(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    bob = users["bob"]
    sync_start(server, alice.user_id)
    put_presence(alice, alice.user_id, {"presence": "online", "status_msg": "hi"})
    put_presence(bob, bob.user_id, {"presence": "offline", "status_msg": "gone"})
    position = server.hs.core.notifier.current_token().get("presence")
    restart(server)
    assert server.hs.core.notifier.current_token().get("presence") == position
    alice_now = status(alice, alice.user_id)
    assert alice_now["presence"] == "online" and alice_now["status_msg"] == "hi"
    assert status(bob, bob.user_id) == {"presence": "offline", "status_msg": "gone"}
    # Nobody syncs after a restart: alice times out.
    server.advance(36)
    assert status(alice, alice.user_id)["presence"] == "offline"
