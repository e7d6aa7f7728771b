"""The read API /sync uses, and who the notifier wakes."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from tests.presence.conftest import Users
from tests.presence.helpers import position, put_presence, read_changes, shared_room
from tests.support.server import TestServer


def _setup(server: TestServer, users: Users) -> Users:
    shared_room(users["alice"], users["bob"])
    shared_room(users["eve"])  # eve shares nothing with alice or bob
    return users


def test_changes_in_a_position_range(server: TestServer, users: Users) -> None:
    alice, bob, eve = _setup(server, users).values()
    p0 = position(server)
    put_presence(alice, alice.user_id, {"presence": "online"})
    p1 = position(server)
    put_presence(eve, eve.user_id, {"presence": "online"})
    p2 = position(server)
    put_presence(bob, bob.user_id, {"presence": "unavailable", "status_msg": "zz"})
    p3 = position(server)
    assert p0 < p1 < p2 < p3

    assert set(read_changes(server, alice.user_id, p0, p3)) == {
        alice.user_id,
        bob.user_id,
    }
    assert set(read_changes(server, alice.user_id, p0, p1)) == {alice.user_id}
    assert read_changes(server, alice.user_id, p1, p2) == {}
    assert read_changes(server, alice.user_id, p2, p3) == {
        bob.user_id: {"presence": "unavailable", "status_msg": "zz"}
    }
    assert read_changes(server, alice.user_id, p3, p3) == {}
    assert set(read_changes(server, bob.user_id, p0, p3)) == {
        alice.user_id,
        bob.user_id,
    }
    assert set(read_changes(server, eve.user_id, p0, p3)) == {eve.user_id}


def test_initial_read_has_everyone_not_offline(
    server: TestServer, users: Users
) -> None:
    alice, bob, eve = _setup(server, users).values()
    put_presence(alice, alice.user_id, {"presence": "online", "status_msg": "hi"})
    put_presence(eve, eve.user_id, {"presence": "online"})
    p1 = position(server)
    put_presence(bob, bob.user_id, {"presence": "offline", "status_msg": "bye"})
    assert read_changes(server, alice.user_id, None) == {
        alice.user_id: {
            "presence": "online",
            "last_active_ago": 0,
            "status_msg": "hi",
            "currently_active": True,
        }
    }
    # An incremental read does report going offline.
    assert read_changes(server, alice.user_id, p1) == {
        bob.user_id: {"presence": "offline", "status_msg": "bye"}
    }


def test_a_superseded_change_is_reported_once_in_its_latest_form(
    server: TestServer, users: Users
) -> None:
    alice, _, _ = _setup(server, users).values()
    p0 = position(server)
    put_presence(alice, alice.user_id, {"presence": "online", "status_msg": "1"})
    p1 = position(server)
    put_presence(alice, alice.user_id, {"presence": "online", "status_msg": "2"})
    p2 = position(server)
    assert read_changes(server, alice.user_id, p0, p1) == {}
    assert (
        read_changes(server, alice.user_id, p1, p2)[alice.user_id]["status_msg"] == "2"
    )
    assert (
        read_changes(server, alice.user_id, p0, p2)[alice.user_id]["status_msg"] == "2"
    )


def test_last_active_is_current_when_read(server: TestServer, users: Users) -> None:
    alice, bob, _ = _setup(server, users).values()
    room_id = server.get_success(
        server.hs.core.room_state.get_rooms_for_user(alice.user_id)
    )[0]
    p0 = position(server)
    server.get_success(server.hs.presence.service.user_syncing(alice.user_id, None))
    p1 = position(server)
    server.advance(30)
    alice.send_event(room_id, {"msgtype": "m.text", "body": "hi"})
    # Still currently active: the send is not a new change to tell anyone...
    assert position(server) == p1
    # ...but whoever reads the earlier change gets the fresh last-active time.
    assert read_changes(server, bob.user_id, p0)[alice.user_id]["last_active_ago"] == 0
    server.advance(10)
    assert (
        read_changes(server, bob.user_id, p0)[alice.user_id]["last_active_ago"]
        == 10_000
    )
    server.hs.presence.service.user_stopped_syncing(alice.user_id)


def test_leaving_the_shared_room_hides_presence(
    server: TestServer, users: Users
) -> None:
    alice, bob, _ = users.values()
    room_id = shared_room(users["alice"], users["bob"])
    p0 = position(server)
    put_presence(alice, alice.user_id, {"presence": "online"})
    assert alice.user_id in read_changes(server, bob.user_id, p0)
    assert bob.membership(room_id, "leave").code == 200
    assert read_changes(server, bob.user_id, p0) == {}


def _wait(
    server: TestServer, user_id: str, timeout_ms: int = 60_000
) -> defer.Deferred[Any]:
    return defer.ensureDeferred(server.hs.core.notifier.wait(user_id, [], timeout_ms))


def test_a_change_wakes_co_members_not_strangers(
    server: TestServer, users: Users
) -> None:
    alice, bob, eve = _setup(server, users).values()
    waits = {
        user: _wait(server, user) for user in (alice.user_id, bob.user_id, eve.user_id)
    }
    put_presence(alice, alice.user_id, {"presence": "online"})
    assert waits[alice.user_id].called and waits[bob.user_id].called
    assert not waits[eve.user_id].called
    server.advance(61)  # let eve's wait time out
    assert waits[eve.user_id].called


def test_timeouts_wake_co_members_and_quiet_changes_wake_nobody(
    server: TestServer, users: Users
) -> None:
    alice, bob, eve = _setup(server, users).values()
    server.get_success(server.hs.presence.service.user_syncing(alice.user_id, None))
    bob_wait, eve_wait = _wait(server, bob.user_id), _wait(server, eve.user_id)
    server.hs.presence.service.user_stopped_syncing(
        alice.user_id
    )  # not worth telling anyone
    server.get_success(server.hs.presence.service.user_syncing(alice.user_id, None))
    assert not bob_wait.called
    server.advance(55)  # still currently active
    assert not bob_wait.called
    server.advance(10)  # currently_active goes false: that is news
    assert bob_wait.called and eve_wait.called  # eve's timed out
    bob_wait = _wait(server, bob.user_id, 600_000)
    eve_wait = _wait(server, eve.user_id, 600_000)
    server.advance(240)  # idle: unavailable
    assert bob_wait.called and not eve_wait.called
    content = read_changes(server, bob.user_id, position(server) - 1)[alice.user_id]
    assert content["presence"] == "unavailable"
    server.hs.presence.service.user_stopped_syncing(alice.user_id)
    server.advance(600)
    assert eve_wait.called
