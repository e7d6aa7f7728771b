"""The injected clock: every time read and timer goes through here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import task
from twisted.internet.interfaces import IDelayedCall


class Clock:
    """Wraps a reactor's time source, so tests can drive time with a fake reactor."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    def time(self) -> float:
        """Seconds since the epoch."""
        return float(self.reactor.seconds())

    def time_msec(self) -> int:
        """Milliseconds since the epoch."""
        return int(self.reactor.seconds() * 1000)

    async def sleep(self, seconds: float) -> None:
        """Wait without blocking the reactor."""
        await task.deferLater(self.reactor, seconds, lambda: None)

    def call_later(
        self, seconds: float, fn: Callable[..., Any], *args: Any
    ) -> IDelayedCall:
        """Run ``fn`` after ``seconds``."""
        return self.reactor.callLater(seconds, fn, *args)

    def looping_call(self, seconds: float, fn: Callable[[], Any]) -> task.LoopingCall:
        """Run ``fn`` every ``seconds``, starting after the first interval."""
        call = task.LoopingCall(fn)
        call.clock = self.reactor
        call.start(seconds, now=False)
        return call
