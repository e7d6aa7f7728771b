"""Running a real reactor (outbound requests to a local server) and a test
server's fake one together; a runner that holds work until released."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from twisted.internet import defer

# A safety net for a broken test, never an assertion about timing.
SAFETY_NET_S = 60.0


def pump_both(
    real: Any, fake: Any, until: Callable[[], bool], advance: float = 0
) -> None:
    """Iterate the ``real`` reactor and advance the ``fake`` one until
    ``until()`` holds (``advance``: seconds of fake time to move on each
    turn, to let retry timers fire)."""
    deadline = time.monotonic() + SAFETY_NET_S
    while not until():
        assert time.monotonic() < deadline, "the condition never held"
        real.iterate(0.005)
        fake.advance(advance)


class HeldRunner:
    """A Runner (thread pool or database) whose work waits until the test
    releases it: work started at the same time overlaps."""

    def __init__(self) -> None:
        self.held: list[tuple[Callable[[], Any], defer.Deferred[Any]]] = []

    def __call__(self, fn: Callable[[], Any]) -> defer.Deferred[Any]:
        done: defer.Deferred[Any] = defer.Deferred()
        self.held.append((fn, done))
        return done

    def release(self) -> None:
        """Run the held work, in order, and fire each one's deferred."""
        held, self.held = self.held, []
        for fn, done in held:
            defer.maybeDeferred(fn).chainDeferred(done)
