"""SendFlow (slow-reader detection) and the shared error mapping, as units."""

from __future__ import annotations

import logging

import pytest
from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock

from homeserver.api.http.outcome import error_response, redact_access_token
from homeserver.api.websocket.flow import SendFlow
from homeserver.errors import InteractiveAuthIncomplete, MatrixError, NotFound
from homeserver.util.clock import Clock


def _flow() -> tuple[SendFlow, MemoryReactorClock, list[bytes], list[str]]:
    reactor = MemoryReactorClock()
    pings: list[bytes] = []
    slow: list[str] = []
    flow = SendFlow(
        clock=Clock(reactor),
        max_pending_bytes=1000,
        max_pending_seconds=5.0,
        send_ping=pings.append,
        on_slow=slow.append,
    )
    return flow, reactor, pings, slow


def test_bytes_queued_while_paused_are_bounded() -> None:
    flow, _, _, slow = _flow()
    flow.wrote(10_000)  # the buffer is not full: anything goes
    flow.pauseProducing()
    flow.wrote(600)
    flow.resumeProducing()  # drained: the count starts again
    flow.pauseProducing()
    flow.wrote(600)
    assert slow == []
    flow.wrote(600)
    flow.wrote(600)
    assert slow == ["over 1000 bytes queued"], "reported once"


def test_barrier_fires_on_its_pong_or_a_later_one() -> None:
    flow, _, pings, _ = _flow()
    first, second = flow.barrier(), flow.barrier()
    assert len(pings) == 2 and pings[0] != pings[1]
    flow.pong(b"someone else's ping")
    assert not first.called
    flow.pong(pings[1])
    assert first.called and second.called


def test_barrier_timeout_reports_a_slow_reader() -> None:
    flow, reactor, pings, slow = _flow()
    flow.barrier()
    reactor.advance(4.9)
    assert slow == []
    reactor.advance(0.2)
    assert slow == ["no pong within 5s"]


def test_stop_cancels_barriers_and_timers() -> None:
    flow, reactor, _, slow = _flow()
    barrier = flow.barrier()
    failures: list[object] = []
    barrier.addErrback(failures.append)
    flow.stop()
    assert len(failures) == 1
    assert reactor.getDelayedCalls() == []
    reactor.advance(10)
    assert slow == []


def test_cancelled_barrier_drops_its_timer() -> None:
    flow, reactor, _, _ = _flow()
    barrier = flow.barrier()
    barrier.addErrback(lambda f: f.trap(defer.CancelledError))
    barrier.cancel()
    assert reactor.getDelayedCalls() == []


def test_error_response_mapping(caplog: pytest.LogCaptureFixture) -> None:
    limited = MatrixError(
        429, "slow down", "M_LIMIT_EXCEEDED", headers={"Retry-After": "1"}
    )
    assert error_response(limited, "x") == (
        429,
        {"errcode": "M_LIMIT_EXCEEDED", "error": "slow down"},
        {"Retry-After": "1"},
    )
    assert error_response(NotFound(), "x")[0] == 404
    uia = InteractiveAuthIncomplete({"session": "s", "flows": []})
    assert error_response(uia, "x") == (401, {"session": "s", "flows": []}, {})
    with caplog.at_level(logging.ERROR):
        code, body, _ = error_response(RuntimeError("kaboom"), "GET /x")
    assert (code, body) == (
        500,
        {"errcode": "M_UNKNOWN", "error": "Internal server error"},
    )
    assert "GET /x" in caplog.text and "kaboom" in caplog.text


def test_redact_access_token() -> None:
    assert (
        redact_access_token("/a?access_token=abc&b=1")
        == "/a?access_token=<redacted>&b=1"
    )
    assert redact_access_token("/a?b=1") == "/a?b=1"
