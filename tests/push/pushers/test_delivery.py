"""HTTP pushers end to end: a pusher registered through the client API,
another user sends, and a real push gateway on loopback receives the
notification (push gateway API v1.19) with the right counts, priority and
devices; a gateway that is down gets it once, after a retry, also across a
restart of our server; retries back off exponentially up to the maximum; a
rejected pushkey is removed and not used again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.push.pushers.kit import PushHarness
from tests.support.client import User
from tests.support.server import TestServer


@pytest.fixture
def harness(make_server: Callable[..., TestServer]) -> Iterator[PushHarness]:
    h = PushHarness(make_server)
    yield h
    h.close()


def _dm(harness: PushHarness) -> tuple[User, User, str]:
    """Alice (with a pusher) and Bob in a room of two."""
    alice = harness.server.user("alice")
    bob = harness.server.user("bob")
    room = bob.create_room(name="Lunch")
    bob.invite(room, alice.user_id)
    alice.join(room)
    harness.set_pusher(alice, extra="kept")
    return alice, bob, room


def test_a_message_reaches_the_gateway(harness: PushHarness) -> None:
    alice, bob, room = _dm(harness)
    event_id = bob.send(room, "hello there")
    harness.pump(lambda: len(harness.gateway.delivered()) == 1)
    [pushed] = harness.gateway.received
    assert pushed.path == "/_matrix/push/v1/notify"
    notification = pushed.notification
    [device] = notification.pop("devices")
    assert device["app_id"] == "com.example.app"
    assert device["pushkey"] == "key-1"
    # data without the url (which is the homeserver's).
    assert device["data"] == {"extra": "kept"}
    assert isinstance(device["pushkey_ts"], int)  # seconds (the fake clock: 0)
    # A message in a room of two: .m.rule.room_one_to_one (sound).
    assert device["tweaks"] == {"sound": "default"}
    assert notification == {
        "event_id": event_id,
        "room_id": room,
        "type": "m.room.message",
        "sender": bob.user_id,
        "sender_display_name": "bob",
        "room_name": "Lunch",
        "prio": "high",
        "counts": {"unread": 1},
        "content": {"msgtype": "m.text", "body": "hello there"},
    }
    # A second unread message: the badge counts rooms (one).
    bob.send(room, "are you there?")
    harness.pump(lambda: len(harness.gateway.delivered()) == 2)
    assert harness.gateway.delivered()[1]["counts"] == {"unread": 1}
    # Bob's own messages are not pushed to him (he has no pusher anyway)
    # and Alice's are not pushed to her.
    alice.send(room, "yes")
    harness.settle()
    assert len(harness.gateway.received) == 2


def test_a_group_message_is_low_priority_and_event_id_only_is_short(
    harness: PushHarness,
) -> None:
    alice = harness.server.user("alice")
    bob = harness.server.user("bob")
    carol = harness.server.user("carol")
    room = bob.create_room()
    for user in (alice, carol):
        bob.invite(room, user.user_id)
        user.join(room)
    harness.set_pusher(alice, format="event_id_only")
    event_id = bob.send(room, "hello all")
    harness.pump(lambda: len(harness.gateway.delivered()) == 1)
    notification = harness.gateway.delivered()[0]
    [device] = notification.pop("devices")
    # The pusher's data without the url (push gateway API v1.19).
    assert device["data"] == {"format": "event_id_only"}
    assert device["tweaks"] == {}
    assert notification == {
        "event_id": event_id,
        "room_id": room,
        "prio": "low",
        "counts": {"unread": 1},
    }
    # Mentioning Alice highlights: high priority, the highlight tweak.
    bob.send(room, "over to you, alice")
    harness.pump(lambda: len(harness.gateway.delivered()) == 2)
    mention = harness.gateway.delivered()[1]
    assert mention["prio"] == "high"
    assert mention["devices"][0]["tweaks"].get("highlight") is True


def test_sending_never_waits_for_the_gateway(harness: PushHarness) -> None:
    alice, bob, room = _dm(harness)
    harness.listener.stop()
    # The send answers at once although the gateway cannot be reached (the
    # test server's requests complete without the real reactor running).
    event_id = bob.send(room, "while the gateway is down")
    assert event_id.startswith("$")


def test_a_gateway_that_fails_gets_the_notification_once_after_a_retry(
    harness: PushHarness,
) -> None:
    alice, bob, room = _dm(harness)
    harness.gateway.status = 500
    event_id = bob.send(room, "first")
    harness.pump(lambda: len(harness.gateway.received) >= 1)
    harness.pump(lambda: harness.stored(alice)[0].failing_since is not None)
    harness.gateway.status = 200
    # The backoff timer (fake time) brings it back.
    harness.pump(lambda: len(harness.gateway.delivered()) == 1, advance=1)
    bob.send(room, "second")
    harness.pump(lambda: len(harness.gateway.delivered()) == 2)
    harness.settle()
    tries = harness.gateway.for_event(event_id)
    assert [t.status for t in tries][0] == 500
    assert [t.status for t in tries].count(200) == 1
    bodies = [n["content"]["body"] for n in harness.gateway.delivered()]
    assert bodies == ["first", "second"]
    assert harness.stored(alice)[0].failing_since is None


def test_retries_back_off_exponentially_up_to_the_maximum(
    make_server: Callable[..., TestServer],
) -> None:
    push = {"retry_initial": "1s", "retry_max": "4s"}
    harness = PushHarness(make_server, {"push": push})
    try:
        _alice, bob, room = _dm(harness)
        harness.gateway.status = 503
        event_id = bob.send(room, "knock knock")
        harness.pump(lambda: len(harness.gateway.for_event(event_id)) == 1)
        waits = []
        for tries in range(2, 7):
            # Each try ends (no fake time passes while it is out); then time
            # moves in steps of 100 ms until the next one is sent.
            harness.settle()
            ended = harness.server.reactor.seconds()
            while len(harness.gateway.for_event(event_id)) < tries:
                harness.server.reactor.advance(0.1)
                harness.settle()
            waits.append(harness.server.reactor.seconds() - ended)
        # 1, 2, 4, 4, 4 s (the maximum), each with up to 20 % of jitter.
        for wait, nominal in zip(waits, [1, 2, 4, 4, 4], strict=True):
            assert nominal * 0.8 - 0.01 <= wait <= nominal * 1.2 + 0.11, waits
        # Once it gets through, the next failure starts again at 1 s.
        harness.gateway.status = 200
        harness.pump(lambda: len(harness.gateway.delivered()) == 1, advance=0.05)
        harness.gateway.status = 503
        again = bob.send(room, "again")
        harness.pump(lambda: len(harness.gateway.for_event(again)) == 1)
        harness.settle()
        ended = harness.server.reactor.seconds()
        while len(harness.gateway.for_event(again)) < 2:
            harness.server.reactor.advance(0.1)
            harness.settle()
        assert harness.server.reactor.seconds() - ended <= 1.31
    finally:
        harness.close()


def test_a_gateway_down_across_a_restart_gets_it_once(
    harness: PushHarness, tmp_path: Path
) -> None:
    alice, bob, room = _dm(harness)
    harness.listener.stop()
    event_id = bob.send(room, "before the restart")
    harness.pump(lambda: harness.stored(alice)[0].failing_since is not None)
    engine = harness.server.db.engine

    def restarted(overrides: dict[str, Any], **kwargs: Any) -> TestServer:
        return TestServer(engine, overrides, tmp_path, **kwargs)

    harness.server = harness.new_server(restarted)
    harness.listener.start()
    harness.pump(lambda: len(harness.gateway.delivered()) == 1, advance=1)
    bob = bob.on(harness.server)
    bob.send(room, "after the restart")
    harness.pump(lambda: len(harness.gateway.delivered()) == 2, advance=1)
    harness.settle()
    assert [p.status for p in harness.gateway.for_event(event_id)] == [200]
    bodies = [n["content"]["body"] for n in harness.gateway.delivered()]
    assert bodies == ["before the restart", "after the restart"]
    # Another restart: what was delivered is not delivered again.
    harness.server = harness.new_server(restarted)
    harness.settle()
    harness.server.reactor.advance(3600)
    harness.settle()
    assert len(harness.gateway.received) == 2


def test_a_rejected_pushkey_is_removed_and_not_used_again(
    harness: PushHarness,
) -> None:
    alice, bob, room = _dm(harness)
    harness.set_pusher(alice, pushkey="key-2")
    harness.gateway.rejected = {"key-1"}
    bob.send(room, "one")
    harness.pump(lambda: len(harness.gateway.received) == 2)
    harness.settle()
    assert [p["pushkey"] for p in alice.get("/pushers").json["pushers"]] == ["key-2"]
    harness.gateway.rejected = set()
    bob.send(room, "two")
    harness.pump(lambda: len(harness.gateway.received) == 3)
    harness.settle()
    keys = [
        n["devices"][0]["pushkey"]
        for n in (p.notification for p in harness.gateway.received)
    ]
    assert sorted(keys[:2]) == ["key-1", "key-2"]
    assert keys[2:] == ["key-2"]


def test_reading_sends_the_new_badge(harness: PushHarness) -> None:
    alice, bob, room = _dm(harness)
    event_id = bob.send(room, "read me")
    harness.pump(lambda: len(harness.gateway.delivered()) == 1)
    alice.post(f"/rooms/{room}/receipt/m.read/{event_id}", {}, expect=200)
    harness.pump(lambda: len(harness.gateway.delivered()) == 2)
    badge = harness.gateway.delivered()[1]
    assert "event_id" not in badge
    assert badge["counts"] == {"unread": 0}
    assert badge["devices"][0]["pushkey"] == "key-1"


def test_a_notification_failing_too_long_is_skipped(
    make_server: Callable[..., TestServer],
) -> None:
    harness = PushHarness(make_server, {"push": {"give_up_after": "30s"}})
    try:
        alice, bob, room = _dm(harness)
        harness.gateway.status = 503
        lost = bob.send(room, "lost")
        harness.pump(lambda: harness.stored(alice)[0].failing_since is not None)
        # Retries until 30 s of failing have passed, then the next one.
        harness.pump(lambda: harness.stored(alice)[0].failing_since is None, advance=1)
        harness.settle()
        tries = len(harness.gateway.for_event(lost))
        assert tries >= 2
        harness.gateway.status = 200
        bob.send(room, "kept")
        harness.pump(lambda: len(harness.gateway.delivered()) == 1)
        harness.settle()
        assert [n["content"]["body"] for n in harness.gateway.delivered()] == ["kept"]
        assert len(harness.gateway.for_event(lost)) == tries
    finally:
        harness.close()
