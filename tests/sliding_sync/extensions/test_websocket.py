"""Extensions over the WebSocket sliding-sync stream: the stream acknowledges
to-device messages as a client would, and sends no quiet responses."""

from __future__ import annotations

from tests.sliding_sync.core.test_sliding_sync import ALL
from tests.sliding_sync.extensions.kit import ON
from tests.sliding_sync.extensions.test_to_device import numbers, send_to
from tests.support.server import TestServer
from tests.websocket.test_session import _say, _session

EVERY = {k: ON for k in ("to_device", "e2ee", "account_data", "receipts", "typing")}


def test_to_device_over_the_socket_is_sent_once(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    alice.create_room()
    send_to(bob, alice)
    session, conn = _session(server, alice.token)
    body = {"lists": {"all": ALL}, "extensions": EVERY}
    _say(server, session, {"type": "sliding_sync", "body": body})
    [first] = conn.of_type("sliding_sync")
    assert numbers(first["body"]["extensions"]["to_device"]) == [0]
    conn.barriers.pop().callback(None)  # delivered
    server.advance(0)
    # quiet: key counts and an empty to_device are no reason to send
    server.advance(31)
    server.advance(31)
    assert len(conn.of_type("sliding_sync")) == 1
    # two messages: the first wakes the stream at once, the second waits for
    # that response's delivery
    send_to(bob, alice, 2)
    server.advance(0)
    second = conn.of_type("sliding_sync")[1]["body"]
    assert numbers(second["extensions"]["to_device"]) == [0]
    assert len(conn.of_type("sliding_sync")) == 2
    conn.barriers.pop().callback(None)
    server.advance(0)
    # only the message not yet delivered: the stream acknowledged the others
    third = conn.of_type("sliding_sync")[2]["body"]
    assert numbers(third["extensions"]["to_device"]) == [1]
    conn.barriers.pop().callback(None)
    server.advance(0)
    server.advance(31)
    assert len(conn.of_type("sliding_sync")) == 3
    session.closed()
    # the stream's next request acknowledged them all: a new connection from
    # the start (no since, which deletes nothing) finds none left
    again = alice.post(
        "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync",
        {"extensions": {"to_device": ON}, "conn_id": "http"},
        expect=200,
    ).json
    assert again["extensions"]["to_device"]["events"] == []
