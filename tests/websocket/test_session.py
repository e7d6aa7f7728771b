"""The WebSocket session on the fake reactor: protocol logic without sockets.

A fake connection records what the session sends and lets the test decide when
the client has "received" a sync response, so the flow control is checked
deterministically (and on PostgreSQL too, through the ``server`` fixture).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from twisted.internet import defer

from homeserver.api.websocket.resource import UpgradeRoutingResource
from homeserver.api.websocket.session import ClientSession, SessionDeps
from homeserver.types import JsonDict
from tests.support.server import TestServer

V3 = "/_matrix/client/v3"


class FakeConnection:
    """Records messages; delivery barriers fire when the test says so, and
    the send buffer is over its mark while ``full`` is set."""

    def __init__(self) -> None:
        self.sent: list[JsonDict] = []
        self.closed_with: tuple[int, str] | None = None
        self.barriers: list[defer.Deferred[None]] = []
        self.slow: list[str] = []
        self.full = False
        self.sizes: list[int] = []

    def send(self, message: JsonDict) -> int:
        if self.closed_with is not None:
            return 0
        text = json.dumps(message)
        self.sent.append(json.loads(text))
        self.sizes.append(len(text))
        return len(text)

    def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)

    def delivered(self) -> defer.Deferred[None]:
        barrier: defer.Deferred[None] = defer.Deferred()
        self.barriers.append(barrier)
        return barrier

    def backed_up(self) -> bool:
        return self.full

    def slow_reader(self, why: str) -> None:
        self.slow.append(why)

    def of_type(self, kind: str) -> list[JsonDict]:
        return [m for m in self.sent if m["type"] == kind]


def _session(
    server: TestServer, token: str | None = None
) -> tuple[Any, FakeConnection]:
    root = server.hs.build_resource(["client"])
    assert isinstance(root, UpgradeRoutingResource)
    deps = SessionDeps(
        auth=server.hs.accounts.auth,
        sync=server.hs.sync.service,
        router=root.http.router,
        clock=server.hs.core.clock,
        config=server.config.websocket,
        max_body_size=int(server.config.http.max_request_body_size),
        sliding=server.hs.sync.sliding,
    )
    conn = FakeConnection()
    session = ClientSession(conn, deps, "127.0.0.1", "test-agent")
    session.start(token)
    server.advance(0)
    return session, conn


def _say(server: TestServer, session: ClientSession, message: Any) -> None:
    session.on_message(json.dumps(message).encode())
    server.advance(0)


def _send_text(
    server: TestServer, token: str, room_id: str, text: str, txn: str = ""
) -> None:
    resp = server.request(
        "PUT",
        f"{V3}/rooms/{room_id}/send/m.room.message/{txn or text}",
        {"msgtype": "m.text", "body": text},
        token=token,
    )
    assert resp.code == 200, resp.json


def _texts(sync: JsonDict, room_id: str) -> list[str]:
    room = sync["body"]["rooms"]["join"].get(room_id, {})
    return [
        e["content"]["body"]
        for e in room.get("timeline", {}).get("events", [])
        if e["type"] == "m.room.message"
    ]


def _room(server: TestServer, token: str) -> str:
    resp = server.request("POST", f"{V3}/createRoom", {}, token=token)
    assert resp.code == 200, resp.json
    return str(resp.json["room_id"])


def test_plain_get_at_the_websocket_path(server: TestServer) -> None:
    resp = server.request("GET", "/_chatly/client/v1/ws")
    assert resp.code == 426
    assert resp.json["errcode"] == "M_UNRECOGNIZED"
    assert resp.headers["upgrade"] == "websocket"


def test_disabled_transport_is_not_routed(make_server: Any) -> None:
    server = make_server({"websocket": {"enabled": False}})
    assert server.request("GET", "/_chatly/client/v1/ws").code == 404


def test_auth_by_header_token_and_by_message(server: TestServer) -> None:
    user_id, token = server.register("alice")
    _, conn = _session(server, token)
    assert conn.sent == [
        {
            "type": "authenticated",
            "user_id": user_id,
            "device_id": conn.sent[0]["device_id"],
        }
    ]
    session, conn = _session(server)
    _say(server, session, {"type": "auth", "access_token": token})
    assert conn.of_type("authenticated")[0]["user_id"] == user_id


def test_bad_token_closes_with_4001(server: TestServer) -> None:
    session, conn = _session(server)
    _say(server, session, {"type": "auth", "access_token": "cht_bad"})
    [error] = conn.sent
    assert error["about"] == "auth" and error["body"]["errcode"] == "M_UNKNOWN_TOKEN"
    assert conn.closed_with == (4001, "M_UNKNOWN_TOKEN")


def test_unauthenticated_socket_times_out(server: TestServer) -> None:
    _, conn = _session(server)
    server.advance(29)
    assert conn.closed_with is None
    server.advance(2)
    assert conn.closed_with == (4001, "M_MISSING_TOKEN")


def _send_to_device(server: TestServer, token: str, user_id: str, n: int) -> None:
    resp = server.request(
        "PUT",
        f"{V3}/sendToDevice/org.example.n/n{n}",
        {"messages": {user_id: {"*": {"n": n}}}},
        token=token,
    )
    assert resp.code == 200, resp.json


def test_answers_follow_each_other_without_a_round_trip(server: TestServer) -> None:
    """An answer with nothing to confirm (no to-device message) does not
    wait for the client to receive it: the next follows as soon as there is
    news, and no delivery barrier is asked for."""
    _, token = server.register("alice")
    room_id = _room(server, token)
    session, conn = _session(server, token)
    _say(server, session, {"type": "sync"})
    for text in ("one", "two"):
        _send_text(server, token, room_id, text)
        server.advance(0)
    syncs = conn.of_type("sync")
    assert [_texts(s, room_id) for s in syncs[1:]] == [["one"], ["two"]]
    assert conn.barriers == []


def test_an_answer_with_to_device_messages_waits_for_delivery(
    server: TestServer,
) -> None:
    """To-device messages are deleted once the stream moves past the answer
    that carried them, so nothing more is computed until it is received."""
    user_id, token = server.register("alice")
    room_id = _room(server, token)
    session, conn = _session(server, token)
    _say(server, session, {"type": "sync"})
    _send_to_device(server, token, user_id, 1)
    server.advance(0)
    carried = conn.of_type("sync")[-1]["body"]["to_device"]["events"]
    assert [e["content"]["n"] for e in carried] == [1]
    assert len(conn.barriers) == 1
    _send_text(server, token, room_id, "one")
    _send_text(server, token, room_id, "two")
    server.advance(30)
    assert len(conn.of_type("sync")) == 2, "nothing is computed before delivery"
    conn.barriers[0].callback(None)
    server.advance(0)
    syncs = conn.of_type("sync")
    assert len(syncs) == 3
    assert _texts(syncs[2], room_id) == ["one", "two"]
    assert syncs[2]["body"]["to_device"]["events"] == []


def test_the_stream_waits_once_64_kib_are_unconfirmed(server: TestServer) -> None:
    """Answers go out without a round trip until 64 KiB of them are
    unconfirmed; then the stream waits for the client to receive them."""
    _, token = server.register("alice")
    room_id = _room(server, token)
    session, conn = _session(server, token)
    _say(server, session, {"type": "sync"})
    padding = "x" * 20_000
    sizes = [conn.sizes[-1]]
    while sum(sizes) < 64 * 1024:
        assert conn.barriers == [], f"waited at {sum(sizes)} bytes"
        _send_text(
            server, token, room_id, f"big{len(sizes)} {padding}", f"b{len(sizes)}"
        )
        server.advance(0)
        sizes.append(conn.sizes[-1])
    assert len(conn.barriers) == 1
    _send_text(server, token, room_id, "small")
    server.advance(30)
    assert len(conn.of_type("sync")) == len(sizes), "nothing more before delivery"
    conn.barriers[0].callback(None)
    server.advance(0)
    assert _texts(conn.of_type("sync")[-1], room_id) == ["small"]
    _send_text(server, token, room_id, "more")
    server.advance(0)
    assert _texts(conn.of_type("sync")[-1], room_id) == ["more"]
    assert len(conn.barriers) == 1, "the count starts again once confirmed"


def test_a_full_send_buffer_holds_the_stream(server: TestServer) -> None:
    """While the socket's send buffer is over its mark, the next answer
    waits for the client to receive what was sent."""
    _, token = server.register("alice")
    room_id = _room(server, token)
    session, conn = _session(server, token)
    conn.full = True
    _say(server, session, {"type": "sync"})
    assert len(conn.barriers) == 1
    _send_text(server, token, room_id, "one")
    server.advance(30)
    assert len(conn.of_type("sync")) == 1
    conn.full = False
    conn.barriers[0].callback(None)
    server.advance(0)
    assert _texts(conn.of_type("sync")[1], room_id) == ["one"]
    _send_text(server, token, room_id, "two")
    server.advance(0)
    assert _texts(conn.of_type("sync")[2], room_id) == ["two"]
    assert len(conn.barriers) == 1


def test_the_stream_is_one_long_sync_for_presence(server: TestServer) -> None:
    """Presence counts the user as syncing from the stream's start to its
    end, between rounds too (waiting for the client to receive an answer),
    and no round announces a sync of its own; the close ends it."""
    user_id, token = server.register("alice")
    room_id = _room(server, token)
    presence = server.hs.presence.service
    session, conn = _session(server, token)
    _say(server, session, {"type": "sync", "set_presence": "online"})
    assert presence._syncing.get(user_id) == 1
    for round_ in range(3):
        _send_text(server, token, room_id, f"m{round_}")
        server.advance(0)
        assert presence._syncing.get(user_id) == 1
    assert len(conn.of_type("sync")) == 4
    state = server.request("GET", f"{V3}/presence/{user_id}/status", token=token)
    assert state.json["presence"] == "online"
    session.closed()
    server.advance(0)
    assert user_id not in presence._syncing


def test_empty_long_polls_are_not_sent(make_server: Any) -> None:
    server = make_server({"presence": {"enabled": False}})  # no idle transitions
    _, token = server.register("alice")
    session, conn = _session(server, token)
    _say(server, session, {"type": "sync"})
    server.advance(31)
    server.advance(31)
    assert len(conn.of_type("sync")) == 1


def test_ack_mode(server: TestServer) -> None:
    _, token = server.register("alice")
    room_id = _room(server, token)
    session, conn = _session(server, token)
    _say(server, session, {"type": "sync", "ack": True})
    first = conn.of_type("sync")[0]["body"]["next_batch"]
    _send_text(server, token, room_id, "one")
    _say(server, session, {"type": "ack", "next_batch": "s0_0_0_0_0_0_0"})
    assert len(conn.of_type("sync")) == 1, "an ack of another response is ignored"
    _say(server, session, {"type": "ack", "next_batch": first})
    assert len(conn.of_type("sync")) == 2
    server.advance(59)
    assert conn.slow == []
    server.advance(2)
    assert conn.slow == ["no ack within 60s"]


def test_sync_errors_end_the_stream_only(server: TestServer) -> None:
    _, token = server.register("alice")
    session, conn = _session(server, token)
    _say(server, session, {"type": "sync", "since": "garbage"})
    [error] = conn.of_type("error")
    assert (error["about"], error["status"]) == ("sync", 400)
    assert error["body"]["errcode"] == "M_INVALID_PARAM"
    assert conn.closed_with is None
    _say(server, session, {"type": "sync", "filter": "12345"})
    assert conn.of_type("error")[1]["status"] == 404


def test_logged_out_token_ends_the_socket(server: TestServer) -> None:
    _, token = server.register("alice")
    session, conn = _session(server, token)
    _say(server, session, {"type": "sync"})
    assert server.request("POST", f"{V3}/logout", {}, token=token).code == 200
    server.advance(31)
    assert conn.of_type("error")[-1]["about"] == "auth"
    assert conn.closed_with == (4001, "M_UNKNOWN_TOKEN")


def test_requests_match_http(server: TestServer) -> None:
    _, token = server.register("alice")
    room_id = _room(server, token)
    session, conn = _session(server, token)
    path = f"{V3}/rooms/{room_id}/state/m.room.name"
    _say(server, session, {"type": "request", "id": "a", "method": "GET", "path": path})
    [response] = conn.of_type("response")
    http = server.request("GET", path, token=token)
    assert (response["id"], response["status"], response["body"]) == (
        "a",
        http.code,
        http.json,
    )
    assert http.code == 404


def test_too_many_requests_in_flight(server: TestServer, monkeypatch: Any) -> None:
    _, token = server.register("alice")
    session, conn = _session(server, token)
    stalled: defer.Deferred[None] = defer.Deferred()

    async def stall(*args: Any, **kwargs: Any) -> Any:
        await stalled
        return {}

    monkeypatch.setattr("homeserver.api.websocket.session.run_request", stall)
    for i in range(17):
        _say(
            server,
            session,
            {"type": "request", "id": str(i), "method": "GET", "path": "/x"},
        )
    [limited] = conn.of_type("response")
    assert (limited["id"], limited["status"]) == ("16", 429)
    assert limited["body"]["errcode"] == "M_LIMIT_EXCEEDED"


@pytest.mark.parametrize(
    "payload,errcode",
    [
        (b"nope", "M_NOT_JSON"),
        (b"[1]", "M_BAD_JSON"),
        (b'{"type": "what"}', "M_UNRECOGNIZED"),
        (b'{"type": "auth"}', "M_BAD_JSON"),
        (b'{"type": "sync", "full_state": "yes"}', "M_BAD_JSON"),
        (b'{"type": "sync", "filter": 5}', "M_BAD_JSON"),
    ],
)
def test_bad_messages(server: TestServer, payload: bytes, errcode: str) -> None:
    session, conn = _session(server)
    session.on_message(payload)
    [error] = conn.sent
    assert (error["type"], error["about"], error["body"]["errcode"]) == (
        "error",
        "message",
        errcode,
    )
    assert conn.closed_with is None
