"""Helpers for the account data, receipts, typing and to-device tests."""

from __future__ import annotations

from collections.abc import Iterable

from twisted.internet import defer

from homeserver.streams.tokens import StreamToken
from tests.support import FakeResponse, TestServer, User


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


def event_ids(user: User, room_id: str, n: int) -> list[str]:
    """Send ``n`` messages; their event IDs in order."""
    return [user.send(room_id, f"msg {i}") for i in range(n)]
