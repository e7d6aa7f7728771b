"""Idempotent sends (services/rooms/sent_txns.py): a transaction ID is read
before the room's lock, and two identical sends in flight at once still make
one event."""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import defer

from tests.support.server import TestServer


def _messages(server: TestServer, room_id: str, body: str) -> list[str]:
    rows = server.get_success(
        server.db.run_read(
            "messages",
            lambda txn: txn.query(
                "SELECT event_id, json FROM events WHERE room_id = ? AND type = ?",
                (room_id, "m.room.message"),
            ),
        )
    )
    return [r.event_id for r in rows if body in r.json]


def test_identical_sends_in_flight_together_make_one_event(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    creator = server.hs.rooms.event_creation
    content = {"msgtype": "m.text", "body": "only once"}

    def send() -> defer.Deferred[Any]:
        return defer.ensureDeferred(
            creator.send(
                room_id,
                alice.user_id,
                "m.room.message",
                content,
                device_id=alice.device_id,
                txn_id="twice",
            )
        )

    # Hold the room's lock: both requests read "not sent yet", then queue.
    lock = creator.linearizer.queue(room_id)
    server.get_success(lock.__aenter__())
    first, second = send(), send()
    server.reactor.advance(0)
    assert not first.called and not second.called
    server.get_success(lock.__aexit__(None, None, None))
    one, two = server.get_success(first), server.get_success(second)
    assert one.event_id == two.event_id
    assert _messages(server, room_id, "only once") == [one.event_id]
    # A later retry is answered from the database.
    again = alice.send_event(room_id, content, txn_id="twice")
    assert json.loads(again.body)["event_id"] == one.event_id
