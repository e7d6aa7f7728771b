"""The read API /sync uses, and who the notifier wakes."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from tests.harness import TestServer
from tests.presence.conftest import Users
from tests.presence.helpers import position, put_presence, read_changes, shared_room
from tests.rooms.helpers import membership, send


def _setup(server: TestServer, users: Users) -> dict[str, tuple[str, str]]:
    shared_room(server, users["alice"], users["bob"])
    shared_room(server, users["eve"])  # eve shares nothing with alice or bob
    return users


def test_changes_in_a_position_range(server: TestServer, users: Users) -> None:
    (alice, a_tok), (bob, b_tok), (eve, e_tok) = _setup(server, users).values()
    p0 = position(server)
    put_presence(server, a_tok, alice, {"presence": "online"})
    p1 = position(server)
    put_presence(server, e_tok, eve, {"presence": "online"})
    p2 = position(server)
    put_presence(server, b_tok, bob, {"presence": "unavailable", "status_msg": "zz"})
    p3 = position(server)
    assert p0 < p1 < p2 < p3

    assert set(read_changes(server, alice, p0, p3)) == {alice, bob}
    assert set(read_changes(server, alice, p0, p1)) == {alice}
    assert read_changes(server, alice, p1, p2) == {}
    assert read_changes(server, alice, p2, p3) == {
        bob: {"presence": "unavailable", "status_msg": "zz"}
    }
    assert read_changes(server, alice, p3, p3) == {}
    assert set(read_changes(server, bob, p0, p3)) == {alice, bob}
    assert set(read_changes(server, eve, p0, p3)) == {eve}


def test_initial_read_has_everyone_not_offline(
    server: TestServer, users: Users
) -> None:
    (alice, a_tok), (bob, b_tok), (eve, e_tok) = _setup(server, users).values()
    put_presence(server, a_tok, alice, {"presence": "online", "status_msg": "hi"})
    put_presence(server, e_tok, eve, {"presence": "online"})
    p1 = position(server)
    put_presence(server, b_tok, bob, {"presence": "offline", "status_msg": "bye"})
    assert read_changes(server, alice, None) == {
        alice: {
            "presence": "online",
            "last_active_ago": 0,
            "status_msg": "hi",
            "currently_active": True,
        }
    }
    # An incremental read does report going offline.
    assert read_changes(server, alice, p1) == {
        bob: {"presence": "offline", "status_msg": "bye"}
    }


def test_a_superseded_change_is_reported_once_in_its_latest_form(
    server: TestServer, users: Users
) -> None:
    (alice, a_tok), _, _ = _setup(server, users).values()
    p0 = position(server)
    put_presence(server, a_tok, alice, {"presence": "online", "status_msg": "1"})
    p1 = position(server)
    put_presence(server, a_tok, alice, {"presence": "online", "status_msg": "2"})
    p2 = position(server)
    assert read_changes(server, alice, p0, p1) == {}
    assert read_changes(server, alice, p1, p2)[alice]["status_msg"] == "2"
    assert read_changes(server, alice, p0, p2)[alice]["status_msg"] == "2"


def test_last_active_is_current_when_read(server: TestServer, users: Users) -> None:
    (alice, a_tok), (bob, _), _ = _setup(server, users).values()
    room_id = server.get_success(server.hs.core.room_state.get_rooms_for_user(alice))[0]
    p0 = position(server)
    server.get_success(server.hs.presence.service.user_syncing(alice, None))
    p1 = position(server)
    server.advance(30)
    send(server, a_tok, room_id, {"msgtype": "m.text", "body": "hi"})
    # Still currently active: the send is not a new change to tell anyone...
    assert position(server) == p1
    # ...but whoever reads the earlier change gets the fresh last-active time.
    assert read_changes(server, bob, p0)[alice]["last_active_ago"] == 0
    server.advance(10)
    assert read_changes(server, bob, p0)[alice]["last_active_ago"] == 10_000
    server.hs.presence.service.user_stopped_syncing(alice)


def test_leaving_the_shared_room_hides_presence(
    server: TestServer, users: Users
) -> None:
    (alice, a_tok), (bob, b_tok), _ = users.values()
    room_id = shared_room(server, users["alice"], users["bob"])
    p0 = position(server)
    put_presence(server, a_tok, alice, {"presence": "online"})
    assert alice in read_changes(server, bob, p0)
    assert membership(server, b_tok, room_id, "leave").code == 200
    assert read_changes(server, bob, p0) == {}


def _wait(
    server: TestServer, user_id: str, timeout_ms: int = 60_000
) -> defer.Deferred[Any]:
    return defer.ensureDeferred(server.hs.core.notifier.wait(user_id, [], timeout_ms))


def test_a_change_wakes_co_members_not_strangers(
    server: TestServer, users: Users
) -> None:
    (alice, a_tok), (bob, _), (eve, _) = _setup(server, users).values()
    waits = {user: _wait(server, user) for user in (alice, bob, eve)}
    put_presence(server, a_tok, alice, {"presence": "online"})
    assert waits[alice].called and waits[bob].called
    assert not waits[eve].called
    server.advance(61)  # let eve's wait time out
    assert waits[eve].called


def test_timeouts_wake_co_members_and_quiet_changes_wake_nobody(
    server: TestServer, users: Users
) -> None:
    (alice, _), (bob, _), (eve, _) = _setup(server, users).values()
    server.get_success(server.hs.presence.service.user_syncing(alice, None))
    bob_wait, eve_wait = _wait(server, bob), _wait(server, eve)
    server.hs.presence.service.user_stopped_syncing(alice)  # not worth telling anyone
    server.get_success(server.hs.presence.service.user_syncing(alice, None))
    assert not bob_wait.called
    server.advance(55)  # still currently active
    assert not bob_wait.called
    server.advance(10)  # currently_active goes false: that is news
    assert bob_wait.called and eve_wait.called  # eve's timed out
    bob_wait = _wait(server, bob, 600_000)
    eve_wait = _wait(server, eve, 600_000)
    server.advance(240)  # idle: unavailable
    assert bob_wait.called and not eve_wait.called
    content = read_changes(server, bob, position(server) - 1)[alice]
    assert content["presence"] == "unavailable"
    server.hs.presence.service.user_stopped_syncing(alice)
    server.advance(600)
    assert eve_wait.called
