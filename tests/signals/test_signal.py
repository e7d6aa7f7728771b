"""Signal[P]: order, sync and async receivers, failures kept from the emitter."""

from __future__ import annotations

import logging

import attrs
import pytest
from twisted.internet import defer

from homeserver.signals import Signal, Signals


@attrs.frozen
class Ping:
    n: int


def test_receivers_run_in_connection_order() -> None:
    signal: Signal[Ping] = Signal("ping")
    calls: list[tuple[str, int]] = []
    signal.connect(lambda p: calls.append(("first", p.n)))
    signal.connect(lambda p: calls.append(("second", p.n)))
    signal.emit(Ping(1))
    signal.emit(Ping(2))
    assert calls == [("first", 1), ("second", 1), ("first", 2), ("second", 2)]


def test_a_failing_receiver_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    signal: Signal[Ping] = Signal("ping")
    seen: list[int] = []

    def boom(p: Ping) -> None:
        raise RuntimeError("receiver bug")

    signal.connect(boom, name="boom")
    signal.connect(lambda p: seen.append(p.n))
    with caplog.at_level(logging.ERROR):
        signal.emit(Ping(7))  # does not raise
    assert seen == [7]
    assert "receiver boom of signal ping failed" in caplog.text


def test_async_receivers_start_at_once_and_finish_in_the_background() -> None:
    signal: Signal[Ping] = Signal("ping")
    gate: defer.Deferred[None] = defer.Deferred()
    steps: list[str] = []

    async def slow(p: Ping) -> None:
        steps.append(f"start {p.n}")
        await gate
        steps.append(f"end {p.n}")

    signal.connect(slow)
    signal.connect(lambda p: steps.append(f"sync {p.n}"))
    signal.emit(Ping(1))
    # Started during the emit, up to its first wait; the emitter did not wait.
    assert steps == ["start 1", "sync 1"]
    gate.callback(None)
    assert steps == ["start 1", "sync 1", "end 1"]


def test_an_async_receivers_failure_never_reaches_the_emitter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    signal: Signal[Ping] = Signal("ping")

    async def boom(p: Ping) -> None:
        raise RuntimeError("async receiver bug")

    signal.connect(boom)
    with caplog.at_level(logging.ERROR):
        signal.emit(Ping(1))
    assert "async receiver bug" in caplog.text


def test_sync_only_signals_refuse_async_receivers() -> None:
    signal: Signal[Ping] = Signal("ping", sync_only=True)

    async def receiver(p: Ping) -> None:
        return None

    with pytest.raises(TypeError):
        signal.connect(receiver)


def test_disconnect() -> None:
    signal: Signal[Ping] = Signal("ping")
    seen: list[int] = []
    signal.connect(seen.append)  # type: ignore[arg-type]
    signal.disconnect(seen.append)  # type: ignore[arg-type]
    signal.emit(Ping(1))
    assert seen == []


def test_every_server_has_its_own_signals() -> None:
    a, b = Signals(), Signals()
    assert a.new_event is not b.new_event
    assert a.event_persisted.sync_only
    assert a.new_event.receivers == []
