"""Helpers for the account data, receipts, typing and to-device tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from twisted.internet import defer

from homeserver.streams.tokens import StreamToken
from tests.harness import FakeResponse, TestServer

CLIENT = "/_matrix/client/v3"


def q(value: str) -> str:
    """Quote a path segment (IDs hold ``!``, ``$``, ``@`` and ``:``)."""
    return quote(value, safe="")


def token(server: TestServer) -> StreamToken:
    """Every stream's current position."""
    return server.hs.core.notifier.current_token()


def wait(
    server: TestServer,
    user_id: str,
    rooms: Iterable[str] = (),
    timeout_ms: int = 30_000,
) -> defer.Deferred[None]:
    """Start a notifier wait, as a waiting /sync would."""
    d = defer.ensureDeferred(server.hs.core.notifier.wait(user_id, rooms, timeout_ms))
    server.advance(0)
    assert not d.called
    return d


def finish(server: TestServer, d: defer.Deferred[None]) -> None:
    """Let a wait that must not have fired time out, so nothing is left over."""
    assert not d.called
    server.advance(31)
    assert d.called


def assert_error(resp: FakeResponse, code: int, errcode: str) -> None:
    assert resp.code == code, (resp.code, resp.json)
    assert resp.json["errcode"] == errcode, resp.json


def event_ids(server: TestServer, token_: str, room_id: str, n: int) -> list[str]:
    """Send ``n`` messages; their event IDs in order."""
    ids = []
    for i in range(n):
        resp = server.request(
            "PUT",
            f"{CLIENT}/rooms/{q(room_id)}/send/m.room.message/h{next(_txn_ids)}",
            {"msgtype": "m.text", "body": f"msg {i}"},
            token=token_,
        )
        assert resp.code == 200, resp.json
        ids.append(resp.json["event_id"])
    return ids


_txn_ids = itertools.count()


def get(server: TestServer, path: str, tok: str) -> FakeResponse:
    return server.request("GET", f"{CLIENT}{path}", token=tok)


def put(server: TestServer, path: str, body: Any, tok: str) -> FakeResponse:
    return server.request("PUT", f"{CLIENT}{path}", body, token=tok)


def post(server: TestServer, path: str, body: Any, tok: str) -> FakeResponse:
    return server.request("POST", f"{CLIENT}{path}", body, token=tok)


def delete(server: TestServer, path: str, tok: str) -> FakeResponse:
    return server.request("DELETE", f"{CLIENT}{path}", token=tok)
