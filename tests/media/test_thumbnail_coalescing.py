"""Concurrent requests for one missing thumbnail make it once; the coalescer
shares results and failures with every waiter."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet import defer

from homeserver.util.coalesce import Coalescer
from tests.media.helpers import CLIENT_MEDIA, media_id, upload
from tests.media.images import gif_animation, opened
from tests.support.reactors import HeldRunner
from tests.support.server import TestServer


def test_concurrent_requests_make_one_thumbnail(server: TestServer) -> None:
    alice = server.user("alice")
    mid = media_id(upload(alice, gif_animation(3), "image/gif")["content_uri"])
    runner = HeldRunner()
    server.hs.media.thumbnails.thumbnailer.runner = runner
    path = (
        f"{CLIENT_MEDIA}/thumbnail/test/{mid}?width=96&height=96&method=crop"
        "&animated=true"
    )
    first = server.start_request("GET", path, token=alice.token)
    second = server.start_request("GET", path, token=alice.token)
    assert not first.done and not second.done
    assert len(runner.held) == 1  # one thumbnail being made, not two
    runner.release()
    server.advance(0)
    assert first.done and second.done
    a, b = first.response(), second.response()
    assert a.code == b.code == 200
    assert a.body == b.body
    assert getattr(opened(a.body), "n_frames", 1) == 3


def test_coalescer_shares_a_result() -> None:
    coalescer: Coalescer[str, int] = Coalescer()
    gate: defer.Deferred[int] = defer.Deferred()
    calls: list[str] = []

    async def work() -> int:
        calls.append("x")
        return await gate

    first = defer.ensureDeferred(coalescer.run("k", work))
    second = defer.ensureDeferred(coalescer.run("k", work))
    assert coalescer.in_flight("k")
    gate.callback(7)
    assert first.result == 7 and second.result == 7
    assert calls == ["x"]
    assert not coalescer.in_flight("k")

    # Finished work is not cached: the next call runs again.
    async def fresh() -> int:
        calls.append("y")
        return 8

    again = defer.ensureDeferred(coalescer.run("k", fresh))
    assert calls == ["x", "y"] and again.result == 8


def test_coalescer_shares_a_failure_with_every_waiter() -> None:
    coalescer: Coalescer[str, int] = Coalescer()
    gate: defer.Deferred[int] = defer.Deferred()

    async def work() -> int:
        return await gate

    first = defer.ensureDeferred(coalescer.run("k", work))
    second = defer.ensureDeferred(coalescer.run("k", work))
    gate.errback(ValueError("broken"))
    for d in (first, second):
        failures: list[Any] = []
        d.addErrback(failures.append)
        assert failures and failures[0].check(ValueError)
    assert not coalescer.in_flight("k")


@pytest.mark.parametrize("key", ["a", "b"])
def test_coalescer_keys_are_separate(key: str) -> None:
    coalescer: Coalescer[str, str] = Coalescer()
    gate: defer.Deferred[str] = defer.Deferred()

    async def held() -> str:
        return await gate

    async def now() -> str:
        return "now"

    pending = defer.ensureDeferred(coalescer.run("other", held))
    assert defer.ensureDeferred(coalescer.run(key, now)).result == "now"
    gate.callback("later")
    assert pending.result == "later"
