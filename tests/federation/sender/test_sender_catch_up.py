"""Catch-up: a destination that was down, or this server restarting, loses
nothing and receives everything in order, exactly once."""

from __future__ import annotations

from pathlib import Path

import attrs

from tests.federation.sending_helpers import (
    delivered_bodies,
    install_transport,
    public_room,
    remote_join,
    restart,
    say,
)
from tests.support.server import TestServer


def test_destination_down_then_back_gets_everything_in_order(
    server: TestServer,
) -> None:
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    say(server, token, room_id, "before")
    server.advance(0)
    transport.behaviour["remote.one"] = "down"
    for i in range(7):
        say(server, token, room_id, f"missed{i}")
        server.advance(1)
    transport.behaviour["remote.one"] = "ok"
    server.advance(60)
    say(server, token, room_id, "after")
    server.advance(0)
    expected = ["before", *(f"missed{i}" for i in range(7)), "after"]
    assert delivered_bodies(transport, "remote.one") == expected
    last = server.get_success(
        server.hs.federation.outbox.get_last_successful("remote.one")
    )
    assert last == server.hs.core.persister.stream_ids.current_position()


def test_queue_survives_our_restart(server: TestServer, tmp_path: Path) -> None:
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    say(server, token, room_id, "delivered")
    server.advance(0)
    transport.behaviour["remote.one"] = "down"
    say(server, token, room_id, "queued1")
    say(server, token, room_id, "queued2")
    server.advance(0)

    restarted, new_transport = restart(server, tmp_path)
    restarted.advance(10)
    assert delivered_bodies(new_transport, "remote.one") == ["queued1", "queued2"]
    restarted.advance(3600)
    assert delivered_bodies(new_transport, "remote.one") == ["queued1", "queued2"]


def test_events_not_yet_queued_when_we_stopped_are_sent_after_restart(
    server: TestServer, tmp_path: Path
) -> None:
    transport = install_transport(server)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    say(server, token, room_id, "one")
    server.advance(0)
    # The process dies after persisting events but before the sender read them.
    server.hs.federation.sender.enabled = False
    say(server, token, room_id, "two")
    say(server, token, room_id, "three")
    assert delivered_bodies(transport, "remote.one") == ["one"]

    restarted, new_transport = restart(server, tmp_path)
    restarted.advance(10)
    assert delivered_bodies(new_transport, "remote.one") == ["two", "three"]


def test_fresh_server_does_not_send_history(server: TestServer, tmp_path: Path) -> None:
    """The stored position starts at the stream's position on first start."""
    position = server.get_success(server.hs.federation.outbox.get_position())
    assert position == server.hs.core.persister.stream_ids.current_position()


def test_backlog_of_a_long_dead_destination_keeps_the_newest(
    server: TestServer,
) -> None:
    transport = install_transport(server)
    sender = server.hs.federation.sender
    sender.queue_config = attrs.evolve(sender.queue_config, max_backlog=5)
    _, token = server.register("alice")
    room_id = public_room(server, token)
    remote_join(server, room_id, "@bob:remote.one")
    transport.behaviour["remote.one"] = "down"
    for i in range(8):
        say(server, token, room_id, f"m{i}")
    server.advance(5)  # the retry fails too: the backlog is cut to 5
    transport.behaviour["remote.one"] = "ok"
    server.advance(10)
    assert delivered_bodies(transport, "remote.one") == [f"m{i}" for i in range(3, 8)]
