"""TurnBatcher (homeserver/util/turn_batch.py): the look-ups of one reactor
turn answered by one call; each caller its own answer, a failure to all, a
caller that goes away does not stop the batch for the others."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock as FakeReactor
from twisted.python.failure import Failure

from homeserver.util.clock import Clock
from homeserver.util.turn_batch import ANSWER_CHUNK, TurnBatcher
from tests.util.test_after_io import one_pass


def _batcher(
    reactor: FakeReactor, calls: list[list[str]], fail: bool = False
) -> TurnBatcher[str, str]:
    async def fetch(keys: Sequence[str]) -> Mapping[str, str]:
        calls.append(sorted(keys))
        if fail:
            raise RuntimeError("database gone")
        return {k: k.upper() for k in keys}

    return TurnBatcher("test_batch", Clock(reactor), fetch)


def test_one_turn_one_call_each_its_own_answer() -> None:
    reactor, calls = FakeReactor(), list[list[str]]()
    batcher = _batcher(reactor, calls)
    asked = [defer.ensureDeferred(batcher.get(k)) for k in ("a", "b", "a", "c")]
    gone = defer.ensureDeferred(batcher.get("d"))
    gone.cancel()  # that caller went away; the others still get answers
    gone.addErrback(lambda f: f.trap(defer.CancelledError))
    assert calls == [] and not any(d.called for d in asked)
    reactor.advance(0)
    assert calls == [["a", "b", "c", "d"]]
    assert [d.result for d in asked] == ["A", "B", "A", "C"]
    # The next turn is a batch of its own.
    later = defer.ensureDeferred(batcher.get("e"))
    reactor.advance(0)
    assert later.result == "E" and calls[-1] == ["e"]


def test_a_failed_batch_fails_every_caller() -> None:
    reactor, calls = FakeReactor(), list[list[str]]()
    batcher = _batcher(reactor, calls, fail=True)
    asked = [defer.ensureDeferred(batcher.get(k)) for k in ("a", "b")]
    reactor.advance(0)
    assert calls == [["a", "b"]]
    for d in asked:
        failures: list[Failure] = []
        d.addErrback(failures.append)
        with pytest.raises(RuntimeError, match="database gone"):
            failures[0].raiseException()


def test_callers_are_resumed_a_chunk_per_pass() -> None:
    """A thousand woken syncs resumed in one pass would send nothing until
    the last had built its answer: each chunk's get to the sockets first."""
    reactor, calls = FakeReactor(), list[list[str]]()
    batcher = _batcher(reactor, calls)
    keys = [f"k{i:04d}" for i in range(ANSWER_CHUNK * 2 + 1)]
    asked = [defer.ensureDeferred(batcher.get(k)) for k in keys]
    one_pass(reactor)
    assert len(calls) == 1
    assert sum(d.called for d in asked) == ANSWER_CHUNK
    one_pass(reactor)
    assert sum(d.called for d in asked) == ANSWER_CHUNK
    one_pass(reactor)
    assert sum(d.called for d in asked) == 2 * ANSWER_CHUNK
    reactor.advance(0)
    assert [d.result for d in asked] == [k.upper() for k in keys]
