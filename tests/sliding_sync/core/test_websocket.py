"""Sliding sync over the WebSocket transport (docs/websocket.md), driven on
the fake reactor through the session with a fake socket."""

from __future__ import annotations

from tests.sliding_sync.core.test_sliding_sync import ALL, SS
from tests.support.server import TestServer
from tests.websocket.test_session import _say, _session


def test_sliding_sync_stream_pushes_news_and_pos_stays_usable(
    server: TestServer,
) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(name="A")
    session, conn = _session(server, alice.token)
    _say(server, session, {"type": "sliding_sync", "body": {"lists": {"all": ALL}}})
    [first] = conn.of_type("sliding_sync")
    assert set(first["body"]["rooms"]) == {room_id}
    conn.barriers.pop().callback(None)
    server.advance(0)
    # a quiet long-poll is not sent
    server.advance(31)
    assert len(conn.of_type("sliding_sync")) == 1
    alice.send(room_id, "ping")
    server.advance(0)
    second = conn.of_type("sliding_sync")[1]["body"]
    timeline = second["rooms"][room_id]["timeline"]
    assert [e["content"]["body"] for e in timeline] == ["ping"]
    # the client can go on over HTTP from the last pos it got
    session.closed()
    again = alice.post(SS, {"lists": {"all": ALL}, "pos": second["pos"]}, expect=200)
    assert again.json["rooms"] == {}


def test_sliding_sync_stream_error(server: TestServer) -> None:
    alice = server.user("alice")
    session, conn = _session(server, alice.token)
    _say(server, session, {"type": "sliding_sync", "body": {"pos": "1/s1"}})
    [error] = conn.of_type("error")
    assert error["about"] == "sliding_sync"
    assert error["body"]["errcode"] == "M_UNKNOWN_POS"
